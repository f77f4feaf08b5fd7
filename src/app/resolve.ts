import type { Conversation } from '../api/types.js';
import { transition } from '../chat/conversation-state.js';
import { DomainError } from '../chat/errors.js';
import type { ConversationState } from '../chat/types.js';
import type { AuthenticatedOperator } from './authenticate.js';
import type { AppContext } from './context.js';
import { appendSystemEvent, isOwnedByOther, requireConversation, updateAndEmit } from './conversation-view.js';

/**
 * Ends the conversation: state `resolved`, no owner, and a system `event` message
 * (`metadata.event = "resolved"`); the customer's next message reopens it. Only the owner or an
 * admin may resolve an owned conversation (`owned_by_other`).
 */
export async function resolveConversation(
  ctx: Pick<AppContext, 'committer'>, actor: AuthenticatedOperator, conversationId: string, now = new Date(),
): Promise<Conversation> {
  return ctx.committer.run(async (tx) => {
    const row = await requireConversation(tx.db, conversationId);
    if (isOwnedByOther(row, actor.id) && actor.role !== 'admin') {
      throw new DomainError('owned_by_other', 'another operator owns this conversation', { operator_id: row.operator_id });
    }
    const next = transition(row.state as ConversationState, 'resolve');
    await appendSystemEvent(tx, row.id, 'resolved', `${actor.name} resolved the conversation`, actor, now);
    return updateAndEmit(tx, row.id, { state: next, operator_id: null, last_activity_at: now.toISOString() }, now);
  });
}
