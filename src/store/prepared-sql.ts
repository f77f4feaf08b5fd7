import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
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
    this.texts = { sqlite, postgres: numberPlaceholders(postgres) };
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

  private text(dialect: DialectName): string {
    const text = this.texts[dialect];
    if (text === null) throw new Error(`a PostgreSQL-only statement was run on ${dialect}`);
    return text;
  }
}

/** `?` → `$1`, `$2`…; the texts given here hold no `?` inside string literals. */
function numberPlaceholders(text: string): string {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
}
