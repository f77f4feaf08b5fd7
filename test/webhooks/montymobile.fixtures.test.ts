import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TEST_SECRETS } from '../support/app.js';
import {
  conversationOf,
  fixture,
  fixtureText,
  messagesWithId,
  montyTextPayload,
  sendWebhook,
  storedCounts,
  storedMessage,
} from '../support/webhook-senders.js';
import { expectIngested, journalRows, startWebhookServer, webhookDatabases, type WebhookServer } from './harness.js';

/*
 * MontyMobile webhooks (Meta's envelope re-serialised by Monty, REFERENCE §2.5) in the real wire
 * format (src/providers/montymobile/fixtures), with the x-webhook-token, through the real server.
 */

for (const database of webhookDatabases()) {
  describe(`MontyMobile webhook fixtures through HTTP on ${database.kind}`, () => {
    let server: WebhookServer;
    beforeEach(async () => {
      server = await startWebhookServer(database);
    });
    afterEach(async () => {
      await server.destroy();
    });

    async function post(payload: unknown) {
      const answer = await sendWebhook(server.url, 'montymobile', payload);
      expect(answer.status, answer.text).toBe(200);
      return answer.body;
    }

    it('[ID1][ID4] the sender is messages[].from, never contacts[0].wa_id: two senders, two contacts, two conversations', async () => {
      expect(await post(fixtureText('montymobile', 'shared-contact'))).toMatchObject({ created: 2, ignored: 0 });
      const rania = await expectIngested(server.db, 'wamid.HBgLOTYxNzAxMjM0NTYVAgASGBQzQTg5QUJDREVGMDEyMzQ1Njc4OQA=', 'montymobile');
      expect(rania).toMatchObject({ seq: 1, type: 'text', text: 'مرحبا، بدي موعد', timestamp: '2025-12-20T15:36:40.000Z' });
      expect(rania.metadata).toEqual({
        provider: 'montymobile',
        message_id: rania.message_id,
        source_message_id: rania.message_id,
      });
      const other = await expectIngested(server.db, 'wamid.HBgLOTYxNzE5OTk4ODgVAgASGBQzQTk5QUJDREVGMDEyMzQ1Njc4OQA=', 'montymobile');
      expect(other).toMatchObject({ seq: 1, text: 'Hello, price for laser?' });
      const a = await conversationOf(server.db, rania);
      const b = await conversationOf(server.db, other);
      expect(a.channel).toMatchObject({ provider: 'montymobile', external_id: '901137269746618', name: '96181000111' });
      expect(b.channel.id).toBe(a.channel.id);
      expect(a.contact).toMatchObject({ contact_key: '96170123456', wa_id: '96170123456', name: 'Rania' });
      // contacts[0] describes Rania: the second sender must not inherit her name.
      expect(b.contact).toMatchObject({ contact_key: '96171999888', wa_id: '96171999888', name: null });
      expect(a.conversation.id).not.toBe(b.conversation.id);
      expect(await journalRows(server.db)).toEqual([
        { provider: 'montymobile', body: fixtureText('montymobile', 'shared-contact'), message_count: 2, status_count: 0 },
      ]);
    });

    it("echoes of the business's own number are ignored: the display number and MONTYMOBILE_SOURCE_NUMBER", async () => {
      expect(await post(fixtureText('montymobile', 'own-number-echo'))).toMatchObject({ created: 1, ignored: 1 });
      expect(await messagesWithId(server.db, 'wamid.HBgLOTYxODEwMDAxMTEVAgARGBJFQ0hPT0ZPVVJTRU5EMDEA')).toEqual([]);
      const thanks = await expectIngested(server.db, 'wamid.HBgLOTYxNzAxMjM0NTYVAgASGBQzQUFGVEVSRUNITzAwMDAxAA==', 'montymobile');
      expect(thanks.text).toBe('Thanks!');

      const fromSource = montyTextPayload('wamid.ECHO.SOURCE', 'sent by us', `+${TEST_SECRETS.MONTYMOBILE_SOURCE_NUMBER}`);
      expect(await post(fromSource)).toMatchObject({ created: 0, ignored: 1 });
      expect(await messagesWithId(server.db, 'wamid.ECHO.SOURCE')).toEqual([]);
      expect(await storedCounts(server.db)).toMatchObject({ messages: 1, contacts: 1, webhook_journal: 2 });
    });

    it('[ID5] a message without id gets a deterministic content-hash id: the same on redelivery, also re-serialised in another key order', async () => {
      expect(await post(fixtureText('montymobile', 'missing-id'))).toMatchObject({ created: 2, duplicates: 0 });
      const rows = await server.db.selectFrom('messages').select(['message_id', 'text', 'timestamp']).orderBy('seq').execute();
      expect(rows).toHaveLength(2);
      // Same text, different timestamps: two messages, two ids.
      expect(rows.map((r) => r.text)).toEqual(['Is anyone there?', 'Is anyone there?']);
      for (const row of rows) {
        expect(row.message_id).toMatch(/^mm_[0-9a-f]{32}$/);
        await expectIngested(server.db, row.message_id, 'montymobile');
      }
      expect(rows[0]!.message_id).not.toBe(rows[1]!.message_id);

      expect(await post(fixtureText('montymobile', 'missing-id'))).toMatchObject({ created: 0, duplicates: 2 });
      const reordered = fixture('montymobile', 'missing-id');
      const value = reordered.entry[0].changes[0].value;
      value.messages = value.messages.map((m: Record<string, unknown>) => Object.fromEntries(Object.entries(m).reverse()));
      expect(await post(reordered)).toMatchObject({ created: 0, duplicates: 2 });
      expect(await server.db.selectFrom('messages').select(['message_id', 'text', 'timestamp']).orderBy('seq').execute()).toEqual(rows);
      expect((await storedCounts(server.db)).jobs).toBe(2);
    });

    it('interactive button reply: title as text, context as reply_to', async () => {
      await post(fixtureText('montymobile', 'interactive'));
      const m = await expectIngested(server.db, 'wamid.HBgLOTYxNzAxMjM0NTYVAgASGBQzQUJVVFRPTjAwMDAwMDEA', 'montymobile');
      expect(m).toMatchObject({
        type: 'interactive',
        text: 'Book a session',
        reply_to: 'wamid.HBgLOTYxNzAxMjM0NTYVAgARGBJNRU5VMDAwMDAwMDAwMQA=',
      });
      expect(m.metadata.interactive).toEqual({ type: 'button_reply', id: 'book', title: 'Book a session', description: null });
    });

    it('media by link, url or id: voice by audio.voice, photo with caption, document with filename; each with a download job', async () => {
      expect(await post(fixtureText('montymobile', 'media-links'))).toMatchObject({ created: 3 });
      const voice = await expectIngested(server.db, 'wamid.HBgLOTYxNzAxMjM0NTYVAgASGBQzQUFVRElPTElOSzAwMDEA', 'montymobile');
      expect(voice).toMatchObject({ type: 'voice', text: null });
      const photo = await expectIngested(server.db, 'wamid.HBgLOTYxNzAxMjM0NTYVAgASGBQzQUlNQUdFVVJMMDAwMDEA', 'montymobile');
      expect(photo).toMatchObject({ type: 'photo', text: 'my skin before' });
      expect(photo.media).toMatchObject({ caption: 'my skin before', mime_type: 'image/jpeg' });
      const document = await expectIngested(server.db, 'wamid.HBgLOTYxNzAxMjM0NTYVAgASGBQzQURPQ1VNRU5USUQwMDEA', 'montymobile');
      expect(document).toMatchObject({ type: 'document', text: null });
      expect(document.media).toMatchObject({ filename: 'lab-results.pdf', mime_type: 'application/pdf' });

      const sources = await server.db.selectFrom('media').select(['message_pk', 'source_ref', 'source_kind', 'sha256']).execute();
      const byMessage = new Map(sources.map((s) => [s.message_pk, s]));
      expect(byMessage.get(voice.id)).toMatchObject({
        source_ref: 'https://mmc.api.montymobile.com/media/2f1c9a7e-audio.ogg',
        source_kind: 'url',
      });
      expect(byMessage.get(photo.id)).toMatchObject({
        source_ref: 'https://mmc.api.montymobile.com/media/7d3e1b20-photo.jpg',
        source_kind: 'url',
      });
      expect(byMessage.get(document.id)).toMatchObject({
        source_ref: '1234567890123456',
        source_kind: 'provider_id',
        sha256: 'V5OPpLD/gEG6Xjg0MbmQDLFgcKsL+j5LfY4ny/pZ4MY=',
      });
      expect(await storedMessage(server.db, voice.message_id)).toMatchObject({ seq: 1 });
      expect([photo.seq, document.seq]).toEqual([2, 3]);
    });
  });
}
