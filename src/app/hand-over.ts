import { transition } from '../chat/conversation-state.js';
import type { ConversationState, Handover, HandoverReason } from '../chat/types.js';
import type { Config } from '../config.js';
import type { Metrics } from '../http/metrics.js';
import type { WriteTx } from '../store/group-commit.js';
import type { ConversationRow } from '../store/schema.js';
import { appendNotice } from './append-notice.js';
import { updateAndEmit } from './conversation-view.js';

/**
 * Hands an `ai` conversation to the operators [AI4] in the caller's unit: state `waiting` with
 * `handover: {reason, at, note}`, `conversation_updated`, and the "someone is coming" notice in the
 * customer's language [AI6]. The caller holds the conversation's row (lockConversationRow).
 */
export async function handOver(
  tx: WriteTx,
  ctx: { config: Pick<Config, 'ai'>; metrics: Pick<Metrics, 'handovers'> },
  row: ConversationRow,
  reason: HandoverReason,
  note: string | null,
  now: Date,
): Promise<void> {
  const next = transition(row.state as ConversationState, 'handover');
  const handover: Handover = { reason, at: now.toISOString(), note };
  await appendNotice(tx, ctx.config, row, 'handover_requested', {}, now);
  await updateAndEmit(tx, row.id, { state: next, handover: JSON.stringify(handover), last_activity_at: now.toISOString() }, now);
  tx.afterCommit(() => ctx.metrics.handovers.inc({ reason }));
}
