import type { Conversation } from '../api/types.js';
import { transition } from '../chat/conversation-state.js';
import { DomainError } from '../chat/errors.js';
import type { ConversationState } from '../chat/types.js';
import type { AuthenticatedOperator } from './authenticate.js';
import { appendNotice } from './append-notice.js';
import type { AppContext } from './context.js';
import { appendSystemEvent, isOwnedByOther, lockConversation, updateAndEmit } from './conversation-view.js';

/**
 * Ends an operator's stretch in one unit: state change, no owner, and a system `event` message
 * (`metadata.event`) marking it, and a notice to the customer in their language [AI6]: the
 * conversation ended (resolve) or is back with the assistant (release). Only the owner or an admin may end another's stretch (`owned_by_other`).
 */
async function endHumanStretch(
  ctx: Pick<AppContext, 'committer' | 'config'>,
  actor: AuthenticatedOperator,
  conversationId: string,
  now: Date,
  action: 'release' | 'resolve',
  event: string,
  text: string,
): Promise<Conversation> {
  return ctx.committer.run(async (tx) => {
    const row = await lockConversation(tx, conversationId);
    if (isOwnedByOther(row, actor.id) && actor.role !== 'admin') {
      throw new DomainError('owned_by_other', 'another operator owns this conversation', { operator_id: row.operator_id });
    }
    const next = transition(row.state as ConversationState, action, { responder: ctx.config.ai.responder });
    await appendSystemEvent(tx, row.id, event, text, actor, now);
    // Without a responder a release puts the conversation back in the queue: no assistant takes it, so the customer is told nothing.
    if (action === 'resolve' || next === 'ai')
      await appendNotice(tx, ctx.config, row, action === 'resolve' ? 'conversation_ended' : 'handed_back', {}, now);
    return updateAndEmit(tx, row.id, { state: next, operator_id: null, last_activity_at: now.toISOString() }, now);
  });
}

/**
 * Hands the conversation back to the AI [AI5]: state `ai`; the event message (`released`) enters
 * the AI's context. With AI_RESPONDER=none there is no AI to hand it to: it goes back to the queue
 * (`waiting`, unowned), where any operator can take it.
 */
export function releaseConversation(
  ctx: Pick<AppContext, 'committer' | 'config'>,
  actor: AuthenticatedOperator,
  conversationId: string,
  now = new Date(),
): Promise<Conversation> {
  const text =
    ctx.config.ai.responder === 'none'
      ? `${actor.name} put the conversation back in the queue`
      : `${actor.name} handed the conversation back to the AI`;
  return endHumanStretch(ctx, actor, conversationId, now, 'release', 'released', text);
}

/** Ends the conversation: state `resolved` (`resolved` event); the customer's next message reopens it. */
export function resolveConversation(
  ctx: Pick<AppContext, 'committer' | 'config'>,
  actor: AuthenticatedOperator,
  conversationId: string,
  now = new Date(),
): Promise<Conversation> {
  return endHumanStretch(ctx, actor, conversationId, now, 'resolve', 'resolved', `${actor.name} resolved the conversation`);
}
