import { cutText, PREVIEW_TEXT_LENGTH } from '../chat/text-limits.js';
import type { Media } from '../chat/types.js';
import { windowExpiresAt } from '../chat/window.js';
import type { ConversationParts } from '../store/conversation.store.js';
import { parseJson } from '../store/json.js';
import type { KnowledgeRow, MessageRow, OperatorRow } from '../store/schema.js';
import type { Conversation, KnowledgeEntry, Message, MessagePreview, Operator } from './types.js';

/** The one Message shape (SPEC §3), for REST and SSE alike. */
export function presentMessage(row: MessageRow): Message {
  const media = parseJson<Media>(row.media);
  return {
    message_id: row.message_id,
    conversation_id: row.conversation_id,
    seq: row.seq,
    role: row.role as Message['role'],
    type: row.type as Message['type'],
    text: row.text,
    media: media ? { ...media, url: `/api/media/${encodeURIComponent(media.media_id)}` } : null,
    status: row.status as Message['status'],
    error: parseJson(row.error),
    operator: row.operator_id ? { id: row.operator_id, name: row.operator_name ?? '' } : null,
    reply_to: row.reply_to,
    timestamp: row.timestamp,
    metadata: parseJson<Record<string, unknown>>(row.metadata) ?? {},
    // Only on a message the customer changed, so every other message keeps its exact shape.
    ...(row.edited_at ? { edited_at: row.edited_at } : {}),
    ...(row.deleted_at ? { deleted_at: row.deleted_at } : {}),
  };
}

/** Metadata kept in a preview only when its JSON is this small. */
const PREVIEW_METADATA_LENGTH = 2048;

/** The list variant of presentMessage: bounded text and metadata (MessagePreview). */
export function presentMessagePreview(row: MessageRow): MessagePreview {
  const message: MessagePreview = presentMessage(row);
  if (message.text !== null && message.text.length > PREVIEW_TEXT_LENGTH) {
    message.text = cutText(message.text, PREVIEW_TEXT_LENGTH);
    message.text_truncated = true;
  }
  if ((row.metadata?.length ?? 0) > PREVIEW_METADATA_LENGTH) message.metadata = {};
  return message;
}

/** The one Conversation shape (SPEC §3); its last message as a bounded preview. */
export function presentConversation(parts: ConversationParts, lastMessage: MessageRow | null): Conversation {
  const { conversation: c, contact, channel, operator } = parts;
  const expires = windowExpiresAt(c.last_inbound_at ? new Date(c.last_inbound_at) : null);
  return {
    conversation_id: c.id,
    channel: { id: channel.id, provider: channel.provider as Conversation['channel']['provider'], name: channel.name },
    contact: {
      wa_id: contact.wa_id,
      name: contact.name,
      user_id: contact.user_id,
      username: contact.username ?? null,
      language: contact.language,
    },
    state: c.state as Conversation['state'],
    operator: operator ? { id: operator.id, name: operator.name } : null,
    handover: parseJson(c.handover),
    unread_count: c.unread_count,
    last_message: lastMessage ? presentMessagePreview(lastMessage) : null,
    window_expires_at: expires ? expires.toISOString() : null,
    created_at: c.created_at,
    updated_at: c.updated_at,
    ...pendingOperations(c.metadata),
  };
}

/** The conversation's waiting edits and revokes (src/app/apply-lifecycle.ts keeps the list); nothing for almost every conversation. */
function pendingOperations(metadata: string): Pick<Conversation, 'pending_operations'> {
  if (!metadata.includes('"pending_operations"')) return {};
  const list = parseJson<{ pending_operations?: Conversation['pending_operations'] }>(metadata)?.pending_operations;
  return Array.isArray(list) && list.length > 0 ? { pending_operations: list } : {};
}

export function presentOperator(row: OperatorRow): Operator {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role as Operator['role'],
    status: row.status as Operator['status'],
    disabled: row.disabled_at !== null,
  };
}

/** The one KnowledgeEntry shape [AI7]. */
export function presentKnowledge(row: KnowledgeRow): KnowledgeEntry {
  return {
    id: row.id,
    question: row.question,
    answer: row.answer,
    language: row.language,
    alternates: parseJson<string[]>(row.alternates) ?? [],
    tags: parseJson<string[]>(row.tags) ?? [],
    source: row.source as KnowledgeEntry['source'],
    created_by: row.created_by,
    from:
      row.from_conversation_id && row.from_message_id
        ? { conversation_id: row.from_conversation_id, message_id: row.from_message_id }
        : null,
    created_at: row.created_at,
    updated_at: row.updated_at,
    deleted_at: row.deleted_at,
  };
}
