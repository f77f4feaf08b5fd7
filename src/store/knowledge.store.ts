import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB, KnowledgeRow } from './schema.js';

type Db = Kysely<DB> | Transaction<DB>;

export interface NewKnowledge {
  id: string;
  question: string;
  answer: string;
  language: string | null;
  alternates: string[];
  tags: string[];
  source: 'file' | 'dashboard' | 'api';
  seed_key: string | null;
  created_by: string | null;
  from_conversation_id: string | null;
  from_message_id: string | null;
}

function toRow(entry: NewKnowledge, now: string) {
  return {
    ...entry,
    alternates: JSON.stringify(entry.alternates),
    tags: JSON.stringify(entry.tags),
    created_at: now,
    updated_at: now,
    deleted_at: null,
  };
}

/**
 * The `updated_at` of a write: `now`, or 1 ms after the newest stamp in the table when that is not
 * earlier. Stamps only move forward, so two writes within one millisecond still change the table's
 * fingerprint (`knowledgeVersion`) for a reader that looked between them.
 */
async function nextStamp(db: Db, now: string): Promise<string> {
  const r = await db
    .selectFrom('knowledge')
    .select((eb) => eb.fn.max('updated_at').as('latest'))
    .executeTakeFirst();
  const latest = r?.latest ? Date.parse(r.latest) : Number.NEGATIVE_INFINITY;
  return Date.parse(now) > latest ? now : new Date(latest + 1).toISOString();
}

export async function insertKnowledge(db: Db, entry: NewKnowledge, now: string): Promise<KnowledgeRow> {
  const stamp = await nextStamp(db, now);
  return db
    .insertInto('knowledge')
    .values({ ...toRow(entry, stamp), created_at: now })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Inserts a seeded entry unless one with its `seed_key` exists (also a deleted or edited one, which
 * a re-seed must neither resurrect nor overwrite). Returns the new row, or undefined when it existed.
 */
export async function insertSeededKnowledge(db: Db, entry: NewKnowledge, now: string): Promise<KnowledgeRow | undefined> {
  return db
    .insertInto('knowledge')
    .values(toRow(entry, now))
    .onConflict((oc) => oc.column('seed_key').where('seed_key', 'is not', null).doNothing())
    .returningAll()
    .executeTakeFirst();
}

/** One entry by id, deleted or not. */
export async function findKnowledge(db: Db, id: string): Promise<KnowledgeRow | undefined> {
  return db.selectFrom('knowledge').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Every live (not deleted) entry, for building the search index. */
export async function listLiveKnowledge(db: Db): Promise<KnowledgeRow[]> {
  return db.selectFrom('knowledge').selectAll().where('deleted_at', 'is', null).orderBy('created_at').orderBy('id').execute();
}

export interface KnowledgePageQuery {
  /** Case-insensitive substring of the question, the answer or an alternate. */
  search?: string;
  /** Keyset position: entries after this (created_at, id). */
  after?: { createdAt: string; id: string };
  limit: number;
}

/** Live entries, oldest first, one page (limit + 1 read to know whether more follow). */
export async function listKnowledgePage(db: Db, query: KnowledgePageQuery): Promise<{ rows: KnowledgeRow[]; hasMore: boolean }> {
  let q = db.selectFrom('knowledge').selectAll().where('deleted_at', 'is', null);
  if (query.search) {
    const pattern = `%${query.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    q = q.where((eb) =>
      eb.or(['question', 'answer', 'alternates'].map((column) => eb(sql`lower(${sql.ref(column)})`, 'like', sql`${pattern} escape '\\'`))),
    );
  }
  if (query.after) {
    const { createdAt, id } = query.after;
    q = q.where((eb) => eb.or([eb('created_at', '>', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '>', id)])]));
  }
  const rows = await q
    .orderBy('created_at')
    .orderBy('id')
    .limit(query.limit + 1)
    .execute();
  return { rows: rows.slice(0, query.limit), hasMore: rows.length > query.limit };
}

export interface KnowledgePatch {
  question?: string;
  answer?: string;
  language?: string | null;
  alternates?: string[];
  tags?: string[];
}

/** Changes a live entry in place; undefined when there is none (unknown or deleted). */
export async function updateKnowledge(db: Db, id: string, patch: KnowledgePatch, now: string): Promise<KnowledgeRow | undefined> {
  const { alternates, tags, ...plain } = patch;
  const stamp = await nextStamp(db, now);
  return db
    .updateTable('knowledge')
    .set({
      ...plain,
      ...(alternates !== undefined ? { alternates: JSON.stringify(alternates) } : {}),
      ...(tags !== undefined ? { tags: JSON.stringify(tags) } : {}),
      updated_at: stamp,
    })
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/** Marks a live entry deleted (the row stays, so AI messages naming it still resolve); undefined when there is none. */
export async function softDeleteKnowledge(db: Db, id: string, now: string): Promise<KnowledgeRow | undefined> {
  const stamp = await nextStamp(db, now);
  return db
    .updateTable('knowledge')
    .set({ deleted_at: now, updated_at: stamp })
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/**
 * A cheap fingerprint of the table: every insert adds a row and every edit or delete moves the
 * newest `updated_at` forward (`nextStamp`), so a changed fingerprint means the index must be
 * rebuilt. Reads the updated_at index only.
 */
export async function knowledgeVersion(db: Db): Promise<string> {
  const r = await db
    .selectFrom('knowledge')
    .select((eb) => [eb.fn.countAll().as('n'), eb.fn.max('updated_at').as('latest')])
    .executeTakeFirstOrThrow();
  return `${Number(r.n)}|${r.latest ?? ''}`;
}

export async function findKnowledgeBySeedKey(db: Db, seedKey: string): Promise<KnowledgeRow | undefined> {
  return db.selectFrom('knowledge').selectAll().where('seed_key', '=', seedKey).executeTakeFirst();
}
