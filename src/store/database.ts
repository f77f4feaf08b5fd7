import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { NamedStatementClient } from './prepared-sql.js';
import { ImmediateSqliteDialect } from './sqlite-driver.js';
import { migrateToLatest } from './migrations.js';
import { WalCheckpointer } from './wal-checkpointer.js';
import { WalSync } from './wal-sync.js';
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
  /**
   * Resolves when every transaction committed before the call is on disk. PostgreSQL's COMMIT is
   * durable when it returns; SQLite's is made durable by an fsync off the event loop (wal-sync.ts).
   * `lastEventId`: the newest event id the caller's commit wrote (0 for none).
   */
  syncCommitted(lastEventId: number): Promise<void>;
  /** Resolves when the events up to `eventId`, read from the log, are on disk: call before showing them. */
  eventsDurable(eventId: number): Promise<void>;
  /** SQLite file databases with `sqliteSync: 'offloaded'`: the WAL fsync behind the two above. */
  readonly wal: WalSync | null;
  /** SQLite file databases: the checkpoints, run on a worker thread. */
  readonly checkpointer: WalCheckpointer | null;
  close(): Promise<void>;
}

const alreadyDurable = (): Promise<void> => Promise.resolve();

// int8 (bigserial ids, count(*)) as numbers: our ids stay far below 2^53.
pg.types.setTypeParser(20, (v: string) => Number.parseInt(v, 10));

export interface OpenOptions {
  /** Run migrations (default true). */
  migrate?: boolean;
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
  /**
   * SQLite file databases: how a commit reaches the disk before anybody is told. `full` (default):
   * synchronous=FULL, the fsync inside COMMIT on the event loop. `offloaded`: synchronous=NORMAL
   * and an fsync of the WAL on the thread pool (wal-sync.ts), shared by every commit made before it.
   */
  sqliteSync?: 'full' | 'offloaded';
  /**
   * PostgreSQL: run the webhook path's statements as named prepared statements (default true).
   * Off for a pooler in transaction mode that does not track prepared statements (PgBouncer
   * before 1.21): there a statement prepared on one server connection is missing on the next.
   */
  pgPreparedStatements?: boolean;
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
  if (url.startsWith('sqlite:')) return connectSqlite(url.slice('sqlite:'.length), options.sqliteSync ?? 'full');
  if (url.startsWith('postgres://') || url.startsWith('postgresql://'))
    return connectPostgres(url, options.poolSize ?? 10, options.pgPreparedStatements ?? true);
  if (url.startsWith('pglite:')) return connectPglite(url.slice('pglite:'.length));
  throw new Error(`unsupported DATABASE_URL ${redact(url)}`);
}

function openSqliteConnection(path: string, readonly: boolean, sync: 'full' | 'offloaded' = 'full'): Database.Database {
  const conn = new Database(path, { readonly: readonly && path !== ':memory:' });
  // Writers wait for the lock in the driver (asynchronously); this only covers brief internal locks.
  conn.pragma(`busy_timeout = ${readonly ? 1000 : 0}`);
  if (!readonly) {
    conn.pragma('journal_mode = WAL');
    // Acknowledged means durable: every commit reaches the disk before the caller is answered —
    // by the fsync inside COMMIT (FULL), or by one of the WAL on the thread pool (wal-sync.ts).
    conn.pragma(`synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}`);
    conn.pragma('foreign_keys = ON');
    // Savepoint journals (one per group-commit unit) in memory instead of temporary files.
    conn.pragma('temp_store = MEMORY');
  }
  return conn;
}

function connectSqlite(rawPath: string, sync: 'full' | 'offloaded'): Store {
  const memory = rawPath === ':memory:' || rawPath === '';
  const path = memory ? ':memory:' : resolve(rawPath);
  if (!memory) mkdirSync(dirname(path), { recursive: true });
  const writer = openSqliteConnection(path, false, sync);
  const db = new Kysely<DB>({ dialect: new ImmediateSqliteDialect(writer) });
  // An in-memory database is private to its connection, so it reads through the writer.
  const readerConn = memory ? null : openSqliteConnection(path, true);
  const reader = readerConn ? new Kysely<DB>({ dialect: new ImmediateSqliteDialect(readerConn) }) : db;
  // An in-memory database has nothing to sync or checkpoint; with FULL, COMMIT has synced already.
  const wal = memory || sync === 'full' ? null : new WalSync(`${path}-wal`);
  let checkpointer: WalCheckpointer | null = null;
  if (!memory) {
    writer.pragma('wal_autocheckpoint = 0');
    checkpointer = new WalCheckpointer(path, {
      onFailure: () => {
        // Back to checkpoints inside COMMIT: slower, but the WAL must not grow without bound.
        if (writer.open) writer.pragma('wal_autocheckpoint = 1000');
      },
    });
  }
  return {
    db,
    reader,
    dialect: 'sqlite',
    label: memory ? 'sqlite::memory:' : `sqlite:${path}`,
    pgPool: null,
    syncCommitted: wal ? (lastEventId) => wal.afterCommit(lastEventId) : alreadyDurable,
    eventsDurable: wal ? (eventId) => wal.covering(eventId) : alreadyDurable,
    wal,
    checkpointer,
    async close() {
      await checkpointer?.stop();
      if (reader !== db) await reader.destroy();
      await db.destroy();
      await wal?.close();
    },
  };
}

function connectPostgres(url: string, poolSize: number, prepared: boolean): Store {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: 5000,
    Client: prepared ? NamedStatementClient : pg.Client,
  });
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
    syncCommitted: alreadyDurable,
    eventsDurable: alreadyDurable,
    wal: null,
    checkpointer: null,
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
  return {
    db,
    reader: db,
    dialect: 'postgres',
    label: 'pglite',
    pgPool: null,
    syncCommitted: alreadyDurable,
    eventsDurable: alreadyDurable,
    wal: null,
    checkpointer: null,
    close: () => db.destroy(),
  };
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
