/**
 * What the server's `metadata` says about a message, read in one place so a renamed field is one
 * edit: who produced an AI reply (a FAQ match or a model), automatic notices, system events, and the
 * transcript state of a voice note.
 */
import type { Message } from './api.js';

export type Producer =
  | { kind: 'faq'; knowledgeId: string | null; question: string | null; score: number | null }
  | { kind: 'ai'; model: string | null; latencyMs: number | null; isClarifying: boolean }
  | { kind: 'notice'; notice: string }
  | null;

const NOTICE_LABELS: Record<string, string> = {
  handover_requested: 'hand-over requested',
  operator_joined: 'operator joined',
  conversation_ended: 'conversation ended',
  handed_back: 'handed back to the AI',
};

const EVENT_LABELS: Record<string, string> = {
  taken_over: 'took over the conversation',
  released: 'handed the conversation back to the AI',
  resolved: 'resolved the conversation',
};

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** What produced an assistant message; null for customer and operator messages. */
export function producerOf(m: Message): Producer {
  const meta = m.metadata ?? {};
  const notice = str(meta.notice);
  if (notice) return { kind: 'notice', notice };
  if (m.role !== 'assistant') return null;
  if (meta.handled_by === 'faq') {
    return { kind: 'faq', knowledgeId: str(meta.knowledge_id), question: str(meta.knowledge_question), score: num(meta.score) };
  }
  return { kind: 'ai', model: str(meta.model), latencyMs: num(meta.latency_ms), isClarifying: meta.clarifying === true };
}

export function noticeLabel(notice: string): string {
  return NOTICE_LABELS[notice] ?? notice.replace(/_/g, ' ');
}

/** A score in 0–1 as a percentage; any other (raw retrieval) score with two decimals. */
export function formatScore(score: number | null): string {
  if (score === null) return '';
  return score >= 0 && score <= 1 ? `${Math.round(score * 100)}%` : score.toFixed(2);
}

/** The label of a system event message: the server's text, else one made from `metadata.event`. */
export function eventOf(m: Message): { event: string | null; label: string } {
  // WhatsApp's system notices [SY1]: their type names the event line (number change, identity change …).
  const system = m.metadata?.system as { type?: unknown } | undefined;
  const event = str(m.metadata?.event) ?? (system && typeof system === 'object' ? (str(system.type) ?? 'system_notice') : null);
  const who = m.operator?.name ?? 'An operator';
  const label = m.text ?? (event ? `${who} ${EVENT_LABELS[event] ?? event.replace(/_/g, ' ')}` : m.type);
  return { event, label };
}

/** A customer's reaction: its emoji (null when the customer took it back) and the id of the message it is on. */
export function reactionOf(m: Message): { emoji: string | null; targetId: string | null } | null {
  if (m.type !== 'reaction') return null;
  const reaction = m.metadata?.reaction as { message_id?: unknown; emoji?: unknown } | undefined;
  return { emoji: str(reaction?.emoji) ?? str(m.text), targetId: str(reaction?.message_id) };
}

/** One replaced version of an edited message [ED1], oldest first. */
export interface EditVersion {
  text: string | null;
  since: string;
  replaced_at: string;
}

/** The earlier versions of an edited message; empty when it was never edited (or its versions went with a delete). */
export function editsOf(m: Message): EditVersion[] {
  const edits = m.metadata?.edits;
  if (!Array.isArray(edits)) return [];
  return edits.flatMap((e) =>
    e && typeof e === 'object' && typeof e.since === 'string' && typeof e.replaced_at === 'string'
      ? [{ text: typeof e.text === 'string' ? e.text : null, since: e.since, replaced_at: e.replaced_at }]
      : [],
  );
}

export type TranscriptState = 'pending' | 'done' | 'failed' | 'unavailable';

/** A voice note's transcript and its state; a transcript present without a state is done. */
export function transcriptOf(m: Message): { state: TranscriptState | null; text: string | null } {
  const media = m.media as (Message['media'] & { transcript_status?: unknown }) | null;
  const text = media?.transcript ?? null;
  const raw = str(media?.transcript_status);
  const state = raw === 'pending' || raw === 'done' || raw === 'failed' || raw === 'unavailable' ? raw : text ? 'done' : null;
  return { state, text };
}

/** A short quote of a message (the reply preview): its text, else its kind. */
export function quoteOf(m: Message): string {
  if (m.deleted_at) return 'This message was deleted';
  if (m.text) return m.text.length > 140 ? `${m.text.slice(0, 140)}…` : m.text;
  if (m.media?.filename) return `[${m.type}] ${m.media.filename}`;
  return `[${m.type}]`;
}
