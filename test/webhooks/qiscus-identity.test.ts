import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rekeyQiscusChannels } from '../../src/store/migrations.js';
import { TEST_SECRETS } from '../support/app.js';
import { qiscusTextPayload, sendWebhook, storedCounts, storedMessage } from '../support/webhook-senders.js';
import { startWebhookServer, webhookDatabases, type WebhookServer } from './harness.js';

/*
 * [ID10] One Qiscus room is one conversation, whatever form its bot webhooks take: room.options as
 * a JSON string or an object, with or without channel_details, with or without app_code (the
 * configured QISCUS_APP_CODE then), and the WhatsApp API forward of the same customer.
 */

const DETAILS = { channel_id: 963, name: 'Qiscus Cloud Group', phone: '+62628771666489' };

/** The current bot webhook (REFERENCE §3.2) with room.options replaced, and app_code left out when asked. */
function roomWebhook(id: string, text: string, options: unknown, withAppCode = true) {
  const body: any = qiscusTextPayload(id, text);
  body.payload.room.options = options;
  if (!withAppCode) delete body.app_code;
  return body;
}

for (const database of webhookDatabases()) {
  describe(`Qiscus conversation identity on ${database.kind}`, () => {
    let server: WebhookServer;
    beforeEach(async () => {
      server = await startWebhookServer(database);
    });
    afterEach(async () => {
      await server.destroy();
    });

    async function post(body: unknown) {
      const answer = await sendWebhook(server.url, 'qiscus', body);
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body).toMatchObject({ created: 1 });
    }

    it('[ID10] options as a string and as an object, with and without channel_details, with and without app_code, and the WA forward: one channel, one conversation', async () => {
      await post(
        roomWebhook('wa_wamid.ID10.1', 'string with details', JSON.stringify({ channel: 'wa', channel_details: DETAILS, source: 'wa' })),
      );
      await post(roomWebhook('wa_wamid.ID10.2', 'object with details', { channel: 'wa', channel_details: DETAILS, source: 'wa' }));
      await post(roomWebhook('wa_wamid.ID10.3', 'object without details', { source: 'wa' }));
      await post(roomWebhook('wa_wamid.ID10.4', 'string without details', JSON.stringify({ source: 'wa' })));
      await post(
        roomWebhook('wa_wamid.ID10.5', 'no app_code', { source: 'wa', channel_details: { channel_id: 1, name: 'Wa Pertama' } }, false),
      );
      await post({
        app_code: TEST_SECRETS.QISCUS_APP_CODE,
        channel_id: 963,
        contacts: [{ profile: { name: 'Budi Santoso' }, wa_id: '6281234567890' }],
        messages: [
          {
            from: '6281234567890',
            id: 'wamid.ID10.FORWARD',
            text: { body: 'forwarded' },
            timestamp: String(Math.floor(Date.now() / 1000)),
            type: 'text',
          },
        ],
        messaging_product: 'whatsapp',
        metadata: { display_phone_number: '62628771666489', phone_number_id: '2614280515347021' },
      });

      const ids = ['wa_wamid.ID10.1', 'wa_wamid.ID10.2', 'wa_wamid.ID10.3', 'wa_wamid.ID10.4', 'wa_wamid.ID10.5', 'wamid.ID10.FORWARD'];
      const messages = await Promise.all(ids.map((id) => storedMessage(server.db, id)));
      expect(new Set(messages.map((m) => m.conversation_id)).size).toBe(1);
      expect(messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(await storedCounts(server.db)).toMatchObject({ channels: 1, contacts: 1, conversations: 1, messages: 6 });
      expect(await server.db.selectFrom('channels').select(['provider', 'external_id']).execute()).toEqual([
        { provider: 'qiscus', external_id: 'kovof-123' },
      ]);
    });

    it('[ID10] migration 0009: a channel stored under a channel_details id takes its app code, unless that key is taken', async () => {
      await post(roomWebhook('wa_wamid.ID10.OLD', 'stored before the fix', { source: 'wa', channel_details: DETAILS }));
      // As the parser before the fix left it: the channel keyed by channel_details.channel_id.
      await server.db.updateTable('channels').set({ external_id: '963' }).execute();
      await rekeyQiscusChannels(server.db);
      expect(await server.db.selectFrom('channels').select('external_id').execute()).toEqual([{ external_id: 'kovof-123' }]);

      // A second, older-keyed channel while the app code's channel exists: both stay.
      const [channel] = await server.db.selectFrom('channels').selectAll().execute();
      await server.db
        .insertInto('channels')
        .values({ ...channel!, id: 'ch_old_split', external_id: '964' })
        .execute();
      const conversation = await server.db.selectFrom('conversations').selectAll().executeTakeFirstOrThrow();
      const contact = await server.db.selectFrom('contacts').selectAll().executeTakeFirstOrThrow();
      await server.db
        .insertInto('contacts')
        .values({ ...contact, id: 'ct_old_split', channel_id: 'ch_old_split' })
        .execute();
      await server.db
        .insertInto('conversations')
        .values({ ...conversation, id: 'c_old_split', channel_id: 'ch_old_split', contact_id: 'ct_old_split' })
        .execute();
      const message = await server.db.selectFrom('messages').selectAll().executeTakeFirstOrThrow();
      const { id: _pk, ...copy } = message;
      await server.db
        .insertInto('messages')
        .values({ ...copy, conversation_id: 'c_old_split' })
        .execute();
      await rekeyQiscusChannels(server.db);
      expect(
        (await server.db.selectFrom('channels').select('external_id').orderBy('external_id').execute()).map((c) => c.external_id),
      ).toEqual(['964', 'kovof-123']);
    });
  });
}
