import { describe, expect, it } from 'vitest';
import {
  canOperatorTakeOver,
  canSend,
  transition,
  type Actor,
  type ConversationAction,
  type TransitionContext,
} from './conversation-state.js';
import { DomainError } from './errors.js';
import { CONVERSATION_STATES, type ConversationState } from './types.js';

const ACTIONS: readonly ConversationAction[] = ['handover', 'takeover', 'release', 'resolve', 'customer_message'];

/** Every state × action with a default context; `null` means refused with invalid_transition. */
const TABLE: Record<ConversationState, Record<ConversationAction, ConversationState | null>> = {
  ai: { handover: 'waiting', takeover: 'operator', release: null, resolve: 'resolved', customer_message: 'ai' },
  waiting: { handover: null, takeover: 'operator', release: 'ai', resolve: 'resolved', customer_message: 'waiting' },
  operator: { handover: null, takeover: null, release: 'ai', resolve: 'resolved', customer_message: 'operator' },
  resolved: { handover: null, takeover: null, release: null, resolve: null, customer_message: 'ai' },
};

function outcome(state: ConversationState, action: ConversationAction, ctx?: TransitionContext) {
  try {
    return transition(state, action, ctx);
  } catch (e) {
    if (e instanceof DomainError) return e.code;
    throw e;
  }
}

describe('transition', () => {
  for (const state of CONVERSATION_STATES) {
    for (const action of ACTIONS) {
      const expected = TABLE[state][action];
      it(`[AI3] ${state} --${action}--> ${expected ?? 'invalid_transition'}`, () => {
        expect(outcome(state, action)).toBe(expected ?? 'invalid_transition');
      });
    }
  }

  it('[AI3][AI5] with responder none a release puts an operator conversation back in the queue; nothing else is released', () => {
    expect(outcome('operator', 'release', { responder: 'none' })).toBe('waiting');
    expect(outcome('waiting', 'release', { responder: 'none' })).toBe('invalid_transition');
    expect(outcome('ai', 'release', { responder: 'none' })).toBe('invalid_transition');
    expect(outcome('operator', 'release', { responder: 'faq' })).toBe('ai');
  });

  it('[AI3] an invalid transition names the state and action', () => {
    expect(() => transition('resolved', 'release')).toThrow(
      expect.objectContaining({ code: 'invalid_transition', details: { state: 'resolved', action: 'release' } }),
    );
  });

  it('[AI3] takeover of an operator conversation needs ownership or force', () => {
    expect(outcome('operator', 'takeover', { force: true })).toBe('operator');
    expect(outcome('operator', 'takeover', { isOwner: true })).toBe('operator');
    expect(outcome('operator', 'takeover', { force: false, isOwner: false })).toBe('invalid_transition');
  });

  it('[AI3] force and ownership do not open other transitions', () => {
    const ctx = { force: true, isOwner: true };
    expect(outcome('resolved', 'takeover', ctx)).toBe('invalid_transition');
    expect(outcome('operator', 'handover', ctx)).toBe('invalid_transition');
  });

  it('[§5 none] a customer reopening a resolved conversation waits for an operator when the responder is none', () => {
    expect(transition('resolved', 'customer_message', { responder: 'none' })).toBe('waiting');
    expect(transition('resolved', 'customer_message', { responder: 'faq' })).toBe('ai');
    expect(transition('resolved', 'customer_message', { responder: 'openai' })).toBe('ai');
  });

  it('[AI3] a customer message never takes over or releases, whatever the responder', () => {
    for (const state of ['ai', 'waiting', 'operator'] as const) {
      expect(transition(state, 'customer_message', { responder: 'none' })).toBe(state);
      expect(transition(state, 'customer_message', { responder: 'faq' })).toBe(state);
    }
  });
});

describe('canOperatorTakeOver', () => {
  const alice: Actor = { id: 'op_alice', role: 'operator' };
  const boss: Actor = { id: 'op_boss', role: 'admin' };
  const ownedByBob = { state: 'operator' as const, operator_id: 'op_bob' };

  it('[§7 takeover] an unowned conversation can be taken over by anyone', () => {
    for (const state of ['ai', 'waiting'] as const) {
      expect(canOperatorTakeOver({ state, operator_id: null }, alice, false)).toEqual({ ok: true });
    }
  });

  it('[§7 takeover] the owner may take over again', () => {
    expect(canOperatorTakeOver({ state: 'operator', operator_id: 'op_alice' }, alice, false)).toEqual({ ok: true });
  });

  it('[§7 takeover] a conversation another operator owns is refused with owned_by_other', () => {
    expect(canOperatorTakeOver(ownedByBob, alice, false)).toEqual({ ok: false, code: 'owned_by_other' });
    expect(canOperatorTakeOver(ownedByBob, boss, false)).toEqual({ ok: false, code: 'owned_by_other' });
  });

  it('[§7 takeover] only an admin can force it; an operator forcing is still refused', () => {
    expect(canOperatorTakeOver(ownedByBob, boss, true)).toEqual({ ok: true });
    expect(canOperatorTakeOver(ownedByBob, alice, true)).toEqual({ ok: false, code: 'owned_by_other' });
  });

  it('[§7 takeover] a stale operator_id outside operator state does not block', () => {
    expect(canOperatorTakeOver({ state: 'waiting', operator_id: 'op_bob' }, alice, false)).toEqual({ ok: true });
  });
});

describe('canSend', () => {
  const alice: Actor = { id: 'op_alice', role: 'operator' };
  const boss: Actor = { id: 'op_boss', role: 'admin' };

  it('[§3 operator] the owning operator may send', () => {
    expect(() => canSend({ state: 'operator', operator_id: 'op_alice' }, alice)).not.toThrow();
  });

  it('[§3 operator] another operator, or an admin who has not taken over, gets not_owner', () => {
    const conv = { state: 'operator' as const, operator_id: 'op_alice' };
    expect(() => canSend(conv, { id: 'op_bob' })).toThrow(expect.objectContaining({ code: 'not_owner' }));
    expect(() => canSend(conv, boss)).toThrow(expect.objectContaining({ code: 'not_owner' }));
  });

  it('[AI3] nobody sends as an operator outside operator state: take over first', () => {
    for (const state of ['ai', 'waiting', 'resolved'] as const) {
      expect(() => canSend({ state, operator_id: 'op_alice' }, alice)).toThrow(
        expect.objectContaining({ code: 'not_owner', details: { state, operator_id: 'op_alice' } }),
      );
    }
  });
});
