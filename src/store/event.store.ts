import type { Kysely, Transaction } from 'kysely';
import type { EventType } from './group-commit.js';
import type { DB } from './schema.js';

type Db = Kysely<DB> | Transaction<DB>;

/** One row of the durable event log. `payload` is the presented JSON text, sent to clients as it is. */
export interface EventRecord {
  readonly id: number;
  readonly type: EventType;
  readonly conversation_id: string | null;
  readonly payload: string;
  readonly created_at: string;
}

/**
 * Events with id > afterId in id order, at most `limit`; only one conversation's when
 * `conversationId` is given. Ids commit in id order (see group-commit.ts writeEvents), so a reader
 * that remembers the last id it saw never skips one.
 */
export async function readEventsAfter(
  db: Db,
  afterId: number,
  limit: number,
  conversationId: string | null = null,
): Promise<EventRecord[]> {
  let query = db.selectFrom('events').select(['id', 'type', 'conversation_id', 'payload', 'created_at']).where('id', '>', afterId);
  if (conversationId !== null) query = query.where('conversation_id', '=', conversationId);
  const rows = await query.orderBy('id').limit(limit).execute();
  return rows.map((r) => ({ ...r, id: Number(r.id), type: r.type as EventType }));
}

/** The highest event id, 0 for an empty log. */
export async function latestEventId(db: Db): Promise<number> {
  const row = await db
    .selectFrom('events')
    .select((eb) => eb.fn.max('id').as('id'))
    .executeTakeFirst();
  return row?.id == null ? 0 : Number(row.id);
}

/** The lowest retained event id, null for an empty log. */
export async function oldestEventId(db: Db): Promise<number | null> {
  const row = await db
    .selectFrom('events')
    .select((eb) => eb.fn.min('id').as('id'))
    .executeTakeFirst();
  return row?.id == null ? null : Number(row.id);
}

/**
 * Deletes up to `maxRows` of the oldest events created before `cutoffIso`; returns how many.
 *
 * What is deleted is always a prefix of the log in id order (every id up to a bound), even when
 * created_at is not monotonic in id (clocks of several processes), so "oldest retained id" tells a
 * resuming client exactly whether anything after its position is gone. The newest event is always
 * kept: an empty log could not tell a client from before the purge from one that is up to date.
 */
export async function purgeEventsBefore(db: Db, cutoffIso: string, maxRows: number): Promise<number> {
  const expired = await db
    .selectFrom('events')
    .select((eb) => eb.fn.max('id').as('id'))
    .where('created_at', '<', cutoffIso)
    .executeTakeFirst();
  if (expired?.id == null) return 0;
  const newest = await latestEventId(db);
  const bound = Math.min(Number(expired.id), newest - 1);
  const chunk = await db
    .selectFrom('events')
    .select('id')
    .where('id', '<=', bound)
    .orderBy('id')
    .offset(maxRows - 1)
    .limit(1)
    .executeTakeFirst();
  const upTo = chunk ? Math.min(Number(chunk.id), bound) : bound;
  const result = await db.deleteFrom('events').where('id', '<=', upTo).executeTakeFirst();
  return Number(result.numDeletedRows);
}
