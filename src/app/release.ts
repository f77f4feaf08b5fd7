import type { Conversation } from '../api/types.js';
import { transition } from '../chat/conversation-state.js';
import { DomainError } from '../chat/errors.js';
import type { ConversationState } from '../chat/types.js';
import type { AuthenticatedOperator } from './authenticate.js';
import type { AppContext } from './context.js';
import { appendSystemEvent, isOwnedByOther, requireConversation, updateAndEmit } from './conversation-view.js';

/**
 * Hands the conversation back to the AI [AI5]: state `ai`, no owner, and a system `event` message
 * (`metadata.event = "released"`) marking the end of the human stretch, all in one unit. Only the
 * owner or an admin may release an owned conversation (`owned_by_other`).
 */
export async function releaseConversation(
  ctx: Pick<AppContext, 'committer'>, actor: AuthenticatedOperator, conversationId: string, now = new Date(),
): Promise<Conversation> {
  return ctx.committer.run(async (tx) => {
    const row = await requireConversation(tx.db, conversationId);
    if (isOwnedByOther(row, actor.id) && actor.role !== 'admin') {
      throw new DomainError('owned_by_other', 'another operator owns this conversation', { operator_id: row.operator_id });
    }
    const next = transition(row.state as ConversationState, 'release');
    await appendSystemEvent(tx, row.id, 'released', `${actor.name} handed the conversation back to the AI`, actor, now);
    return updateAndEmit(tx, row.id, { state: next, operator_id: null, last_activity_at: now.toISOString() }, now);
  });
}
