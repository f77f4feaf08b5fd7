import type { Store } from '../../src/store/database.js';
import type { EventType, PendingEvent } from '../../src/store/group-commit.js';
import { ensureConversation, upsertChannel, upsertContact } from '../../src/store/conversation.store.js';
import type { NewMessage } from '../../src/store/message.store.js';

export function sampleMessage(messageId: string, overrides: Partial<NewMessage> = {}): NewMessage {
  return {
    message_id: messageId,
    role: 'user',
    type: 'text',
    text: `text of ${messageId}`,
    media: null,
    status: 'received',
    error: null,
    operator_id: null,
    operator_name: null,
    reply_to: null,
    timestamp: new Date().toISOString(),
    metadata: JSON.stringify({ message_id: messageId, source_message_id: messageId, provider: 'meta' }),
    provider_message_id: null,
    client_key: null,
    ...overrides,
  };
}

/** A channel, contact and conversation ready for messages. */
export async function seedConversation(store: Store, contactKey = '96170000001'): Promise<string> {
  const now = new Date().toISOString();
  return store.db.transaction().execute(async (trx) => {
    const channel = await upsertChannel(trx, { provider: 'meta', external_id: '106540352242922', name: 'Clinic' }, now);
    const contact = await upsertContact(
      trx,
      { channel_id: channel.id, contact_key: contactKey, wa_id: contactKey, user_id: null, name: 'Rana' },
      now,
    );
    return (await ensureConversation(trx, channel.id, contact.id, 'ai', now)).row.id;
  });
}

/**
 * An event for a test of the event log's plumbing (write, tail, fan-out, resume), whose payload is
 * a marker the test reads back, not the presented Message or Conversation its type carries.
 */
export function plumbingEvent(type: EventType, conversationId: string | null, payload: Record<string, unknown>): PendingEvent {
  return { type, conversation_id: conversationId, payload } as unknown as PendingEvent;
}
