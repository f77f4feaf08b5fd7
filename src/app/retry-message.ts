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
import { requireConversation } from './conversation-view.js';

/**
 * Sends a failed outbound message again, as a new attempt [OUT1][ST1]: it goes back to `pending`
 * without its error, its outbox entry is queued again (due now, attempts from zero), and
 * `message_updated` tells every dashboard. Same message, same `message_id` [ID7] — never a copy.
 * Only the operator who owns the conversation may (as for sending), only inside the 24 h window,
 * and only a message of ours that failed (`conflict` otherwise: a pending or sent message is not
 * sent twice). A message that failed `send_unconfirmed` may already be on the customer's phone:
 * retrying it is the operator's decision.
 */
export async function retryMessage(
  ctx: Pick<AppContext, 'committer'>,
  actor: AuthenticatedOperator,
  conversationId: string,
  messageId: string,
  now = new Date(),
): Promise<Message> {
  return ctx.committer.run(async (tx) => {
    const conversation = await requireConversation(tx.db, conversationId);
    const message = await findMessage(tx.db, conversationId, messageId);
    if (!message) throw new DomainError('message_not_found', `no message ${messageId} in this conversation`);
    if (message.role === 'user') throw new DomainError('conflict', 'a customer message is not sent by us');
    if (message.status !== 'failed')
      throw new DomainError('conflict', `only a failed message can be retried; this one is ${message.status}`, { status: message.status });
    canSend({ state: conversation.state as ConversationState, operator_id: conversation.operator_id }, actor);
    assertWindowOpen(conversation.last_inbound_at ? new Date(conversation.last_inbound_at) : null, now);

    const metadata = parseJson<Record<string, unknown>>(message.metadata) ?? {};
    const retries = typeof metadata.retries === 'number' ? metadata.retries : 0;
    const updated = await updateMessageIfStatus(tx.db, message.id, 'failed', {
      status: 'pending',
      error: null,
      metadata: JSON.stringify({
        ...metadata,
        send_open: false,
        retries: retries + 1,
        retried_by: actor.id,
        retried_at: now.toISOString(),
      }),
    });
    if (!updated) throw new DomainError('conflict', 'the message changed meanwhile; reload it');
    const dedupeKey = `${conversationId}:${message.message_id}`;
    if (!(await requeueJob(tx.db, 'outbox.send', dedupeKey, now))) {
      // Its entry is gone (or was never written, e.g. an imported message): queue a new one.
      const payload: OutboxSendPayload = { conversation_id: conversationId, message_id: message.message_id };
      await enqueueJob(tx.db, tx.dialect, { kind: 'outbox.send', dedupe_key: dedupeKey, payload });
    }
    const presented = presentMessage(updated);
    tx.emit({ type: 'message_updated', conversation_id: conversationId, payload: presented });
    return presented;
  });
}
