import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateMessageId } from '../../src/chat/message-id.js';
import { appendMessage } from '../../src/store/message.store.js';
import { metaMessagesPayload } from '../support/app.js';
import { eventRows, sendWebhook, storedMessage } from '../support/webhook-senders.js';
import { startWebhookServer, webhookDatabases, type WebhookServer } from './harness.js';

/*
 * [ID7][ID9] A customer's quote (a swipe reply) or reaction names the message by the provider's id.
 * For a message we sent that is the id the provider returned (metadata.provider_message_id), not
 * our msg_… id, so the dashboard could not find what was quoted ("earlier message"). The stored
 * reply_to is this conversation's message_id when the conversation holds the message; an id it does
 * not hold stays as sent. A reaction's reply_to is the message it is on.
 */

const FROM = '96170555001';

for (const database of webhookDatabases()) {
  describe(`[ID7][ID9] quotes and reactions on ${database.kind}`, () => {
    let server: WebhookServer;
    beforeEach(async () => {
      server = await startWebhookServer(database);
    });
    afterEach(async () => {
      await server.destroy();
    });

    async function post(messages: (Record<string, unknown> & { id: string })[]): Promise<void> {
      expect((await sendWebhook(server.url, 'meta', metaMessagesPayload(FROM, 'Lina Haddad', messages))).status).toBe(200);
    }

    /** The customer's first message, and our reply to it that the provider accepted as `providerId`. */
    async function conversationWithOurReply(providerId: string): Promise<{ ours: string; first: string }> {
      await post([{ id: 'wamid.Q.first', type: 'text', text: { body: 'how much is laser?' } }]);
      const first = await storedMessage(server.db, 'wamid.Q.first');
      const ours = generateMessageId();
      await server.running.ctx.committer.run((tx) =>
        appendMessage(tx.db, first.conversation_id, {
          message_id: ours,
          role: 'assistant',
          type: 'text',
          text: 'Laser starts at $40 per session.',
          media: null,
          status: 'sent',
          error: null,
          operator_id: null,
          operator_name: null,
          reply_to: null,
          timestamp: new Date().toISOString(),
          metadata: JSON.stringify({ message_id: ours, provider_message_id: providerId }),
          provider_message_id: providerId,
          client_key: null,
        }),
      );
      return { ours, first: first.message_id };
    }

    it('a swipe reply to our message is stored with our message_id; the event carries it', async () => {
      const { ours } = await conversationWithOurReply('wamid.Q.OUT1');
      await post([
        { id: 'wamid.Q.reply', type: 'text', text: { body: 'per area?' }, context: { from: '15550783881', id: 'wamid.Q.OUT1' } },
      ]);
      const reply = await storedMessage(server.db, 'wamid.Q.reply');
      expect(reply.reply_to).toBe(ours);
      const events = await eventRows(server.db, 'new_message');
      expect(events.find((e) => e.payload.message_id === 'wamid.Q.reply')?.payload.reply_to).toBe(ours);
    });

    it("a quote of the customer's own message keeps its id; a quote the conversation does not hold stays as the provider sent it", async () => {
      const { first } = await conversationWithOurReply('wamid.Q.OUT2');
      await post([
        { id: 'wamid.Q.own', type: 'text', text: { body: 'this one' }, context: { from: FROM, id: first } },
        { id: 'wamid.Q.old', type: 'text', text: { body: 'from last year' }, context: { from: '15550783881', id: 'wamid.Q.UNKNOWN' } },
      ]);
      expect((await storedMessage(server.db, 'wamid.Q.own')).reply_to).toBe(first);
      expect((await storedMessage(server.db, 'wamid.Q.old')).reply_to).toBe('wamid.Q.UNKNOWN');
    });

    it('a reaction refers to the message it is on: reply_to is our message_id, the raw reaction stays in metadata', async () => {
      const { ours } = await conversationWithOurReply('wamid.Q.OUT3');
      await post([{ id: 'wamid.Q.react', type: 'reaction', reaction: { message_id: 'wamid.Q.OUT3', emoji: '👍' } }]);
      const reaction = await storedMessage(server.db, 'wamid.Q.react');
      expect(reaction).toMatchObject({ type: 'reaction', text: '👍', reply_to: ours });
      expect(reaction.metadata.reaction).toEqual({ message_id: 'wamid.Q.OUT3', emoji: '👍', removed: false });
    });

    it('[ID5] a redelivered quote changes nothing: same row, same reply_to, no second event', async () => {
      const { ours } = await conversationWithOurReply('wamid.Q.OUT4');
      const quote = { id: 'wamid.Q.again', type: 'text', text: { body: 'ok' }, context: { from: '15550783881', id: 'wamid.Q.OUT4' } };
      await post([quote]);
      const before = await eventRows(server.db, 'new_message');
      await post([quote]);
      expect((await storedMessage(server.db, 'wamid.Q.again')).reply_to).toBe(ours);
      expect(await eventRows(server.db, 'new_message')).toHaveLength(before.length);
      const rows = await server.db.selectFrom('messages').select('id').where('message_id', '=', 'wamid.Q.again').execute();
      expect(rows).toHaveLength(1);
    });
  });
}
