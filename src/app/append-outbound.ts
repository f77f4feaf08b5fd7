import { presentMessage } from '../api/present.js';
import { generateMessageId } from '../chat/message-id.js';
import type { Media, MessageType, Provider } from '../chat/types.js';
import type { WriteTx } from '../store/group-commit.js';
import { enqueueJob } from '../store/job.store.js';
import { appendMessage } from '../store/message.store.js';
import type { MessageRow } from '../store/schema.js';
import { updateAndEmit } from './conversation-view.js';

/** What the `outbox.send` job carries: the sender loads the message by these. */
export interface OutboxSendPayload {
  conversation_id: string;
  message_id: string;
}

/** A message we send to the customer: an operator's reply, an AI reply or a notice [AI6]. */
export interface OutboundDraft {
  role: 'operator' | 'assistant' | 'system';
  type: MessageType;
  text: string | null;
  /** Ready media stored by Switchboard (operator uploads); the sender uploads it to the provider. */
  media: Media | null;
  operator: { id: string; name: string } | null;
  /** The `message_id` this one quotes (WhatsApp reply context), or null. */
  reply_to: string | null;
  /** Extra metadata (what produced the message: `handled_by`, knowledge entry, model …). */
  metadata: Record<string, unknown>;
  /** The idempotency key [OUT2], unique per conversation; null for none. */
  client_key: string | null;
}

/**
 * Appends an outbound message in the caller's unit [OUT1]: stored `pending` with a generated id
 * [ID3][ID6] and its `outbox.send` job, `new_message` emitted, the conversation's activity moved.
 * Whoever calls it has already decided that the message may be sent (ownership, AI state [AI3], the
 * 24 h window); the sender checks the window again before each attempt.
 */
export async function appendOutbound(
  tx: WriteTx,
  conversationId: string,
  provider: Provider,
  draft: OutboundDraft,
  now: Date,
): Promise<MessageRow> {
  const messageId = generateMessageId(now);
  const { row: message } = await appendMessage(
    tx.db,
    conversationId,
    {
      message_id: messageId,
      role: draft.role,
      type: draft.type,
      text: draft.text,
      media: draft.media ? JSON.stringify(draft.media) : null,
      status: 'pending',
      error: null,
      operator_id: draft.operator?.id ?? null,
      operator_name: draft.operator?.name ?? null,
      reply_to: draft.reply_to,
      timestamp: now.toISOString(),
      metadata: JSON.stringify({ ...draft.metadata, message_id: messageId, provider }),
      provider_message_id: null,
      client_key: draft.client_key,
    },
    { regenerateId: () => generateMessageId(now) },
  );
  const payload: OutboxSendPayload = { conversation_id: conversationId, message_id: message.message_id };
  await enqueueJob(tx.db, tx.dialect, { kind: 'outbox.send', dedupe_key: `${conversationId}:${message.message_id}`, payload });
  tx.emit({ type: 'new_message', conversation_id: conversationId, payload: presentMessage(message) });
  await updateAndEmit(tx, conversationId, { last_activity_at: now.toISOString() }, now);
  return message;
}
