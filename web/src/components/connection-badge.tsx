import type { ConnectionState } from '../use-server-events.js';

const LABELS: Record<ConnectionState, string> = { connecting: 'connecting', live: 'live', reconnecting: 'reconnecting' };

/** Whether live updates are flowing: the one SSE stream is open, or being re-established. */
export function ConnectionBadge({ state }: { state: ConnectionState }) {
  return (
    <span className={`connection connection-${state}`} data-connection={state} role="status" aria-live="polite">
      <span className="dot" aria-hidden="true" />
      {LABELS[state]}
    </span>
  );
}
