import type { Conversation } from '../api/types.js';
import { canOperatorTakeOver, transition } from '../chat/conversation-state.js';
import { DomainError } from '../chat/errors.js';
import type { ConversationState } from '../chat/types.js';
import type { AuthenticatedOperator } from './authenticate.js';
import { appendNotice } from './append-notice.js';
import type { AppContext } from './context.js';
import { lockConversation, updateAndEmit, viewConversation } from './conversation-view.js';

/**
 * The operator takes the conversation: state `operator`, owned by them, the AI silent from this
 * commit on [AI3], and the customer told "<operator name> joined" in their language [AI6] (when the
 * 24 h window is open). A conversation another operator owns is refused with `owned_by_other`
 * unless an admin passes `force`. Taking over one's own conversation changes nothing and emits nothing.
 */
export async function takeOver(
  ctx: Pick<AppContext, 'committer' | 'config'>,
  actor: AuthenticatedOperator,
  conversationId: string,
  options: { force?: boolean } = {},
  now = new Date(),
): Promise<Conversation> {
  return ctx.committer.run(async (tx) => {
    const row = await lockConversation(tx, conversationId);
    const state = row.state as ConversationState;
    const allowed = canOperatorTakeOver({ state, operator_id: row.operator_id }, actor, options.force === true);
    if (!allowed.ok) {
      throw new DomainError('owned_by_other', 'another operator owns this conversation', { operator_id: row.operator_id });
    }
    const isOwner = state === 'operator' && row.operator_id === actor.id;
    // Permission was decided above; `force` here only lets the state rules accept an operator → operator move.
    const next = transition(state, 'takeover', { isOwner, force: true });
    if (isOwner) return viewConversation(tx.db, row);
    await appendNotice(tx, ctx.config, row, 'operator_joined', { operator_name: actor.name }, now);
    return updateAndEmit(tx, row.id, { state: next, operator_id: actor.id }, now);
  });
}
