/** The JSON shapes that leave the server (SPEC §3): REST and SSE alike, and the dashboard's types. */
import type { ConversationState, Handover, Media, MessageStatus, MessageType, Provider, ProviderError, Role } from '../chat/types.js';

export interface Message {
  message_id: string;
  conversation_id: string;
  seq: number;
  role: Role;
  type: MessageType;
  text: string | null;
  media: Media | null;
  status: MessageStatus;
  error: ProviderError | null;
  operator: { id: string; name: string } | null;
  reply_to: string | null;
  timestamp: string;
  metadata: Record<string, unknown>;
  /** [ED1] set when the customer edited it; the replaced versions are in `metadata.edits` (EditVersion[]). */
  edited_at?: string | null;
  /** [RV1] set when the customer deleted it: text and media are gone, `metadata.deleted` says who and when. */
  deleted_at?: string | null;
}

/**
 * A Message as a list shows it (a conversation's `last_message`): the text cut to 500 characters
 * (`text_truncated: true` when it was), metadata left out unless small; media as in Message. The
 * whole message is read from the conversation's messages.
 */
export interface MessagePreview extends Message {
  text_truncated?: true;
}

export interface Conversation {
  conversation_id: string;
  channel: { id: string; provider: Provider; name: string | null };
  contact: { wa_id: string | null; name: string | null; user_id: string | null; username: string | null; language: string | null };
  state: ConversationState;
  operator: { id: string; name: string } | null;
  handover: Handover | null;
  unread_count: number;
  last_message: MessagePreview | null;
  window_expires_at: string | null;
  created_at: string;
  updated_at: string;
  /** [ED3][RV3] edits and revokes whose original has not arrived (yet); present only when there are some. */
  pending_operations?: { kind: 'edit' | 'revoke'; operation_id: string; original_message_id: string; received_at: string }[];
}

export interface Operator {
  id: string;
  email: string;
  name: string;
  role: 'admin' | 'operator';
  status: 'available' | 'busy' | 'away';
  disabled: boolean;
}

export interface ApiError {
  error: { code: string; message: string };
}

/** A faq knowledge entry [AI7]. `deleted_at` is set on a deleted entry (still readable by id). */
export interface KnowledgeEntry {
  id: string;
  question: string;
  answer: string;
  language: string | null;
  alternates: string[];
  tags: string[];
  source: 'file' | 'dashboard' | 'api';
  created_by: string | null;
  /** The AI reply it was saved from, when it was. */
  from: { conversation_id: string; message_id: string } | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

/** A page of the conversation list (`GET /api/conversations`), newest activity first. */
export interface ConversationPage {
  conversations: Conversation[];
  next_cursor: string | null;
}

/** A conversation with its latest page of messages, oldest first (`GET /api/conversations/{id}`). */
export interface ConversationDetails extends Conversation {
  messages: Message[];
  has_more: boolean;
}

/** A page of a conversation's messages, oldest first (`GET /api/conversations/{id}/messages`). */
export interface MessagePage {
  messages: Message[];
  has_more: boolean;
}

/** A page of the knowledge base (`GET /api/knowledge`). */
export interface KnowledgePage {
  entries: KnowledgeEntry[];
  next_cursor: string | null;
}

/**
 * The live events (SPEC §8) and the shape each carries, the one list of them: the writer's
 * `tx.emit` checks its payload against it, and the dashboard's event hook reads the stream by it.
 */
export interface WireEvents {
  new_message: Message;
  message_updated: Message;
  conversation_updated: Conversation;
}

export type WireEventType = keyof WireEvents;

/** One event as the stream delivers it: its type and its data. */
export type WireEvent = { [K in WireEventType]: { type: K; data: WireEvents[K] } }[WireEventType];
