import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import pg from 'pg';
import type { DialectName } from './database.js';
import type { DB } from './schema.js';

type Db = Kysely<DB> | Transaction<DB>;

/**
 * A statement of the webhook path, written once as SQL text with `?` placeholders and run without
 * the query builder: building and compiling a Kysely query costs more CPU than SQLite needs to run
 * it, and the webhook path runs the same handful of statements for every message. The text is
 * compiled once per dialect (`$1`, `$2`… on PostgreSQL) and goes through the same driver,
 * transaction and statement cache as every other query.
 *
 * Only for statements whose SQL is the same on both databases, apart from what `postgres` replaces.
 */
export class PreparedSql<R> {
  private readonly texts: Record<DialectName, string | null>;

  /** `sqlite: null`: a PostgreSQL-only statement (see postgresOnly). */
  constructor(sqlite: string | null, postgres: string = sqlite ?? '') {
    const pgText = numberPlaceholders(postgres);
    this.texts = { sqlite, postgres: pgText };
    // PostgreSQL keeps it parsed and planned per connection (NamedStatementClient below).
    if (!statementNames.has(pgText)) statementNames.set(pgText, `sb_${statementNames.size + 1}`);
  }

  /** A statement only PostgreSQL runs (SQLite lacks the syntax); running it on SQLite is a bug. */
  static postgresOnly<R>(text: string): PreparedSql<R> {
    return new PreparedSql<R>(null, text);
  }

  async all(db: Db, dialect: DialectName, parameters: readonly unknown[]): Promise<R[]> {
    const result = await db.executeQuery<R>(CompiledQuery.raw(this.text(dialect), [...parameters]));
    return result.rows;
  }

  async first(db: Db, dialect: DialectName, parameters: readonly unknown[]): Promise<R | undefined> {
    return (await this.all(db, dialect, parameters))[0];
  }

  /** Runs a statement without RETURNING; resolves with the number of rows it changed. */
  async run(db: Db, dialect: DialectName, parameters: readonly unknown[]): Promise<number> {
    const result = await db.executeQuery(CompiledQuery.raw(this.text(dialect), [...parameters]));
    return Number(result.numAffectedRows ?? 0n);
  }

  /** The text run on `dialect` (placeholders `?` on SQLite, `$1`… on PostgreSQL), e.g. for EXPLAIN. */
  text(dialect: DialectName): string {
    const text = this.texts[dialect];
    if (text === null) throw new Error(`a PostgreSQL-only statement was run on ${dialect}`);
    return text;
  }
}

/**
 * The PostgreSQL text of every PreparedSql → its statement name. PreparedSql objects are made once,
 * at module level, so this holds a fixed handful of texts.
 */
const statementNames = new Map<string, string>();

/**
 * The pool's client class on PostgreSQL. A query whose text is a PreparedSql's runs as a named
 * prepared statement: the server parses it once per connection and reuses its plan, instead of
 * parsing and planning it on every execution; every other query runs as before. A server on the
 * same machine shares the cores with us, so its planning time is ours too.
 *
 * After a migration made by another process (a rolling deploy), a prepared statement reading `*`
 * of a changed table fails once with "cached plan must not change result type" (0A000). That
 * attempt fails like any failed write (the provider retries a 503), and the client prepares its
 * statements afresh under new names from then on.
 */
export class NamedStatementClient extends pg.Client {
  private generation = 0;

  override query(config: unknown, values?: unknown, callback?: unknown): any {
    const base = typeof config === 'string' && Array.isArray(values) && callback === undefined ? statementNames.get(config) : undefined;
    if (base === undefined) return (super.query as (...args: unknown[]) => unknown)(config, values, callback);
    const generation = this.generation;
    const named = { name: `${base}_${generation}`, text: config as string, values: values as unknown[] };
    return (super.query(named) as Promise<pg.QueryResult>).catch((err: { code?: string }) => {
      if (err?.code === STALE_PLAN && this.generation === generation) this.generation++;
      throw err;
    });
  }
}

/** feature_not_supported: "cached plan must not change result type". */
const STALE_PLAN = '0A000';

/** `?` → `$1`, `$2`…; the texts given here hold no `?` inside string literals. */
function numberPlaceholders(text: string): string {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
}
