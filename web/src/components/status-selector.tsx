import { useEffect, useState } from 'react';
import { api, type OperatorStatus } from '../api.js';

const STATUSES: OperatorStatus[] = ['available', 'busy', 'away'];

/** The operator's own availability (SPEC §7 `/api/operators/me/status`). */
export function StatusSelector() {
  const [status, setStatus] = useState<OperatorStatus | null>(null);
  const [error, setError] = useState(false);

  useEffect(() => {
    api.getStatus().then(
      (r) => setStatus(r.status),
      () => setError(true),
    );
  }, []);

  const change = async (next: OperatorStatus) => {
    const previous = status;
    setStatus(next);
    setError(false);
    try {
      setStatus((await api.setStatus(next)).status);
    } catch {
      setStatus(previous);
      setError(true);
    }
  };

  return (
    <label className={`status-selector status-${status ?? 'unknown'}`} title={error ? 'Could not save the status' : undefined}>
      <span className="dot" aria-hidden="true" />
      <select
        aria-label="My status"
        value={status ?? ''}
        disabled={status === null}
        onChange={(e) => void change(e.target.value as OperatorStatus)}
      >
        {status === null && <option value="">…</option>}
        {STATUSES.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
      {error && (
        <span className="warn" aria-label="status not saved">
          !
        </span>
      )}
    </label>
  );
}
