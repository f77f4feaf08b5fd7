import type { Kysely, Transaction } from 'kysely';
import type { DialectName } from './database.js';
import { enqueueJob, JOB_INSERT_COLUMNS } from './job.store.js';
import { PreparedSql } from './prepared-sql.js';
import type { ContactRow, ConversationRow, DB, MessageRow } from './schema.js';

type Db = Kysely<DB> | Transaction<DB>;

/*
 * The statements every inbound message runs (src/app/receive-webhook.ts), as prepared SQL: a busy
 * server runs each of them thousands of times a second. Rarer cases (a new contact or
 * conversation, a changed name, media) go through the Kysely functions of the other stores.
 */

const contactByKey = new PreparedSql<ContactRow>('select * from contacts where channel_id = ? and contact_key = ?');

export async function findContactByKey(
  db: Db,
  dialect: DialectName,
  channelId: string,
  contactKey: string,
): Promise<ContactRow | undefined> {
  return contactByKey.first(db, dialect, [channelId, contactKey]);
}

/*
 * On PostgreSQL the conversation row is locked when read: the state read here decides the next
 * state, and every writer of one conversation (webhooks of several processes, operators) queues on
 * this lock, so the read-then-update below cannot race. SQLite has one writer at a time anyway.
 * The same statement tells whether the message is stored already: with the row locked (or the
 * database held), a message not there now cannot appear before this transaction inserts it [ID5].
 */
const HOLDS_MESSAGE = 'exists (select 1 from messages m where m.conversation_id = c.id and m.message_id = ?) as duplicate';

const CONVERSATION_OF = `select c.*, ${HOLDS_MESSAGE} from conversations c where c.channel_id = ? and c.contact_id = ?`;

const conversationOf = new PreparedSql<ConversationRow & { duplicate: number | boolean }>(CONVERSATION_OF, `${CONVERSATION_OF} for update`);

/** The conversation of (channel, contact), locked for this transaction on PostgreSQL, and whether it holds `messageId`. */
export async function lockConversationOf(
  db: Db,
  dialect: DialectName,
  channelId: string,
  contactId: string,
  messageId: string,
): Promise<{ conversation: ConversationRow; hasMessage: boolean } | undefined> {
  const row = await conversationOf.first(db, dialect, [messageId, channelId, contactId]);
  if (!row) return undefined;
  const { duplicate, ...conversation } = row;
  return { conversation, hasMessage: duplicate === true || duplicate === 1 };
}

const senderThreadPg = PreparedSql.postgresOnly<{ contact: ContactRow; conversation: ConversationRow; duplicate: boolean }>(`
  select to_jsonb(ct) as contact, to_jsonb(c) as conversation, ${HOLDS_MESSAGE}
  from contacts ct join conversations c on c.channel_id = ct.channel_id and c.contact_id = ct.id
  where ct.channel_id = ? and ct.contact_key = ?
  for update of c`);

export interface SenderThread {
  contact: ContactRow;
  /** The contact's conversation on the channel (locked on PostgreSQL), when it has one. */
  thread: { conversation: ConversationRow; hasMessage: boolean } | undefined;
}

/**
 * The sender's contact by key and, with it, their conversation (locked on PostgreSQL) and whether
 * it holds `messageId`: one round trip on PostgreSQL for the common case (a known sender), two
 * prepared statements on SQLite. Undefined for a sender not seen under this key.
 */
export async function findSenderThread(
  db: Db,
  dialect: DialectName,
  channelId: string,
  contactKey: string,
  messageId: string,
): Promise<SenderThread | undefined> {
  if (dialect === 'postgres') {
    const row = await senderThreadPg.first(db, dialect, [messageId, channelId, contactKey]);
    if (row) return { contact: row.contact, thread: { conversation: row.conversation, hasMessage: row.duplicate } };
  }
  const contact = await findContactByKey(db, dialect, channelId, contactKey);
  if (!contact) return undefined;
  return { contact, thread: await lockConversationOf(db, dialect, channelId, contact.id, messageId) };
}

export interface InboundConversationChange {
  state: string;
  /** True when the state changes: the owner and the hand-over reason go. */
  clearOwner: boolean;
  last_inbound_at: string;
  now: string;
}

const CONVERSATION_AFTER_INBOUND = `update conversations set last_seq = last_seq + 1, unread_count = unread_count + 1, state = ?,
     operator_id = case when ? then null else operator_id end, handover = case when ? then null else handover end,
     last_inbound_at = ?, last_activity_at = ?, updated_at = ?
   where id = ? returning *`;

const MESSAGE_COLUMNS = `conversation_id, message_id, seq, role, type, text, media, status, error, operator_id, operator_name,
     reply_to, timestamp, metadata, provider_message_id, client_key, created_at, updated_at`;

