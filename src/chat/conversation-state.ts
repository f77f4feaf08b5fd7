import { DomainError } from './errors.js';
import type { ConversationState } from './types.js';

/** What can happen to a conversation. Only operators (and the AI's hand-over) change who replies [AI3]. */
export type ConversationAction = 'handover' | 'takeover' | 'release' | 'resolve' | 'customer_message';

export type OperatorRole = 'admin' | 'operator';

export interface Actor {
  id: string;
  role: OperatorRole;
}

export interface TransitionContext {
  /** The configured responder. With `none`, a customer reopening a resolved conversation waits for an operator (§5). */
  responder?: string;
  /** takeover of an `operator` conversation: the actor already owns it, so the takeover is a no-op. */
  isOwner?: boolean;
  /** takeover of an `operator` conversation owned by someone else: an admin forced it (see `canOperatorTakeOver`). */
  force?: boolean;
}

/**
 * The state after `action`, or `invalid_transition` when the action is not allowed in `state`:
 *
 * | from \ action | handover | takeover                        | release | resolve  | customer_message               |
 * |---------------|----------|---------------------------------|---------|----------|--------------------------------|
 * | ai            | waiting  | operator                        | ✗       | resolved | ai                             |
 * | waiting       | ✗        | operator                        | ai (✗)  | resolved | waiting                        |
 * | operator      | ✗        | operator (owner, or forced)     | ai (waiting) | resolved | operator                  |
 * | resolved      | ✗        | ✗                               | ✗       | ✗        | ai (`waiting` if responder none) |
 *
 * In parentheses: with responder `none`, where no assistant would take the conversation back, a
 * release puts it in the queue (`waiting`) instead, and a waiting one has nothing to be released to.
 * A customer message never takes over or releases [AI3]; it only reopens a resolved conversation.
 * Ownership is not checked here beyond `ctx`: call `canOperatorTakeOver` first.
 */
export function transition(state: ConversationState, action: ConversationAction, ctx: TransitionContext = {}): ConversationState {
  switch (action) {
    case 'handover':
      if (state === 'ai') return 'waiting';
      break;
    case 'takeover':
      if (state === 'ai' || state === 'waiting') return 'operator';
      if (state === 'operator' && (ctx.isOwner === true || ctx.force === true)) return 'operator';
      break;
    case 'release':
      if (ctx.responder === 'none') {
        if (state === 'operator') return 'waiting';
        break;
      }
      if (state === 'operator' || state === 'waiting') return 'ai';
      break;
    case 'resolve':
      if (state !== 'resolved') return 'resolved';
      break;
    case 'customer_message':
      if (state !== 'resolved') return state;
      return ctx.responder === 'none' ? 'waiting' : 'ai';
  }
  throw new DomainError('invalid_transition', `cannot ${action} a conversation in state ${state}`, {
    state,
    action,
  });
}

/**
 * Whether `actor` may take over the conversation. A conversation owned by another operator is
 * refused with `owned_by_other`, unless an admin forces it. Taking over an unowned conversation,
 * or one the actor already owns, is always allowed here (the state rules are `transition`'s).
 */
export function canOperatorTakeOver(
  conv: { state: ConversationState; operator_id: string | null },
  actor: Actor,
  force: boolean,
): { ok: true } | { ok: false; code: 'owned_by_other' } {
  const isOwnedByOther = conv.state === 'operator' && conv.operator_id !== null && conv.operator_id !== actor.id;
  if (!isOwnedByOther || (force && actor.role === 'admin')) return { ok: true };
  return { ok: false, code: 'owned_by_other' };
}

/**
 * Throws `not_owner` unless `actor` owns the conversation: it is in `operator` state with
 * `operator_id === actor.id`. Admins get no exception: an admin who wants to write takes the
 * conversation over first (forcing it if needed), so that the customer only ever has one
 * operator replying and the AI is certainly silent [AI3].
 */
export function canSend(conv: { state: ConversationState; operator_id: string | null }, actor: Pick<Actor, 'id'>): void {
  if (conv.state === 'operator' && conv.operator_id === actor.id) return;
  throw new DomainError('not_owner', 'take over the conversation before sending', {
    state: conv.state,
    operator_id: conv.operator_id,
  });
}
