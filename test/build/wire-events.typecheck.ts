/*
 * Compiled by test/build/typecheck.test.ts, never run: `tx.emit` takes an event of the wire-event
 * map (src/api/types.ts WireEvents) with the payload its type carries, and nothing else. Each
 * @ts-expect-error fails the compile when the line it marks is accepted.
 */
import type { Conversation, Message } from '../../src/api/types.js';
import type { WriteTx } from '../../src/store/group-commit.js';

export function emitsOnlyWhatTheMapCarries(tx: WriteTx, message: Message, conversation: Conversation): void {
  tx.emit({ type: 'new_message', conversation_id: message.conversation_id, payload: message });
  tx.emit({ type: 'message_updated', conversation_id: message.conversation_id, payload: message });
  tx.emit({ type: 'conversation_updated', conversation_id: conversation.conversation_id, payload: conversation });
  // @ts-expect-error a new_message carries a Message, not a Conversation
  tx.emit({ type: 'new_message', conversation_id: conversation.conversation_id, payload: conversation });
  // @ts-expect-error a conversation_updated carries a Conversation, not a Message
  tx.emit({ type: 'conversation_updated', conversation_id: message.conversation_id, payload: message });
  // @ts-expect-error a part of a Message is not a Message
  tx.emit({ type: 'message_updated', conversation_id: message.conversation_id, payload: { message_id: message.message_id } });
  // @ts-expect-error an event the map does not list
  tx.emit({ type: 'typing', conversation_id: message.conversation_id, payload: message });
}
