import type { Kysely, Transaction } from 'kysely';
import type { DialectName } from './database.js';
import { PreparedSql } from './prepared-sql.js';
import type { ContactRow, ConversationRow, DB, MessageRow } from './schema.js';

type Db = Kysely<DB> | Transaction<DB>;

/*
 * The statements every inbound message runs (src/app/receive-webhook.ts), as prepared SQL: a busy
 * server runs each of them thousands of times a second. Rarer cases (a new contact or
 * conversation, a changed name, media) go through the Kysely functions of the other stores.
 */

const journalInsert = new PreparedSql(
  'insert into webhook_journal (provider, received_at, body, message_count, status_count) values (?, ?, ?, ?, ?)',
);

export interface JournalEntry {
  provider: string;
  received_at: string;
  body: string;
  message_count: number;
  status_count: number;
}

/** Keeps a webhook's raw body, as received, for replays and audits. */
export async function appendJournal(db: Db, dialect: DialectName, e: JournalEntry): Promise<void> {
  await journalInsert.run(db, dialect, [e.provider, e.received_at, e.body, e.message_count, e.status_count]);
}

const contactByKey = new PreparedSql<ContactRow>('select * from contacts where channel_id = ? and contact_key = ?');

export async function findContactByKey(db: Db, dialect: DialectName, channelId: string, contactKey: string): Promise<ContactRow | undefined> {
  return contactByKey.first(db, dialect, [channelId, contactKey]);
}

/*
 * On PostgreSQL the conversation row is locked when read: the state read here decides the next
 * state, and every writer of one conversation (webhooks of several processes, operators) queues on
 * this lock, so the read-then-update below cannot race. SQLite has one writer at a time anyway.
 */
const conversationOf = new PreparedSql<ConversationRow>(
  'select * from conversations where channel_id = ? and contact_id = ?',
  'select * from conversations where channel_id = ? and contact_id = ? for update',
);

/** The conversation of (channel, contact), locked for this transaction on PostgreSQL. */
export async function lockConversationOf(db: Db, dialect: DialectName, channelId: string, contactId: string): Promise<ConversationRow | undefined> {
  return conversationOf.first(db, dialect, [channelId, contactId]);
}

const messageIdTaken = new PreparedSql<{ one: number }>('select 1 as one from messages where conversation_id = ? and message_id = ?');

export async function hasMessage(db: Db, dialect: DialectName, conversationId: string, messageId: string): Promise<boolean> {
  return (await messageIdTaken.first(db, dialect, [conversationId, messageId])) !== undefined;
}

export interface InboundConversationChange {
  state: string;
  /** True when the state changes: the owner and the hand-over reason go. */
  clearOwner: boolean;
  last_inbound_at: string;
  now: string;
}

const conversationAfterInbound = new PreparedSql<ConversationRow>(
  `update conversations set last_seq = last_seq + 1, unread_count = unread_count + 1, state = ?,
     operator_id = case when ? then null else operator_id end, handover = case when ? then null else handover end,
     last_inbound_at = ?, last_activity_at = ?, updated_at = ?
   where id = ? returning *`,
);

/**
 * One update for one inbound message: the next `seq` (the row's `last_seq` after it), one more
 * unread, the new state and the window's start. Returns the updated row.
 */
export async function recordInbound(db: Db, dialect: DialectName, conversationId: string, change: InboundConversationChange): Promise<ConversationRow> {
  const clear = dialect === 'postgres' ? change.clearOwner : Number(change.clearOwner);
  const row = await conversationAfterInbound.first(db, dialect, [
    change.state, clear, clear, change.last_inbound_at, change.now, change.now, conversationId,
  ]);
  if (!row) throw new Error(`conversation ${conversationId} vanished during a webhook`);
  return row;
}

export type InboundMessageRow = Omit<MessageRow, 'id'>;

const messageInsert = new PreparedSql<{ id: number }>(
  `insert into messages (conversation_id, message_id, seq, role, type, text, media, status, error, operator_id, operator_name,
     reply_to, timestamp, metadata, provider_message_id, client_key, created_at, updated_at)
   values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
   on conflict (conversation_id, message_id) do nothing returning id`,
);

/**
 * Inserts the message with its seq; undefined when (conversation, message_id) exists already —
 * the unique index is the final word [ID5]. The row is returned as stored without reading it back.
 */
export async function insertInboundMessage(db: Db, dialect: DialectName, m: InboundMessageRow): Promise<MessageRow | undefined> {
  const inserted = await messageInsert.first(db, dialect, [
    m.conversation_id, m.message_id, m.seq, m.role, m.type, m.text, m.media, m.status, m.error, m.operator_id, m.operator_name,
    m.reply_to, m.timestamp, m.metadata, m.provider_message_id, m.client_key, m.created_at, m.updated_at,
  ]);
  return inserted ? { id: Number(inserted.id), ...m } : undefined;
}
