import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore, type Store } from '../../src/store/database.js';

/**
 * The databases every store contract test runs on: SQLite (a temp file), PGlite (PostgreSQL
 * in-process), and the real PostgreSQL server when TEST_POSTGRES_URL is set (CI sets it; see
 * test/setup/require-postgres.ts, which fails the run in CI without it).
 */
export interface TestDatabase {
  readonly kind: 'sqlite' | 'pglite' | 'postgres';
  /** A DATABASE_URL that other processes can open too (not for pglite). */
  readonly url: string;
  /** Opens a new connection (pool) to the same database; migrated. */
  open(): Promise<Store>;
  /** Drops the database / removes the files. */
  destroy(): Promise<void>;
}

export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? null;

export async function createSqliteDatabase(): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-sqlite-'));
  const url = `sqlite:${join(dir, 'test.db')}`;
  return {
    kind: 'sqlite',
    url,
    open: () => openStore(url),
    destroy: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

export async function createPgliteDatabase(): Promise<TestDatabase> {
  let store: Store | null = null;
  return {
    kind: 'pglite',
    url: 'pglite:',
    // PGlite is one in-process connection: every open() shares it.
    open: async () => (store ??= await openStore('pglite:')),
    destroy: async () => {
      await store?.close();
    },
  };
}

/** A fresh database on the real server, dropped on destroy. */
export async function createPostgresDatabase(adminUrl: string = TEST_POSTGRES_URL!): Promise<TestDatabase> {
  const name = `sb_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  return {
    kind: 'postgres',
    url,
    open: () => openStore(url),
    destroy: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export type DatabaseFactory = { kind: TestDatabase['kind']; create(): Promise<TestDatabase> };

/** SQLite and PGlite always; the real PostgreSQL when configured. */
export function contractDatabases(): DatabaseFactory[] {
  const list: DatabaseFactory[] = [
    { kind: 'sqlite', create: createSqliteDatabase },
    { kind: 'pglite', create: createPgliteDatabase },
  ];
  if (TEST_POSTGRES_URL) list.push({ kind: 'postgres', create: () => createPostgresDatabase() });
  return list;
}

/** Databases that several connections or processes can share (everything but PGlite). */
export function sharedDatabases(): DatabaseFactory[] {
  return contractDatabases().filter((d) => d.kind !== 'pglite');
}
