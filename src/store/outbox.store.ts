import type { Kysely, Transaction } from 'kysely';
import type { DialectName } from './database.js';
import { PreparedSql } from './prepared-sql.js';
import type { DB, MessageRow } from './schema.js';

type Db = Kysely<DB> | Transaction<DB>;

/*
 * Reads of the outbound sender. Our messages are the ones not written by the customer (role
 * other than `user`); `pending` ones are still in the outbox. The pending ones are found through
 * the partial index messages_pending_seq_idx (migration 0008): the status is a literal so that
 * both databases match the index's predicate.
 */

/** The customer's latest message in the conversation (its provider id and metadata), if any. */
export async function latestInbound(
  db: Db,
  conversationId: string,
): Promise<Pick<MessageRow, 'message_id' | 'seq' | 'metadata'> | undefined> {
  return db
    .selectFrom('messages')
    .select(['message_id', 'seq', 'metadata'])
    .where('conversation_id', '=', conversationId)
    .where('role', '=', 'user')
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** What a send needs to know of its conversation, in one read: the window, the channel and the contact. */
export interface SendTarget {
  last_inbound_at: string | null;
  provider: string;
  channel_external_id: string;
  wa_id: string | null;
  user_id: string | null;
}

export async function sendTarget(db: Db, conversationId: string): Promise<SendTarget | undefined> {
  return db
    .selectFrom('conversations')
    .innerJoin('channels', 'channels.id', 'conversations.channel_id')
    .innerJoin('contacts', 'contacts.id', 'conversations.contact_id')
    .select([
      'conversations.last_inbound_at',
      'channels.provider',
      'channels.external_id as channel_external_id',
      'contacts.wa_id',
      'contacts.user_id',
    ])
    .where('conversations.id', '=', conversationId)
    .executeTakeFirst();
}

/**
 * Our messages with this `message_id` that have no provider id yet: a status webhook naming it in
 * Meta's `biz_opaque_callback_data` (the send's acceptance not recorded yet, or lost in a crash).
 */
export async function unmatchedOutbound(db: Db, messageId: string): Promise<MessageRow[]> {
  return db
    .selectFrom('messages')
    .selectAll()
    .where('message_id', '=', messageId)
    .where('provider_message_id', 'is', null)
    .where('role', '!=', 'user')
    .execute();
}

/*
 * The sender's hot path (src/app/deliver-outbox.ts), as prepared SQL: run for every message,
 * without building and compiling a query each time (see prepared-sql.ts).
 */

const messageOf = new PreparedSql<MessageRow>('select * from messages where conversation_id = ? and message_id = ?');
/** Exported so a test can read its plan. */
export const earlierPending = new PreparedSql<Pick<MessageRow, 'message_id' | 'seq'>>(
  "select message_id, seq from messages where conversation_id = ? and seq < ? and status = 'pending' and role <> 'user' order by seq asc limit 1",
);
const targetOf = new PreparedSql<SendTarget>(
  'select conversations.last_inbound_at, channels.provider, channels.external_id as channel_external_id, contacts.wa_id, contacts.user_id' +
    ' from conversations inner join channels on channels.id = conversations.channel_id inner join contacts on contacts.id = conversations.contact_id' +
    ' where conversations.id = ?',
);
const metadataIfStatus = new PreparedSql<MessageRow>(
  'update messages set metadata = ?, updated_at = ? where id = ? and status = ? returning *',
);
const outcomeIfStatus = new PreparedSql<MessageRow>(
  'update messages set status = ?, provider_message_id = ?, metadata = ?, updated_at = ? where id = ? and status = ? returning *',
);

/**
 * The `outbox.send` job of the conversation's next pending message after `seq` made due now, in
 * one statement (the next pending message, then its job): the job is keyed
 * `{conversation_id}:{message_id}`, and only a queued job due later moves.
 */
const unblockNextSend = new PreparedSql(
  "update jobs set run_at = ?, updated_at = ? where kind = 'outbox.send' and status = 'queued' and run_at > ? and dedupe_key = (" +
    "select cast(? as text) || ':' || message_id from messages where conversation_id = ? and seq > ? and status = 'pending' and role <> 'user' order by seq asc limit 1)",
);

/** Makes the conversation's next pending send after `seq` due now (see unblockNextSend). */
export async function runNextSendNow(db: Db, dialect: DialectName, conversationId: string, seq: number, now = new Date()): Promise<void> {
  const nowIso = now.toISOString();
  await unblockNextSend.run(db, dialect, [nowIso, nowIso, nowIso, conversationId, conversationId, seq]);
}

/** findMessage for the sender. */
export function sendMessageOf(db: Db, dialect: DialectName, conversationId: string, messageId: string): Promise<MessageRow | undefined> {
  return messageOf.first(db, dialect, [conversationId, messageId]);
}

/** The first of our messages before `seq` in the conversation that is still pending, if any. */
export function earlierPendingSend(
  db: Db,
  dialect: DialectName,
  conversationId: string,
  seq: number,
): Promise<Pick<MessageRow, 'message_id' | 'seq'> | undefined> {
  return earlierPending.first(db, dialect, [conversationId, seq]);
}

/** sendTarget for the sender. */
export function sendTargetOf(db: Db, dialect: DialectName, conversationId: string): Promise<SendTarget | undefined> {
  return targetOf.first(db, dialect, [conversationId]);
}

/** Compare-and-set of the metadata alone (the start marker, a closed attempt): the new row, or undefined when the status moved. */
export function setSendMetadataIfStatus(
  db: Db,
  dialect: DialectName,
  pk: number,
  expectedStatus: string,
  metadata: string,
): Promise<MessageRow | undefined> {
  return metadataIfStatus.first(db, dialect, [metadata, new Date().toISOString(), pk, expectedStatus]);
}

/** Compare-and-set of an accepted send's status, provider id and metadata. */
export function setSendOutcomeIfStatus(
  db: Db,
  dialect: DialectName,
  pk: number,
  expectedStatus: string,
  patch: { status: string; provider_message_id: string | null; metadata: string },
): Promise<MessageRow | undefined> {
  return outcomeIfStatus.first(db, dialect, [
    patch.status,
    patch.provider_message_id,
    patch.metadata,
    new Date().toISOString(),
    pk,
    expectedStatus,
  ]);
}
