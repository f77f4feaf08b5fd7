import type { HandoverReason, MessageType, Role } from '../chat/types.js';

/**
 * What a responder sees of a conversation (oldest first, bounded by the worker). Operator messages
 * and system events (takeover, the hand-back marker [AI5], resolve) are included, so the responder
 * knows where a human stretch began and ended.
 */
export interface HistoryItem {
  message_id: string;
  role: Role;
  type: MessageType;
  /** Text, caption or transcript [AI2]; null when the message has none (a photo without caption). */
  text: string | null;
  /** For `event` messages: what happened (`released`, `resolved`, `taken_over` …). */
  event: string | null;
  timestamp: string;
  /** Media the responder may look at: photos for a vision model. Loaded lazily, only when asked for. */
  media: { media_id: string; mime_type: string | null; kind: MessageType } | null;
  /** For operator messages: who wrote it. */
  operator_name?: string | null;
  /** For voice and audio: why there is no transcript (`failed`, `unavailable`), when there is none [AI2]. */
  transcript_status?: string | null;
}

export interface ResponderInput {
  conversation_id: string;
  /** The customer's detected language (`ar`, `en`, `fr` …), or null when not detected yet. */
  language: string | null;
  contact_name: string | null;
  /** The bounded history, oldest first; it ends with `pending`. */
  history: HistoryItem[];
  /** The customer messages this reply answers (one debounce window [AI1]), oldest first. */
  pending: HistoryItem[];
  /** How many replies in a row the responder could not answer (for clarify-then-hand-over). */
  consecutive_misses: number;
  /** Aborted when the conversation leaves `ai` state or the worker stops [AI3]. */
  signal: AbortSignal;
  /** Bytes of a media object (photos for vision), read from Switchboard's media store. */
  loadMedia(mediaId: string): Promise<{ bytes: Buffer; mime_type: string }>;
}

/** What a message produced by a responder says about itself (stored in its metadata) [AI7]. */
export interface ReplyOrigin {
  handled_by: 'faq' | 'ai';
  /** The knowledge entry an answer came from, and its match score (faq; openai context). */
  knowledge_id?: string | null;
  knowledge_question?: string | null;
  score?: number | null;
  model?: string | null;
  /** true when the reply is a clarifying question, not an answer. */
  clarifying?: boolean;
}

export type ResponderResult =
  | { kind: 'reply'; text: string; origin: ReplyOrigin }
  /** The responder cannot help: the conversation is handed to an operator [AI4]. */
  | { kind: 'handover'; reason: HandoverReason; note: string | null; origin: ReplyOrigin };

/** A responder: `faq` (built in, no network) or `openai` (any OpenAI-compatible endpoint). */
export interface Responder {
  readonly name: 'faq' | 'openai';
  /** Throws on failure (network, bad answer); the worker retries and hands over after repeated failures (`ai_failed`). */
  respond(input: ResponderInput): Promise<ResponderResult>;
}

/** Speech to text for voice notes [AI2] (the OpenAI-compatible transcription endpoint). */
export interface Transcriber {
  transcribe(
    audio: { bytes: Buffer; mime_type: string; filename: string },
    signal: AbortSignal,
  ): Promise<{ text: string; language: string | null; model: string }>;
}
