import { sql, type Insertable, type Kysely, type Transaction } from 'kysely';
import type { DB, MessageRow, MessageTable } from './schema.js';

type Db = Kysely<DB> | Transaction<DB>;

/** A message as the caller provides it; the store adds the row id, conversation, seq and timestamps. */
export type NewMessage = Omit<Insertable<MessageTable>, 'id' | 'conversation_id' | 'seq' | 'created_at' | 'updated_at'>;

export interface AppendResult {
  row: MessageRow;
  /** false when the (conversation, message_id) already existed: the existing row is returned [ID5]. */
  created: boolean;
}

export interface AppendOptions {
  /** For generated ids [ID6]: on a collision, ask for a new id instead of returning the other row. */
  regenerateId?: () => string;
}

/**
 * Appends a message with the conversation's next `seq`, idempotently on (conversation, message_id).
 *
 * The conversation row is locked first (`last_seq = last_seq + 1`): every writer of one conversation
 * queues there, so `seq` is gap-free and the duplicate check after it cannot race. A duplicate gives
 * the seq back and returns the row that won. The unique index stays the final word [ID5].
 */
export async function appendMessage(
  db: Db,
  conversationId: string,
  message: NewMessage,
  options: AppendOptions = {},
): Promise<AppendResult> {
  let candidate = message;
  if (!options.regenerateId) {
    const existing = await findMessage(db, conversationId, candidate.message_id);
    if (existing) return { row: existing, created: false };
  }
  const { last_seq: seq } = await db
    .updateTable('conversations')
    .set({ last_seq: sql`last_seq + 1` })
    .where('id', '=', conversationId)
    .returning('last_seq')
    .executeTakeFirstOrThrow();
  const now = new Date().toISOString();
  for (let attempt = 0; attempt < 8; attempt++) {
    const inserted = await db
      .insertInto('messages')
      .values({ ...candidate, conversation_id: conversationId, seq, created_at: now, updated_at: now })
      .onConflict((oc) => oc.columns(['conversation_id', 'message_id']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (inserted) return { row: inserted, created: true };
    if (options.regenerateId) {
      const id = options.regenerateId();
      candidate = { ...candidate, message_id: id, metadata: rewriteMetadataId(candidate.metadata, id) };
      continue;
    }
    break;
  }
  await db
    .updateTable('conversations')
    .set({ last_seq: sql`last_seq - 1` })
    .where('id', '=', conversationId)
    .execute();
  const winner = await findMessage(db, conversationId, candidate.message_id);
  if (!winner) throw new Error(`message ${candidate.message_id} conflicted but cannot be read back`);
  return { row: winner, created: false };
}

function rewriteMetadataId(metadata: string, id: string): string {
  const parsed = JSON.parse(metadata) as Record<string, unknown>;
  return JSON.stringify({ ...parsed, message_id: id });
}

export async function findMessage(db: Db, conversationId: string, messageId: string): Promise<MessageRow | undefined> {
  return db
    .selectFrom('messages')
    .selectAll()
    .where('conversation_id', '=', conversationId)
    .where('message_id', '=', messageId)
    .executeTakeFirst();
}

export async function findMessageByClientKey(db: Db, conversationId: string, clientKey: string): Promise<MessageRow | undefined> {
  return db
    .selectFrom('messages')
    .selectAll()
    .where('conversation_id', '=', conversationId)
    .where('client_key', '=', clientKey)
    .executeTakeFirst();
}

/**
 * [ID7][ID9] The message_id, in this conversation, of the message a customer's quote or reaction names by
 * the provider's id: the same id for a customer's message, ours for one we sent (its
 * provider_message_id); undefined when the conversation holds neither (older than its history, or a
 * send whose id was never recorded).
 */
export async function messageIdForProviderRef(db: Db, conversationId: string, ref: string): Promise<string | undefined> {
  const rows = await db
    .selectFrom('messages')
    .select(['message_id', 'provider_message_id'])
    .where('conversation_id', '=', conversationId)
    .where((eb) => eb.or([eb('message_id', '=', ref), eb('provider_message_id', '=', ref)]))
    .limit(2)
    .execute();
  return (rows.find((r) => r.message_id === ref) ?? rows[0])?.message_id;
}

export async function findByProviderMessageId(db: Db, providerMessageId: string): Promise<MessageRow[]> {
  return db.selectFrom('messages').selectAll().where('provider_message_id', '=', providerMessageId).execute();
}

export async function getMessageByPk(db: Db, pk: number): Promise<MessageRow | undefined> {
  return db.selectFrom('messages').selectAll().where('id', '=', pk).executeTakeFirst();
}

/**
 * Compare-and-set update: applies `patch` only if the row still has `expectedStatus`, so two
 * processes applying statuses at once cannot move a message backwards [ST1]. Returns the new row,
 * or undefined when the row changed underneath (the caller re-reads and decides again).
 */
export async function updateMessageIfStatus(
  db: Db,
  pk: number,
  expectedStatus: string,
  patch: Partial<Pick<MessageRow, 'status' | 'error' | 'media' | 'text' | 'metadata' | 'provider_message_id'>>,
): Promise<MessageRow | undefined> {
  return db
    .updateTable('messages')
    .set({ ...patch, updated_at: new Date().toISOString() })
    .where('id', '=', pk)
    .where('status', '=', expectedStatus)
    .returningAll()
    .executeTakeFirst();
}

export async function updateMessage(
  db: Db,
  pk: number,
  patch: Partial<Pick<MessageRow, 'status' | 'error' | 'media' | 'text' | 'metadata' | 'provider_message_id' | 'type' | 'reply_to'>>,
): Promise<MessageRow> {
  return db
    .updateTable('messages')
    .set({ ...patch, updated_at: new Date().toISOString() })
    .where('id', '=', pk)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export interface MessagePage {
  rows: MessageRow[];
  hasMore: boolean;
}

/**
 * A page of one conversation's messages, oldest first. Without cursors: the latest page. Reads
 * only `limit + 1` rows through the (conversation_id, seq) index, whatever the conversation's size.
 */
export async function listMessages(
  db: Db,
  conversationId: string,
  page: { beforeSeq?: number; afterSeq?: number; limit: number },
): Promise<MessagePage> {
  const rows = await messagePageQuery(db, conversationId, page).execute();
  const kept = rows.slice(0, page.limit);
  return { rows: page.afterSeq !== undefined ? kept : kept.reverse(), hasMore: rows.length > page.limit };
}

/**
 * The query behind listMessages (exported so a test can read its plan): `limit + 1` rows in seq
 * order from the (conversation_id, seq) index, descending for the latest page and `before_seq`,
 * ascending for `after_seq`.
 */
export function messagePageQuery(db: Db, conversationId: string, page: { beforeSeq?: number; afterSeq?: number; limit: number }) {
  let q = db.selectFrom('messages').selectAll().where('conversation_id', '=', conversationId);
  if (page.afterSeq !== undefined) q = q.where('seq', '>', page.afterSeq);
  if (page.beforeSeq !== undefined) q = q.where('seq', '<', page.beforeSeq);
  return q.orderBy('seq', page.afterSeq !== undefined ? 'asc' : 'desc').limit(page.limit + 1);
}

/** The latest message of each conversation given, keyed by conversation id. */
export async function lastMessages(db: Db, conversations: { id: string; last_seq: number }[]): Promise<Map<string, MessageRow>> {
  const result = new Map<string, MessageRow>();
  const wanted = conversations.filter((c) => c.last_seq > 0);
  if (wanted.length === 0) return result;
  const rows = await db
    .selectFrom('messages')
    .selectAll()
    .where((eb) => eb.or(wanted.map((c) => eb.and([eb('conversation_id', '=', c.id), eb('seq', '=', c.last_seq)]))))
    .execute();
  for (const row of rows) result.set(row.conversation_id, row);
  return result;
}
