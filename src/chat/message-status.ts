import type { MessageStatus } from './types.js';

/** [ST1] The delivery ladder of an outbound message. `received` and `failed` are not on it. */
export const STATUS_RANK = { pending: 0, sent: 1, delivered: 2, read: 3 } as const satisfies Partial<Record<MessageStatus, number>>;

type RankedStatus = keyof typeof STATUS_RANK;

function isRanked(status: MessageStatus): status is RankedStatus {
  return status in STATUS_RANK;
}

/**
 * [ST1] The status a message moves to when `incoming` is reported while it is `current`, or null
 * when nothing changes. Status webhooks arrive late, twice and out of order, so the rules make the
 * final status depend only on which statuses were reported, never on their order:
 *
 * - On the ladder `pending < sent < delivered < read` a status only moves forward; an equal or
 *   lower one changes nothing (a late `sent` after `read`).
 * - `failed` applies only to a message still `pending` or `sent`. Once `delivered` or `read`, the
 *   customer has the message, so a late failure changes nothing.
 * - After `failed`, `delivered` or `read` moves the message forward: the provider delivered after
 *   all, and that is proof the customer has it. A `sent` after `failed` changes nothing: providers
 *   report `sent` before the failure of the same attempt, so a `sent` arriving after it is a
 *   reordered webhook, not news.
 * - `received` marks inbound messages; it never changes and is never applied.
 * - `pending` is where an outbound message starts; it is never reached by a status report.
 *
 * Retrying a failed message is a new attempt, set by the outbox, not by this function.
 */
export function nextStatus(current: MessageStatus, incoming: MessageStatus): MessageStatus | null {
  if (current === 'received' || incoming === 'received' || incoming === 'pending') return null;
  if (incoming === 'failed') return current === 'pending' || current === 'sent' ? 'failed' : null;
  if (current === 'failed') return incoming === 'delivered' || incoming === 'read' ? incoming : null;
  if (!isRanked(current) || !isRanked(incoming)) return null;
  return STATUS_RANK[incoming] > STATUS_RANK[current] ? incoming : null;
}

/** [ST1] Whether reporting `incoming` changes a message that is `current`. */
export function isStatusForward(current: MessageStatus, incoming: MessageStatus): boolean {
  return nextStatus(current, incoming) !== null;
}
