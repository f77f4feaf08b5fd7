/**
 * The domain's vocabulary. Everything here is plain data: no I/O, no framework types.
 * JSON-facing names are snake_case because these values leave the server unchanged (SPEC §3).
 */

export const PROVIDERS = ['meta', 'montymobile', 'qiscus'] as const;
export type Provider = (typeof PROVIDERS)[number];

export const ROLES = ['user', 'assistant', 'operator', 'system'] as const;
export type Role = (typeof ROLES)[number];

export const MESSAGE_TYPES = [
  'text',
  'voice',
  'audio',
  'photo',
  'video',
  'document',
  'sticker',
  'location',
  'contacts',
  'interactive',
  'button',
  'reaction',
  'unsupported',
  'event',
] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export const MESSAGE_STATUSES = ['received', 'pending', 'sent', 'delivered', 'read', 'failed'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export const CONVERSATION_STATES = ['ai', 'waiting', 'operator', 'resolved'] as const;
export type ConversationState = (typeof CONVERSATION_STATES)[number];

export const HANDOVER_REASONS = ['user_requested', 'ai_requested', 'ai_failed', 'sentiment'] as const;
export type HandoverReason = (typeof HANDOVER_REASONS)[number];

/** `deleted`: the customer revoked the message; its bytes are gone (GET answers 410) [RV1]. */
export type MediaStatus = 'pending' | 'ready' | 'failed' | 'deleted';

/** Media attached to a message. `url` is served by Switchboard (`/api/media/{media_id}`), never the provider's. */
export interface Media {
  media_id: string;
  mime_type: string | null;
  url: string | null;
  status: MediaStatus;
  caption: string | null;
  transcript: string | null;
  filename: string | null;
  size: number | null;
  /** Why the download failed (`too_large`, `unreachable`, `sha256_mismatch` …); only when status is failed. */
  error?: string | null;
  /**
   * Voice and audio only [AI2]: `pending` while the transcriber works, `done` with `transcript`,
   * `failed` (with `transcript_error`) when it gave up, `unavailable` when no transcriber is configured.
   * Absent before the download is ready.
   */
  transcript_status?: TranscriptStatus;
  transcript_error?: string | null;
}

export type TranscriptStatus = 'pending' | 'done' | 'failed' | 'unavailable';

export interface ProviderError {
  code: string;
  title: string;
}

/** A normalised reference to media held by the provider, as parsed from a webhook. */
export interface MediaRef {
  /** Meta/MontyMobile media id, or for Qiscus (and Monty `link`/`url` forms) the direct URL. */
  ref: string;
  /** How the media is fetched: by provider media id, or by plain URL. */
  kind: 'provider_id' | 'url';
  mime_type: string | null;
  /** sha256 as the provider gives it (Meta: base64), null when absent. */
  sha256: string | null;
  filename: string | null;
  caption: string | null;
}

/** One customer message, normalised from any provider's webhook. */
export interface InboundMessage {
  provider: Provider;
  /** [ID1] the provider's own id for this message: becomes `message_id`. */
  provider_message_id: string;
  /** The business side: Meta/Monty `metadata.phone_number_id`, Qiscus channel id (or app code when absent). */
  channel_external_id: string;
  channel_name: string | null;
  /** Contact key: `wa_id ?? from ?? from_user_id` for Meta/Monty; the customer's `from.email` for Qiscus. */
  contact_key: string;
  /** Customer's phone digits without '+', when known. */
  wa_id: string | null;
  /** Meta business-scoped user id (BSUID), when present. */
  user_id: string | null;
  contact_name: string | null;
  /** Meta's username (`contacts[].profile.username`, 2026), when given. */
  contact_username?: string | null;
  type: MessageType;
  /** body, caption, button title, location name …; null when the message has none. */
  text: string | null;
  media: MediaRef | null;
  /** `context.id`: the message this one replies to. */
  reply_to: string | null;
  /** Provider timestamp (seconds precision); shown, never used to order. */
  timestamp: Date;
  /** Provider-specific extras worth keeping: referral, reaction target, location, contacts, errors, qiscus room … */
  metadata: Record<string, unknown>;
  /** Error carried by an `unsupported` message. */
  error: ProviderError | null;
}

/** A delivery status for one of our outbound messages, matched by `metadata.provider_message_id` [ID9]. */
export interface StatusUpdate {
  provider: Provider;
  provider_message_id: string;
  status: 'sent' | 'delivered' | 'read' | 'failed';
  timestamp: Date;
  error: ProviderError | null;
  recipient: string | null;
  /** Meta's `biz_opaque_callback_data`: the `message_id` we sent with the message, when present. */
  callback_data?: string;
}

/** Everything one webhook POST carries, after parsing. */
export interface InboundBatch {
  messages: InboundMessage[];
  statuses: StatusUpdate[];
  /** Items recognised and deliberately skipped (own-number echoes, agent messages …), with why. */
  ignored: { reason: string }[];
  /** Edits, revokes and system notices [ED1][RV1][SY1]: rare, so absent from most batches. */
  operations?: InboundOperation[];
}

export const OPERATION_KINDS = ['edit', 'revoke', 'system'] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];

/**
 * Something a customer did to the conversation rather than a message of its own: an edit or a
 * revoke of an earlier message, or a system notice (number or identity change).
 */
export interface InboundOperation {
  kind: OperationKind;
  /**
   * The carrier: sender, channel, the operation's own provider id (`provider_message_id`, the
   * redelivery key) and timestamp. Edit: the new content (`type`, `text`: body or caption). System:
   * type `event`, `text` the notice's body, `metadata.system` the notice.
   */
  message: InboundMessage;
  /** Edit and revoke: the provider id of the message changed [ID1]. Null for system notices. */
  target_message_id: string | null;
  /** System `user_changed_number`: the customer's new phone digits. */
  new_wa_id?: string | null;
}

/** One earlier version of an edited message, kept in its `metadata.edits` [ED1]. */
export interface EditVersion {
  text: string | null;
  /** When this version became current: the original's timestamp, or the edit that wrote it. */
  since: string;
  /** When it was replaced (receipt of the edit), and by which edit. */
  replaced_at: string;
  edit_id: string;
}

export interface Handover {
  reason: HandoverReason;
  at: string;
  note: string | null;
}
