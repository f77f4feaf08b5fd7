import type { Kysely, Transaction } from 'kysely';
import type { DB } from './schema.js';

type Db = Kysely<DB> | Transaction<DB>;

/** Which journaled webhooks a replay reads: a provider and a `received_at` range (ISO, inclusive from, exclusive to). */
export interface JournalFilter {
  provider?: string;
  since?: string;
  until?: string;
}

export interface JournalEntry {
  id: number;
  provider: string;
  received_at: string;
  body: string;
}

function filtered(db: Db, filter: JournalFilter) {
  let q = db.selectFrom('webhook_journal');
  if (filter.provider) q = q.where('provider', '=', filter.provider);
  if (filter.since) q = q.where('received_at', '>=', filter.since);
  if (filter.until) q = q.where('received_at', '<', filter.until);
  return q;
}

export async function countJournal(db: Db, filter: JournalFilter): Promise<number> {
  const r = await filtered(db, filter)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** The next `limit` journaled webhooks after id `afterId`, in the order they were accepted. */
export async function readJournalPage(db: Db, filter: JournalFilter, afterId: number, limit: number): Promise<JournalEntry[]> {
  return filtered(db, filter)
    .select(['id', 'provider', 'received_at', 'body'])
    .where('id', '>', afterId)
    .orderBy('id')
    .limit(limit)
    .execute();
}
