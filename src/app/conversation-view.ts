import { presentConversation, presentMessage } from '../api/present.js';
import type { Conversation } from '../api/types.js';
import { DomainError } from '../chat/errors.js';
import type { ConversationState } from '../chat/types.js';
import {
  completeParts,
  getConversationRow,
  lockConversationRow,
  updateConversation,
  type ConversationPatch,
} from '../store/conversation.store.js';
import type { WriteTx } from '../store/group-commit.js';
import { appendMessage, lastMessages } from '../store/message.store.js';
import type { ConversationRow, MessageRow } from '../store/schema.js';
import { generateMessageId } from '../chat/message-id.js';
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../store/schema.js';

type Db = Kysely<DB> | Transaction<DB>;

/** The conversation row, or `conversation_not_found`. */
export async function requireConversation(db: Db, id: string): Promise<ConversationRow> {
  const row = await getConversationRow(db, id);
  if (!row) throw new DomainError('conversation_not_found', `no conversation ${id}`);
  return row;
}

/**
 * The conversation row, locked until the unit commits (PostgreSQL's FOR UPDATE; SQLite has one
 * writer), or `conversation_not_found`. Every write that checks the state or the owner before it
 * writes reads the row through this, so two operators' units cannot both pass the check [AI3].
 */
export async function lockConversation(tx: Pick<WriteTx, 'db' | 'dialect'>, id: string): Promise<ConversationRow> {
  const row = await lockConversationRow(tx.db, tx.dialect, id);
  if (!row) throw new DomainError('conversation_not_found', `no conversation ${id}`);
  return row;
}

/** The presented Conversation (SPEC §3) of a row, with its latest message. */
export async function viewConversation(db: Db, row: ConversationRow): Promise<Conversation> {
  const [parts, last] = await Promise.all([completeParts(db, row), lastMessages(db, [row])]);
  return presentConversation(parts, last.get(row.id) ?? null);
}

/** Applies `patch` and emits `conversation_updated` with the result, in the caller's unit. */
export async function updateAndEmit(tx: WriteTx, id: string, patch: ConversationPatch, now: Date): Promise<Conversation> {
  const updated = await updateConversation(tx.db, id, patch, now.toISOString());
  const view = await viewConversation(tx.db, updated);
  tx.emit({ type: 'conversation_updated', conversation_id: id, payload: view });
  return view;
}

/** Whether the conversation is in `operator` state and owned by someone other than `actorId`. */
export function isOwnedByOther(row: { state: string; operator_id: string | null }, actorId: string): boolean {
  return (row.state as ConversationState) === 'operator' && row.operator_id !== null && row.operator_id !== actorId;
}

/**
 * Appends a system `event` message (never sent to the customer; status `received`) with a
 * generated id [ID3][ID6], and emits `new_message`. `event` names what happened, for the AI's
 * context and the dashboard [AI5].
 */
export async function appendSystemEvent(
  tx: WriteTx,
  conversationId: string,
  event: string,
  text: string,
  actor: { id: string; name: string },
  now: Date,
): Promise<MessageRow> {
  const messageId = generateMessageId(now);
  const { row } = await appendMessage(
    tx.db,
    conversationId,
    {
      message_id: messageId,
      role: 'system',
      type: 'event',
      text,
      media: null,
      status: 'received',
      error: null,
      operator_id: actor.id,
      operator_name: actor.name,
      reply_to: null,
      timestamp: now.toISOString(),
      metadata: JSON.stringify({ message_id: messageId, event }),
      provider_message_id: null,
      client_key: null,
    },
    { regenerateId: () => generateMessageId(now) },
  );
  tx.emit({ type: 'new_message', conversation_id: conversationId, payload: presentMessage(row) });
  return row;
}
