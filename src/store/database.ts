import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { ImmediateSqliteDialect } from './sqlite-driver.js';
import { migrateToLatest } from './migrations.js';
import type { DB } from './schema.js';

export type DialectName = 'sqlite' | 'postgres';

/**
 * An open database. `db` is the writer (and, on PostgreSQL, a pool for everything); `reader` is a
 * second SQLite connection so reads never queue behind an open write transaction (WAL lets them run
 * beside it). On PostgreSQL `reader === db`.
 */
export interface Store {
  readonly db: Kysely<DB>;
  readonly reader: Kysely<DB>;
  readonly dialect: DialectName;
  /** The URL with any password removed, for logs. */
  readonly label: string;
  /** PostgreSQL only: the pool, for LISTEN connections. */
  readonly pgPool: pg.Pool | null;
  close(): Promise<void>;
}

// int8 (bigserial ids, count(*)) as numbers: our ids stay far below 2^53.
pg.types.setTypeParser(20, (v: string) => Number.parseInt(v, 10));

export interface OpenOptions {
  /** Run migrations (default true). */
  migrate?: boolean;
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
}

/** Opens (and by default migrates) the database named by a URL: sqlite:<path>, sqlite::memory:, postgres://…, pglite: */
export async function openStore(url: string, options: OpenOptions = {}): Promise<Store> {
  const store = await connect(url, options);
  if (options.migrate !== false) {
    try {
      await migrateToLatest(store.db, store.dialect);
    } catch (err) {
      await store.close();
      throw err;
    }
  }
  return store;
}

async function connect(url: string, options: OpenOptions): Promise<Store> {
  if (url.startsWith('sqlite:')) return connectSqlite(url.slice('sqlite:'.length));
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return connectPostgres(url, options.poolSize ?? 10);
  if (url.startsWith('pglite:')) return connectPglite(url.slice('pglite:'.length));
  throw new Error(`unsupported DATABASE_URL ${redact(url)}`);
}

function openSqliteConnection(path: string, readonly: boolean): Database.Database {
  const conn = new Database(path, { readonly: readonly && path !== ':memory:' });
  // Writers wait for the lock in the driver (asynchronously); this only covers brief internal locks.
  conn.pragma(`busy_timeout = ${readonly ? 1000 : 0}`);
  if (!readonly) {
    conn.pragma('journal_mode = WAL');
    // Acknowledged means durable: every commit reaches the disk before the caller is answered.
    conn.pragma('synchronous = FULL');
    conn.pragma('foreign_keys = ON');
    // Savepoint journals (one per group-commit unit) in memory instead of temporary files.
    conn.pragma('temp_store = MEMORY');
  }
  return conn;
}

function connectSqlite(rawPath: string): Store {
  const memory = rawPath === ':memory:' || rawPath === '';
  const path = memory ? ':memory:' : resolve(rawPath);
  if (!memory) mkdirSync(dirname(path), { recursive: true });
  const writer = openSqliteConnection(path, false);
  const db = new Kysely<DB>({ dialect: new ImmediateSqliteDialect(writer) });
  // An in-memory database is private to its connection, so it reads through the writer.
  const readerConn = memory ? null : openSqliteConnection(path, true);
  const reader = readerConn ? new Kysely<DB>({ dialect: new ImmediateSqliteDialect(readerConn) }) : db;
  return {
    db,
    reader,
    dialect: 'sqlite',
    label: memory ? 'sqlite::memory:' : `sqlite:${path}`,
    pgPool: null,
    async close() {
      if (reader !== db) await reader.destroy();
      await db.destroy();
    },
  };
}

function connectPostgres(url: string, poolSize: number): Store {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 5000 });
  // A dropped connection must not crash the process; the next query reports the failure.
  pool.on('error', () => {});
  // The pool listens only on idle clients: a server shutdown reaching a checked-out client between
  // two statements would be an unhandled 'error' that kills the process. The pending or next query
  // fails instead (→ 503), and the pool discards the broken client when it is released.
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    reader: db,
    dialect: 'postgres',
    label: redact(url),
    pgPool: pool,
    close: () => db.destroy(),
  };
}

async function connectPglite(dir: string): Promise<Store> {
  // PGlite is a test-time dependency: PostgreSQL in-process, for the store contract suite.
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGliteDialect } = await import('kysely');
  const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm');
  const pglite = new PGlite(dir || undefined, { parsers: { 20: (v: string) => Number.parseInt(v, 10) }, extensions: { pg_trgm } });
  const db = new Kysely<DB>({ dialect: new PGliteDialect({ pglite }) });
  return { db, reader: db, dialect: 'postgres', label: 'pglite', pgPool: null, close: () => db.destroy() };
}

/** True when the database answers a trivial query. */
export async function isReachable(store: Store): Promise<boolean> {
  try {
    await sql`select 1`.execute(store.reader);
    return true;
  } catch {
    return false;
  }
}

export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
