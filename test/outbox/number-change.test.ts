import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sharedDatabases } from '../support/databases.js';
import { META_BUSINESS, metaEnvelope, sendWebhook } from '../support/webhook-senders.js';
import { openConversation, operatorSends, settled, startOutboxServer, type OutboxServer } from './support.js';

/*
 * [SY2] After Meta's `user_changed_number` system webhook, the operator's reply goes to the new
 * number (the outbox reads the contact's wa_id when it sends), through the Meta send fake.
 */

for (const database of sharedDatabases()) {
  describe(`reply after a number change on ${database.kind}`, () => {
    let server: OutboxServer;
    beforeEach(async () => {
      server = await startOutboxServer(database);
    });
    afterEach(async () => {
      await server.destroy();
    });

    it('[SY2] user_changed_number, then an operator reply: sent to the new number, in the same conversation', async () => {
      const id = await openConversation(server.url, server.admin, '96171000100');
      const answer = await sendWebhook(
        server.url,
        'meta',
        metaEnvelope([
          {
            metadata: META_BUSINESS,
            messages: [
              {
                from: '96171000100',
                id: 'wamid.SYS.NUMBER.CHANGE',
                timestamp: String(Math.floor(Date.now() / 1000)),
                type: 'system',
                system: {
                  body: 'User Customer changed from 96171000100 to 96171000199',
                  wa_id: '96171000199',
                  type: 'user_changed_number',
                  customer: '96171000100',
                },
              },
            ],
          },
        ]),
      );
      expect(answer.status, answer.text).toBe(200);
      const conversation = await server.admin.get(`/api/conversations/${id}`);
      expect(conversation.body.contact).toMatchObject({ wa_id: '96171000199' });

      const message = await operatorSends(server.admin, id, 'Noted your new number');
      expect((await settled(server, message.message_id)).status).toBe('sent');
      const sends = server.meta.sends().filter((r) => r.json!.text?.body === 'Noted your new number');
      expect(sends.map((r) => r.json!.to)).toEqual(['+96171000199']);
    });
  });
}
