import { presentMessage } from '../api/present.js';
import type { Message } from '../api/types.js';
import { canSend } from '../chat/conversation-state.js';
import { DomainError } from '../chat/errors.js';
import type { ConversationState } from '../chat/types.js';
import { assertWindowOpen } from '../chat/window.js';
import { enqueueJob, requeueJob } from '../store/job.store.js';
import { parseJson } from '../store/json.js';
import { findMessage, updateMessageIfStatus } from '../store/message.store.js';
import type { OutboxSendPayload } from './append-outbound.js';
import type { AuthenticatedOperator } from './authenticate.js';
import type { AppContext } from './context.js';
import { lockConversation } from './conversation-view.js';

/**
 * Sends a failed outbound message again, as a new attempt [OUT1][ST1]: it goes back to `pending`
 * without its error, its outbox entry is queued again (due now, attempts from zero), and
 * `message_updated` tells every dashboard. Same message, same `message_id` [ID7] — never a copy.
 * Only the operator who owns the conversation may (as for sending), only inside the 24 h window,
 * and only a message of ours that failed (`conflict` otherwise: a pending or sent message is not
 * sent twice; nor is one that a status webhook failed while its own send still waits for the
 * provider's answer — a retry is taken once that answer is written). A message that failed
 * `send_unconfirmed` may already be on the customer's phone: retrying it is the operator's decision.
 */
export async function retryMessage(
  ctx: Pick<AppContext, 'committer'>,
  actor: AuthenticatedOperator,
  conversationId: string,
  messageId: string,
  now = new Date(),
): Promise<Message> {
  return ctx.committer.run(async (tx) => {
    const conversation = await lockConversation(tx, conversationId);
    const message = await findMessage(tx.db, conversationId, messageId);
    if (!message) throw new DomainError('message_not_found', `no message ${messageId} in this conversation`);
    if (message.role === 'user') throw new DomainError('conflict', 'a customer message is not sent by us');
    if (message.status !== 'failed')
      throw new DomainError('conflict', `only a failed message can be retried; this one is ${message.status}`, { status: message.status });
    canSend({ state: conversation.state as ConversationState, operator_id: conversation.operator_id }, actor);
    assertWindowOpen(conversation.last_inbound_at ? new Date(conversation.last_inbound_at) : null, now);

    const updated = await updateMessageIfStatus(tx.db, message.id, 'failed', {
      status: 'pending',
      error: null,
      // No provider id until the new attempt has one: a late status for the old one must not move it.
      provider_message_id: null,
      metadata: JSON.stringify(retriedMetadata(message.metadata, message.provider_message_id, actor.id, now)),
    });
    if (!updated) throw new DomainError('conflict', 'the message changed meanwhile; reload it');
    const dedupeKey = `${conversationId}:${message.message_id}`;
    const queued = await requeueJob(tx.db, 'outbox.send', dedupeKey, now);
    if (queued === 'running') {
      // A status webhook failed it while its send still waits for the provider's answer: that
      // answer is written next, and a retry now would be overwritten by it (and sent with it).
      throw new DomainError('conflict', 'the message is still being sent; retry it once its send has ended', { status: 'failed' });
    }
    if (queued === 'missing') {
      // Its entry is gone (or was never written, e.g. an imported message): queue a new one.
      const payload: OutboxSendPayload = { conversation_id: conversationId, message_id: message.message_id };
      await enqueueJob(tx.db, tx.dialect, { kind: 'outbox.send', dedupe_key: dedupeKey, payload });
    }
    const presented = presentMessage(updated);
    tx.emit({ type: 'message_updated', conversation_id: conversationId, payload: presented });
    return presented;
  });
}

/**
 * The metadata of a message sent again: the sender's count of attempts and its last error start
 * over (OUTBOX_MAX_ATTEMPTS applies to the new try), and the provider's id of the failed attempt
 * moves to `previous_provider_message_ids`, whose statuses are ignored from then on [ST1][ID9].
 */
function retriedMetadata(raw: string | null, providerMessageId: string | null, actorId: string, now: Date): Record<string, unknown> {
  const kept = parseJson<Record<string, unknown>>(raw) ?? {};
  for (const key of ATTEMPT_KEYS) delete kept[key];
  const retries = typeof kept.retries === 'number' ? kept.retries : 0;
  const previous = Array.isArray(kept.previous_provider_message_ids) ? (kept.previous_provider_message_ids as unknown[]) : [];
  return {
    ...kept,
    send_open: false,
    retries: retries + 1,
    retried_by: actorId,
    retried_at: now.toISOString(),
    ...(providerMessageId ? { previous_provider_message_ids: [...previous, providerMessageId] } : {}),
  };
}

/** What the sender kept about the failed try (src/app/deliver-outbox.ts, SendMetadata). */
const ATTEMPT_KEYS = [
  'send_attempts',
  'last_send_error',
  'pair_limit_hits',
  'unconfirmed_resent',
  'send_started_at',
  'provider_message_id',
  'sent_at',
];
