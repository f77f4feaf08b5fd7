import type { Conversation } from '../api.js';
import { formatElapsed, formatFullTime, HANDOVER_REASON_LABELS, STATE_LABELS } from '../format.js';
import type { Thread } from '../state.js';
import { useNow } from '../use-now.js';

/** The 24 h window: open with the time left (live), or closed since when. */
function windowText(expiresAt: string | null, now: number): { isOpen: boolean; text: string } {
  if (!expiresAt) return { isOpen: false, text: 'not open (the customer has not written)' };
  const left = Date.parse(expiresAt) - now;
  if (left <= 0) return { isOpen: false, text: `closed ${formatElapsed(expiresAt, now)} ago` };
  const minutes = Math.floor(left / 60_000);
  return { isOpen: true, text: `open, ${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min left` };
}

/** Who the customer is and where the conversation stands. */
export function DetailsPanel({ conversation: c, thread }: { conversation: Conversation; thread: Thread | undefined }) {
  const now = useNow(15_000);
  const loaded = thread ? Object.keys(thread.messages).length : 0;
  const window24h = windowText(c.window_expires_at, now);
  // seq numbers every message of the conversation from 1: the last one's is the count.
  const total = Math.max(c.last_message?.seq ?? 0, loaded);
  return (
    <aside className="details" aria-label="Details">
      <h2>Details</h2>
      <dl>
        <dt>Contact</dt>
        <dd>{c.contact.name ?? '—'}</dd>
        <dt>Number</dt>
        <dd>{c.contact.wa_id ? `+${c.contact.wa_id}` : '—'}</dd>
        {c.contact.user_id && (
          <>
            <dt>WhatsApp user id</dt>
            <dd className="mono">{c.contact.user_id}</dd>
          </>
        )}
        <dt>Language</dt>
        <dd data-field="language">{c.contact.language ?? 'not detected yet'}</dd>
        <dt>Channel</dt>
        <dd>{c.channel.name ? `${c.channel.name} (${c.channel.provider})` : c.channel.provider}</dd>
        <dt>State</dt>
        <dd data-field="state">{STATE_LABELS[c.state] ?? c.state}</dd>
        <dt>Operator</dt>
        <dd data-field="operator">{c.operator?.name ?? '—'}</dd>
        {c.handover && (
          <>
            <dt>Hand-over</dt>
            <dd>
              <span data-field="handover">{HANDOVER_REASON_LABELS[c.handover.reason] ?? c.handover.reason}</span>
              <div className="small">
                {formatFullTime(c.handover.at)} ({formatElapsed(c.handover.at, now)} ago)
              </div>
              {c.handover.note && <div className="muted small">{c.handover.note}</div>}
            </dd>
          </>
        )}
        <dt>24 h reply window</dt>
        <dd data-field="window" data-window={window24h.isOpen ? 'open' : 'closed'}>
          <span className={window24h.isOpen ? undefined : 'closed-text'}>{window24h.text}</span>
          {c.window_expires_at && (
            <div className="muted small">
              {window24h.isOpen ? 'until' : 'since'} {formatFullTime(c.window_expires_at)}
            </div>
          )}
        </dd>
        <dt>Messages / unread</dt>
        <dd data-field="counts">
          {total} / {c.unread_count}
        </dd>
        <dt>Loaded here</dt>
        <dd>
          {loaded}
          {thread?.hasMore ? ' (older ones above)' : ''}
        </dd>
        <dt>Started</dt>
        <dd>{formatFullTime(c.created_at)}</dd>
        <dt>Conversation id</dt>
        <dd className="mono small">{c.conversation_id}</dd>
      </dl>
    </aside>
  );
}
