import type { Conversation } from '../api.js';
import { contactLabel, formatElapsed, formatFullTime, HANDOVER_REASON_LABELS } from '../format.js';
import { handoverQueues, waitingSince } from '../state.js';
import { useNow } from '../use-now.js';

interface Props {
  conversations: Record<string, Conversation>;
  selectedId: string | null;
  onOpen(id: string): void;
  onTakeOver(id: string): void;
}

/** Conversations waiting for an operator, AI-initiated and customer-requested apart, longest-waiting first [AI4]. */
export function HandoverQueues({ conversations, selectedId, onOpen, onTakeOver }: Props) {
  const now = useNow(10_000);
  const { userRequested, aiInitiated } = handoverQueues(conversations);
  return (
    <section className="queues" aria-label="Hand-over queues">
      <Queue
        title="Customer asked for a human"
        kind="user"
        items={userRequested}
        now={now}
        selectedId={selectedId}
        onOpen={onOpen}
        onTakeOver={onTakeOver}
      />
      <Queue
        title="AI handed over"
        kind="ai"
        items={aiInitiated}
        now={now}
        selectedId={selectedId}
        onOpen={onOpen}
        onTakeOver={onTakeOver}
      />
    </section>
  );
}

function Queue({
  title,
  kind,
  items,
  now,
  selectedId,
  onOpen,
  onTakeOver,
}: {
  title: string;
  kind: string;
  items: Conversation[];
  now: number;
  selectedId: string | null;
  onOpen(id: string): void;
  onTakeOver(id: string): void;
}) {
  return (
    <div className={`queue queue-${kind}`} data-queue={kind}>
      <h2>
        {title} <span className="count">{items.length}</span>
      </h2>
      {items.length === 0 ? (
        <p className="muted small">Nobody waiting.</p>
      ) : (
        <ul>
          {items.map((c) => {
            const since = waitingSince(c);
            return (
              <li
                key={c.conversation_id}
                data-conversation-id={c.conversation_id}
                className={c.conversation_id === selectedId ? 'selected' : undefined}
              >
                <button type="button" className="queue-open" onClick={() => onOpen(c.conversation_id)}>
                  <span className="name" dir="auto">
                    {contactLabel(c.contact)}
                  </span>
                  <span className="muted small">
                    {c.handover ? (HANDOVER_REASON_LABELS[c.handover.reason] ?? c.handover.reason) : 'new conversation'}
                    {c.handover?.note ? ` — ${c.handover.note}` : ''}
                  </span>
                </button>
                <span className="waited" title={`waiting since ${formatFullTime(since)}`}>
                  {formatElapsed(since, now)}
                </span>
                <button type="button" className="primary small" onClick={() => onTakeOver(c.conversation_id)}>
                  Take over
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
