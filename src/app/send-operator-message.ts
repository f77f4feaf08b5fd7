import { presentMessage } from '../api/present.js';
import type { Message } from '../api/types.js';
import { canSend } from '../chat/conversation-state.js';
import { DomainError, isDomainError } from '../chat/errors.js';
import type { ConversationState, Provider } from '../chat/types.js';
import { assertWindowOpen } from '../chat/window.js';
import { completeParts } from '../store/conversation.store.js';
import { findMessageByClientKey } from '../store/message.store.js';
import type { MessageRow } from '../store/schema.js';
import type { AuthenticatedOperator } from './authenticate.js';
import type { AppContext } from './context.js';
import { appendOutbound } from './append-outbound.js';
import { requireConversation } from './conversation-view.js';


export interface OperatorMessageInput {
  text: string;
  /** `Idempotency-Key` header, else the body's `client_message_id`; null for no idempotency. */
  idempotencyKey: string | null;
}

export interface SentMessage {
  message: Message;
  /** false when the idempotency key named a message stored earlier: that message is returned. */
  created: boolean;
}

function replay(existing: MessageRow, text: string): SentMessage {
  if (existing.text !== text) {
    throw new DomainError('conflict', 'this idempotency key was used for a different message', { message_id: existing.message_id });
  }
  return { message: presentMessage(existing), created: false };
}

/**
 * An operator's text message [OUT1][OUT2]. Only the owning operator of an `operator` conversation
 * may send (`not_owner`), and only inside the 24 h window (`window_closed`, checked before anything
 * is stored). The message is stored `pending` with a generated id [ID3][ID6] and its `outbox.send`
 * job in the same unit. The idempotency key is the message's `client_key`, unique per conversation
 * in the database: a repeat returns the stored message and queues nothing, also when two repeats
 * race (the loser of the unique index reads the winner back).
 */
export async function sendOperatorMessage(
  ctx: Pick<AppContext, 'committer' | 'store'>, actor: AuthenticatedOperator, conversationId: string, input: OperatorMessageInput, now = new Date(),
): Promise<SentMessage> {
  const key = input.idempotencyKey;
  try {
    return await ctx.committer.run(async (tx) => {
      if (key !== null) {
        const existing = await findMessageByClientKey(tx.db, conversationId, key);
        if (existing) return replay(existing, input.text);
      }
      const row = await requireConversation(tx.db, conversationId);
      canSend({ state: row.state as ConversationState, operator_id: row.operator_id }, actor);
      assertWindowOpen(row.last_inbound_at ? new Date(row.last_inbound_at) : null, now);
      const { channel } = await completeParts(tx.db, row);
      const message = await appendOutbound(tx, row.id, channel.provider as Provider, {
        role: 'operator', type: 'text', text: input.text, media: null, operator: { id: actor.id, name: actor.name },
        reply_to: null, metadata: {}, client_key: key,
      }, now);
      return { message: presentMessage(message), created: true };
    });
  } catch (err) {
    // A concurrent repeat that lost the race on the (conversation, client_key) index.
    if (key !== null && !isDomainError(err)) {
      const existing = await findMessageByClientKey(ctx.store.reader, conversationId, key);
      if (existing) return replay(existing, input.text);
    }
    throw err;
  }
}
