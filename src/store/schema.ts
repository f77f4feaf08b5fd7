import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/**
 * Table types. Timestamps are ISO-8601 UTC strings with milliseconds (they sort as text on both
 * databases); JSON columns hold serialised text, parsed by the store functions that read them.
 */
export interface DB {
  channels: ChannelTable;
  contacts: ContactTable;
  conversations: ConversationTable;
  messages: MessageTable;
  media: MediaTable;
  media_blobs: MediaBlobTable;
  events: EventTable;
  webhook_journal: WebhookJournalTable;
  jobs: JobTable;
  operators: OperatorTable;
  sessions: SessionTable;
  login_attempts: LoginAttemptTable;
  knowledge: KnowledgeTable;
  pending_operations: PendingOperationTable;
  settings: SettingTable;
}

/** Small values every process on the database must agree on (migration 0010), e.g. the media-link key. */
export interface SettingTable {
  key: string;
  value: string;
  created_at: string;
}

export interface ChannelTable {
  id: string;
  provider: string;
  external_id: string;
  name: string | null;
  created_at: string;
}

export interface ContactTable {
  id: string;
  channel_id: string;
  contact_key: string;
  wa_id: string | null;
  user_id: string | null;
  name: string | null;
  /** Meta's username (profile.username), when the customer has one. */
  username: string | null;
  language: string | null;
  created_at: string;
  updated_at: string;
}

export interface ConversationTable {
  id: string;
  channel_id: string;
  contact_id: string;
  state: string;
  operator_id: string | null;
  handover: string | null;
  unread_count: number;
  last_seq: number;
  last_inbound_at: string | null;
  last_activity_at: string;
  legacy_id: string | null;
  metadata: string;
  created_at: string;
  updated_at: string;
}

export interface MessageTable {
  id: Generated<number>;
  conversation_id: string;
  message_id: string;
  seq: number;
  role: string;
  type: string;
  text: string | null;
  media: string | null;
  status: string;
  error: string | null;
  operator_id: string | null;
  operator_name: string | null;
  reply_to: string | null;
  timestamp: string;
  metadata: string;
  provider_message_id: string | null;
  client_key: string | null;
  created_at: string;
  updated_at: string;
  /** [ED1] when the customer last edited it; null otherwise. */
  edited_at: ColumnType<string | null, string | null | undefined, string | null>;
  /** [RV1] when the customer deleted it; its content is gone, the row stays. */
  deleted_at: ColumnType<string | null, string | null | undefined, string | null>;
}

/** An edit or revoke waiting for its original [ED3][RV3]; `payload` is the InboundOperation as JSON. */
export interface PendingOperationTable {
  id: Generated<number>;
  conversation_id: string;
  kind: string;
  operation_id: string;
  target_message_id: string;
  payload: string;
  received_at: string;
  applied_at: string | null;
}

export interface MediaTable {
  media_id: string;
  message_pk: number;
  conversation_id: string;
  provider: string;
  source_ref: string;
  source_kind: string;
  sha256: string | null;
  mime_type: string | null;
  size: number | null;
  status: string;
  storage_path: string | null;
  error: string | null;
  created_at: string;
  updated_at: string;
}

export interface MediaBlobTable {
  media_id: string;
  bytes: Buffer;
}

export interface EventTable {
  id: Generated<number>;
  type: string;
  conversation_id: string | null;
  payload: string;
  created_at: string;
}

export interface WebhookJournalTable {
  id: Generated<number>;
  provider: string;
  received_at: string;
  body: string;
  message_count: number;
  status_count: number;
}

export interface JobTable {
  id: Generated<number>;
  kind: string;
  dedupe_key: string | null;
  payload: string;
  status: string;
  attempts: number;
  run_at: string;
  locked_until: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

export interface OperatorTable {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  role: string;
  status: string;
  disabled_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface SessionTable {
  id: string;
  operator_id: string;
  kind: string;
  name: string | null;
  expires_at: string | null;
  created_at: string;
  last_used_at: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface LoginAttemptTable {
  id: Generated<number>;
  key: string;
  at: string;
}

/** A faq Q&A entry [AI7]; `alternates` and `tags` are JSON arrays of strings. */
export interface KnowledgeTable {
  id: string;
  question: string;
  answer: string;
  language: string | null;
  alternates: string;
  tags: string;
  /** `file` (seeded from AI_KNOWLEDGE_FILE), `dashboard` or `api`. */
  source: string;
  seed_key: string | null;
  /** The operator who added the entry (null for seeded ones). */
  created_by: string | null;
  /** The AI reply the entry was saved from [AI7], when it was. */
  from_conversation_id: string | null;
  from_message_id: string | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

export type ConversationRow = Selectable<ConversationTable>;
export type MessageRow = Selectable<MessageTable>;
export type NewMessageRow = Insertable<MessageTable>;
export type ContactRow = Selectable<ContactTable>;
export type ChannelRow = Selectable<ChannelTable>;
export type JobRow = Selectable<JobTable>;
export type OperatorRow = Selectable<OperatorTable>;
export type MediaRow = Selectable<MediaTable>;
export type KnowledgeRow = Selectable<KnowledgeTable>;
