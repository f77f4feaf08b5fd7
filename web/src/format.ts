/** Display formatting. Times are shown in the browser's time zone; the server sends UTC ISO-8601. */

const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateAndTime = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

function isSameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** "14:30" today, "Mar 1, 14:30" otherwise. */
export function formatTime(iso: string | null | undefined, now = new Date()): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return isSameDay(date, now) ? timeOnly.format(date) : dateAndTime.format(date);
}

/** Date and time with seconds, for tooltips and the details panel. */
export function formatFullTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '—' : full.format(date);
}

/** "45 s", "12 min", "3 h 05 min", "2 d 4 h": how long since `iso`. */
export function formatElapsed(iso: string | null | undefined, now: number): string {
  if (!iso) return '';
  const seconds = Math.max(0, Math.floor((now - new Date(iso).getTime()) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${String(minutes % 60).padStart(2, '0')} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

export function formatBytes(size: number | null | undefined): string {
  if (size === null || size === undefined) return '';
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KB`;
  return `${(size / 1024 / 1024).toFixed(1)} MB`;
}

export const HANDOVER_REASON_LABELS: Record<string, string> = {
  user_requested: 'customer asked for a human',
  ai_requested: 'AI could not help',
  ai_failed: 'AI failed',
  sentiment: 'customer upset',
};

export const STATE_LABELS: Record<string, string> = {
  ai: 'AI',
  waiting: 'waiting',
  operator: 'operator',
  resolved: 'resolved',
};

/** The contact's display name: name, else number, else the BSUID. */
export function contactLabel(contact: { name: string | null; wa_id: string | null; user_id: string | null }): string {
  return contact.name || (contact.wa_id ? `+${contact.wa_id}` : null) || contact.user_id || 'unknown contact';
}

/**
 * A one-line preview of a message for the list: who wrote it (`AI:`, `Operator:`, nothing for the
 * customer) apart from the text, so the text can take its own direction (an Arabic preview starts at
 * the right and is cut at its end, not at its beginning).
 */
export function messagePreview(
  m: {
    type: string;
    text: string | null;
    role: string;
    status?: string;
    error?: { code: string; title: string } | null;
    deleted_at?: string | null;
  } | null,
): { who: string; text: string; failed: string | null } {
  if (!m) return { who: '', text: '', failed: null };
  // A message we wrote that the provider refused for good: the list says so, with the provider's reason.
  const failed = m.role !== 'user' && m.status === 'failed' ? (m.error ? `${m.error.code}: ${m.error.title}` : 'not sent') : null;
  if (m.deleted_at) return { who: '', text: 'This message was deleted', failed: null };
  // A notice to the customer is Switchboard's; a system event (took over, number changed) reads as its own line.
  const who =
    m.role === 'assistant' ? 'AI:' : m.role === 'operator' ? 'Operator:' : m.role === 'system' && m.type !== 'event' ? 'Switchboard:' : '';
  if (m.type === 'reaction') return { who, text: m.text ? `Reacted ${m.text}` : 'Removed a reaction', failed };
  return { who, text: m.text || `[${m.type}]`, failed };
}