const conversationAfterInbound = new PreparedSql<ConversationRow>(CONVERSATION_AFTER_INBOUND);

const messageInsert = new PreparedSql<{ id: number }>(
  `insert into messages (${MESSAGE_COLUMNS}) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
   on conflict (conversation_id, message_id) do nothing returning id`,
);

/**
 * PostgreSQL: the conversation update, the message insert (with the seq the update handed out) and
 * the AI job in one statement — one round trip instead of three. The job is inserted only with the
 * message (`from msg`), as in the step-by-step version.
 */
const appendInboundPg = PreparedSql.postgresOnly<ConversationRow & { message_pk: number | null }>(`
  with conv as (${CONVERSATION_AFTER_INBOUND.replaceAll('case when ?', 'case when ?::boolean')}),
  msg as (
    insert into messages (${MESSAGE_COLUMNS})
    select conv.id, ?, conv.last_seq, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? from conv
    on conflict (conversation_id, message_id) do nothing returning id
  ),
  job as (
    insert into jobs (${JOB_INSERT_COLUMNS})
    select ?, null, ?, 'queued', 0, ?, null, null, ?, ? from msg where ?::boolean
  )
  select conv.*, (select id from msg) as message_pk from conv`);

/** A new inbound message: never edited or deleted yet. */
export type InboundMessageRow = Omit<MessageRow, 'id' | 'conversation_id' | 'seq' | 'edited_at' | 'deleted_at'>;

/**
 * The job queued with an inbound message. It is inserted only together with the message (same
 * statement on PostgreSQL, same unit on SQLite), so the message's unique (conversation_id,
 * message_id) index is what keeps a redelivery from queueing it twice [ID5]: it carries no dedupe
 * key of its own (NULL never conflicts), and its index entry is appended instead of written into a
 * random page of jobs_kind_dedupe_uq.
 */
export interface InboundJob {
  kind: 'ai.reply';
  payload: unknown;
  /** When the job becomes due (ISO-8601); the AI's debounce window [AI1]. Default: now. */
  run_at?: string;
}

/**
 * Appends one inbound message: the conversation gets its next `seq` (the row's `last_seq` after
 * the update), one more unread, the new state and the window's start; the message is inserted with
 * that seq, and `job` queued with it. Undefined when (conversation, message_id) exists already —
 * the unique index is the final word [ID5] (the caller's transaction must then be undone). The rows
 * are returned as stored, without reading them back.
 */
export async function appendInbound(
  db: Db,
  dialect: DialectName,
  conversationId: string,
  change: InboundConversationChange,
  m: InboundMessageRow,
  job: InboundJob | null,
): Promise<{ conversation: ConversationRow; message: MessageRow } | undefined> {
  const clear = dialect === 'postgres' ? change.clearOwner : Number(change.clearOwner);
  const conversationParams = [change.state, clear, clear, change.last_inbound_at, change.now, change.now, conversationId];
  const messageParams = [
    m.message_id,
    m.role,
    m.type,
    m.text,
    m.media,
    m.status,
    m.error,
    m.operator_id,
    m.operator_name,
    m.reply_to,
    m.timestamp,
    m.metadata,
    m.provider_message_id,
    m.client_key,
    m.created_at,
    m.updated_at,
  ];
  if (dialect === 'postgres') {
    const row = await appendInboundPg.first(db, dialect, [
      ...conversationParams,
      ...messageParams,
      job?.kind ?? null,
      job ? JSON.stringify(job.payload) : null,
      job?.run_at ?? change.now,
      change.now,
      change.now,
      job !== null,
    ]);
    if (!row) throw new Error(`conversation ${conversationId} vanished during a webhook`);
    const { message_pk: pk, ...conversation } = row;
    return pk === null
      ? undefined
      : {
          conversation,
          message: { id: Number(pk), conversation_id: conversationId, seq: conversation.last_seq, ...m, edited_at: null, deleted_at: null },
        };
  }
  const conversation = await conversationAfterInbound.first(db, dialect, conversationParams);
  if (!conversation) throw new Error(`conversation ${conversationId} vanished during a webhook`);
  const inserted = await messageInsert.first(db, dialect, [conversationId, m.message_id, conversation.last_seq, ...messageParams.slice(1)]);
  if (!inserted) return undefined;
  if (job)
    await enqueueJob(db, dialect, {
      kind: job.kind,
      dedupe_key: null,
      payload: job.payload,
      run_at: job.run_at ? new Date(job.run_at) : undefined,
    });
  return {
    conversation,
    message: {
      id: Number(inserted.id),
      conversation_id: conversationId,
      seq: conversation.last_seq,
      ...m,
      edited_at: null,
      deleted_at: null,
    },
  };
}
