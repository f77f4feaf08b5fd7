import type { Conversation } from '../api.js';
import { formatFullTime, HANDOVER_REASON_LABELS, STATE_LABELS } from '../format.js';
import type { Thread } from '../state.js';

/** Who the customer is and where the conversation stands. */
export function DetailsPanel({ conversation: c, thread }: { conversation: Conversation; thread: Thread | undefined }) {
  const loaded = thread ? Object.keys(thread.messages).length : 0;
  return (
    <aside className="details" aria-label="Details">
      <h2>Details</h2>
      <dl>
        <dt>Contact</dt>
        <dd>{c.contact.name ?? '—'}</dd>
        <dt>Number</dt>
        <dd>{c.contact.wa_id ? `+${c.contact.wa_id}` : '—'}</dd>
        {c.contact.user_id && (<><dt>WhatsApp user id</dt><dd className="mono">{c.contact.user_id}</dd></>)}
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
              {HANDOVER_REASON_LABELS[c.handover.reason] ?? c.handover.reason}, {formatFullTime(c.handover.at)}
              {c.handover.note && <div className="muted small">{c.handover.note}</div>}
            </dd>
          </>
        )}
        <dt>Reply window</dt>
        <dd>{c.window_expires_at ? `until ${formatFullTime(c.window_expires_at)}` : 'closed'}</dd>
        <dt>Unread</dt>
        <dd>{c.unread_count}</dd>
        <dt>Messages shown</dt>
        <dd>{loaded}{thread?.hasMore ? ' (older ones above)' : ''}</dd>
        <dt>Started</dt>
        <dd>{formatFullTime(c.created_at)}</dd>
        <dt>Conversation id</dt>
        <dd className="mono small">{c.conversation_id}</dd>
      </dl>
    </aside>
  );
}
