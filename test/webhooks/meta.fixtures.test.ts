import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { updateConversation } from '../../src/store/conversation.store.js';
import { metaTextPayload } from '../support/app.js';
import {
  conversationOf,
  eventRows,
  fixture,
  fixtureText,
  jobRows,
  messagesWithId,
  META_BUSINESS,
  metaEnvelope,
  sendWebhook,
  storedCounts,
  storedMessage,
} from '../support/webhook-senders.js';
import { expectIngested, journalRows, startWebhookServer, webhookDatabases, type WebhookServer } from './harness.js';

/*
 * Meta Cloud API webhooks in the real wire format (src/providers/meta/fixtures, REFERENCE §1.5–1.8),
 * signed and posted to the real server; the stored rows are read back field by field.
 */

const TEXT_ID = 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=';
const BUSINESS_MESSAGE = 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJCVVNJTkVTU01TRzAwMDAxAA==';

for (const database of webhookDatabases()) {
  describe(`Meta webhook fixtures through HTTP on ${database.kind}`, () => {
    let server: WebhookServer;
    beforeEach(async () => {
      server = await startWebhookServer(database);
    });
    afterEach(async () => {
      await server.destroy();
    });

    async function post(name: string) {
      const answer = await sendWebhook(server.url, 'meta', fixtureText('meta', name));
      expect(answer.status, answer.text).toBe(200);
      return answer.body;
    }

    it('[ID1][ID4][IN1] a text message: every stored field, its contact, channel, conversation, journal, AI job and events', async () => {
      expect(await post('text')).toMatchObject({ status: 'ok', created: 1, duplicates: 0, ignored: 0 });
      const m = await expectIngested(server.db, TEXT_ID, 'meta');
      expect(m).toMatchObject({
        seq: 1,
        type: 'text',
        text: 'Does it come in another color?',
        media: null,
        error: null,
        reply_to: null,
        operator_name: null,
        timestamp: '2025-06-08T20:59:43.000Z',
      });
      expect(m.metadata).toEqual({ provider: 'meta', message_id: TEXT_ID, source_message_id: TEXT_ID });

      const { conversation, contact, channel } = await conversationOf(server.db, m);
      expect(channel).toMatchObject({ provider: 'meta', external_id: '106540352242922', name: '15550783881' });
      expect(contact).toMatchObject({ contact_key: '16505551234', wa_id: '16505551234', user_id: null, name: 'Sheena Nelson' });
      // The window runs from the customer's own timestamp (in the past here, so not clamped).
      expect(conversation).toMatchObject({ state: 'ai', unread_count: 1, last_seq: 1, last_inbound_at: '2025-06-08T20:59:43.000Z' });

      expect(await journalRows(server.db)).toEqual([
        { provider: 'meta', body: fixtureText('meta', 'text'), message_count: 1, status_count: 0 },
      ]);
      const [update] = await eventRows(server.db, 'conversation_updated');
      expect(update!.payload).toMatchObject({
        conversation_id: conversation.id,
        channel: { id: channel.id, provider: 'meta', name: '15550783881' },
        contact: { wa_id: '16505551234', name: 'Sheena Nelson', user_id: null },
        state: 'ai',
        unread_count: 1,
        last_message: { message_id: TEXT_ID, seq: 1 },
      });
      expect(await storedCounts(server.db)).toEqual({
        webhook_journal: 1,
        messages: 1,
        events: 2,
        jobs: 1,
        media: 0,
        contacts: 1,
        conversations: 1,
        channels: 1,
      });
    });

    it('[ID1] audio with voice=true is a voice note: message stored at once with media pending, a media row and a download job', async () => {
      await post('audio-voice');
      const m = await expectIngested(server.db, 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ2QUFVRElPVk9JQ0UwMQA=', 'meta');
      expect(m).toMatchObject({ type: 'voice', text: null });
      expect(m.media).toMatchObject({ mime_type: 'audio/ogg; codecs=opus', status: 'pending', caption: null, filename: null });
      const media = await server.db.selectFrom('media').selectAll().executeTakeFirstOrThrow();
      expect(media).toMatchObject({
        source_ref: '1827384950011223',
        source_kind: 'provider_id',
        sha256: '2l4p3gSpd0wE6h2BdEjK9Q1xGUC3gHfxuYTYCgRZlQo=',
        mime_type: 'audio/ogg; codecs=opus',
        status: 'pending',
        message_pk: m.id,
      });
      const [event] = await eventRows(server.db, 'new_message');
      expect(event!.payload.media).toMatchObject({ status: 'pending', url: `/api/media/${m.media!.media_id}` });
    });

    it('audio with voice=false is an audio file', async () => {
      await post('audio-file');
      const m = await expectIngested(server.db, 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ2QUFVRElPRklMRTAxAA==', 'meta');
      expect(m).toMatchObject({ type: 'audio', text: null });
      expect(m.media).toMatchObject({ mime_type: 'audio/mpeg' });
    });

    it('image is a photo with its caption as text; video keeps its caption too', async () => {
      await post('image');
      const photo = await expectIngested(server.db, TEXT_ID, 'meta');
      expect(photo).toMatchObject({ type: 'photo', text: 'Taj Mahal' });
      expect(photo.media).toMatchObject({ mime_type: 'image/jpeg', caption: 'Taj Mahal', filename: null });
      await post('video');
      const video = await expectIngested(server.db, 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ2QVZJREVPMDAwMDAwMQA=', 'meta');
      expect(video).toMatchObject({ type: 'video', text: 'Unboxing', seq: 2 });
      expect(video.media).toMatchObject({ mime_type: 'video/mp4', caption: 'Unboxing' });
      const sources = await server.db.selectFrom('media').select(['source_ref', 'source_kind']).orderBy('created_at').execute();
      expect(sources.map((s) => s.source_ref).sort()).toEqual(['1003383421387256', '1554433221100998']);
    });

    it('document keeps its filename and caption', async () => {
      await post('document');
      const m = await expectIngested(server.db, TEXT_ID, 'meta');
      expect(m).toMatchObject({ type: 'document', text: 'my receipt' });
      expect(m.media).toMatchObject({ filename: 'receipt.pdf', caption: 'my receipt', mime_type: 'application/pdf' });
      expect(await server.db.selectFrom('media').select('sha256').executeTakeFirst()).toEqual({
        sha256: 'V5OPpLD/gEG6Xjg0MbmQDLFgcKsL+j5LfY4ny/pZ4MY=',
      });
    });

    it('sticker is stored with its media and the animated flag', async () => {
      await post('sticker');
      const m = await expectIngested(server.db, 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ2QVNUSUNLRVIwMDAwMQA=', 'meta');
      expect(m).toMatchObject({ type: 'sticker', text: null });
      expect(m.metadata.animated).toBe(true);
      expect(m.media).toMatchObject({ mime_type: 'image/webp' });
    });

    it('location: name (or nothing) as text, the coordinates in metadata', async () => {
      await post('location');
      const named = await expectIngested(server.db, 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ2QUxPQ0FUSU9OMDAwMQA=', 'meta');
      expect(named).toMatchObject({ type: 'location', text: 'Meta Headquarters', media: null });
      expect(named.metadata.location).toEqual({
        latitude: 37.483307,
        longitude: -122.148981,
        name: 'Meta Headquarters',
        address: '1 Hacker Way, Menlo Park, CA 94025',
        url: 'https://www.meta.com',
      });
      const bare = await expectIngested(server.db, 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ2QUxPQ0FUSU9OMDAwMgA=', 'meta');
      expect(bare).toMatchObject({ type: 'location', text: null, seq: named.seq + 1 });
      expect(bare.metadata.location).toEqual({ latitude: 33.8938, longitude: 35.5018, name: null, address: null, url: null });
    });

    it('contacts: the shared cards are kept whole, their names as text', async () => {
      await post('contacts');
      const m = await expectIngested(server.db, 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ2QUNPTlRBQ1RTMDAwMQA=', 'meta');
      expect(m).toMatchObject({ type: 'contacts', text: 'Barbara J. Johnson, Omar Haddad' });
      const sent = fixture('meta', 'contacts').entry[0].changes[0].value.messages[0].contacts;
      expect(m.metadata.contacts).toEqual(sent);
    });

    it('interactive button and list replies: the title as text, the tapped message as reply_to', async () => {
      await post('interactive-button-reply');
      const button = await expectIngested(server.db, 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ2QUJVVFRPTlJFUExZMDEA', 'meta');
      expect(button).toMatchObject({ type: 'interactive', text: 'Talk to a person', reply_to: BUSINESS_MESSAGE });
      expect(button.metadata.interactive).toEqual({
        type: 'button_reply',
        id: 'talk_to_human',
        title: 'Talk to a person',
        description: null,
      });
      await post('interactive-list-reply');
      const list = await expectIngested(server.db, 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ2QUxJU1RSRVBMWTAwMQA=', 'meta');
      expect(list).toMatchObject({ type: 'interactive', text: 'Medium', reply_to: BUSINESS_MESSAGE });
      expect(list.metadata.interactive).toEqual({ type: 'list_reply', id: 'size_m', title: 'Medium', description: 'Fits 38–40' });
    });

    it('template quick-reply button: its text, payload and reply_to', async () => {
      await post('button');
      const m = await expectIngested(server.db, 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ2QUJVVFRPTjAwMDAwMQA=', 'meta');
      expect(m).toMatchObject({ type: 'button', text: 'Stop promotions', reply_to: BUSINESS_MESSAGE });
      expect(m.metadata.button).toEqual({ payload: 'STOP_PROMOTIONS', text: 'Stop promotions' });
    });

    it('reactions are stored with their target; a removal (no emoji) too, marked removed', async () => {
      await post('reaction');
      const target = 'wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=';
      const added = await expectIngested(server.db, 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=', 'meta');
      expect(added).toMatchObject({ type: 'reaction', text: '👍' });
      expect(added.metadata.reaction).toEqual({ message_id: target, emoji: '👍', removed: false });
      await post('reaction-removed');
      const removed = await expectIngested(server.db, 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMQA=', 'meta');
      expect(removed).toMatchObject({ type: 'reaction', text: null });
      expect(removed.metadata.reaction).toEqual({ message_id: target, emoji: null, removed: true });
    });

    it('unsupported is stored (never dropped) with the provider error', async () => {
      await post('unsupported');
      const m = await expectIngested(server.db, 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=', 'meta');
      expect(m).toMatchObject({ type: 'unsupported', text: null, error: { code: '131051', title: 'Message type unknown' } });
      expect(m.metadata.unsupported_type).toBe('edit');
      const [event] = await eventRows(server.db, 'new_message');
      expect(event!.payload.error).toEqual({ code: '131051', title: 'Message type unknown' });
    });

    it('unknown and malformed types are stored as unsupported, each with the raw message', async () => {
      expect(await post('unknown-types')).toMatchObject({ created: 4, ignored: 0 });
      const sent = fixture('meta', 'unknown-types').entry[0].changes[0].value.messages as Record<string, unknown>[];
      const kinds: Record<string, string | null> = {};
      for (const raw of sent) {
        const m = await expectIngested(server.db, raw.id as string, 'meta');
        expect(m.type).toBe('unsupported');
        expect(m.metadata.raw).toEqual(raw);
        kinds[raw.id as string] = m.metadata.unsupported_type;
      }
      expect(Object.values(kinds)).toEqual(['order', 'image', null, 'interactive.nfm_reply']);
    });

    it('context: a swipe reply becomes reply_to; forwarded flags and a referred product are kept in metadata', async () => {
      await post('context');
      const forwarded = await storedMessage(server.db, 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ2QUZPUldBUkRFRDAwMQA=');
      expect(forwarded).toMatchObject({ reply_to: null, text: 'look at this' });
      expect(forwarded.metadata.forwarded).toBe(true);
      const chain = await storedMessage(server.db, 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ2QUZSRVFGV0QwMDAwMQA=');
      expect(chain.metadata).toMatchObject({ forwarded: true, frequently_forwarded: true });
      const reply = await expectIngested(server.db, 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ2QVNXSVBFUkVQTFkwMQA=', 'meta');
      expect(reply).toMatchObject({
        type: 'text',
        text: 'yes, that one',
        reply_to: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJPVVRCT1VORDAwMDAwMQA=',
      });
      const product = await storedMessage(server.db, 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ2QVBST0RVQ1QwMDAwMQA=');
      expect(product.reply_to).toBe('wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQVRBTE9HMDAwMDAwMQA=');
      expect(product.metadata.referred_product).toEqual({ catalog_id: 'CATALOG_ID', product_retailer_id: 'SKU-42' });
      expect((await storedCounts(server.db)).messages).toBe(4);
    });

    it('a Click-to-WhatsApp referral is kept whole in metadata', async () => {
      await post('referral');
      const m = await expectIngested(server.db, 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ2QVJFRkVSUkFMMDAwMQA=', 'meta');
      expect(m).toMatchObject({ type: 'text', text: 'I saw your ad' });
      expect(m.metadata.referral).toEqual(fixture('meta', 'referral').entry[0].changes[0].value.messages[0].referral);
    });

    it('a BSUID-only user (no phone): keyed on the BSUID, user_id kept, wa_id null, username in metadata', async () => {
      await post('bsuid-only');
      const m = await expectIngested(server.db, 'wamid.HBgLVVMuMTM0OTEyMDg2NTUzMDI3NDE5MTgVAgASGBQ2QUJTVUlEMDAwMQA=', 'meta');
      expect(m.metadata.username).toBe('jo.travels');
      const { contact } = await conversationOf(server.db, m);
      expect(contact).toMatchObject({
        contact_key: 'US.13491208655302741918',
        user_id: 'US.13491208655302741918',
        wa_id: null,
        name: 'Jo',
      });
      const [update] = await eventRows(server.db, 'conversation_updated');
      expect(update!.payload.contact).toMatchObject({ wa_id: null, user_id: 'US.13491208655302741918' });
    });

    it('a user with phone and BSUID: both kept, keyed on the phone', async () => {
      await post('bsuid-with-phone');
      const m = await expectIngested(server.db, 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ2QUJTVUlEUEhPTkUwMQA=', 'meta');
      const { contact } = await conversationOf(server.db, m);
      expect(contact).toMatchObject({ contact_key: '16505551234', wa_id: '16505551234', user_id: 'US.13491208655302741918' });
    });

    it('a BSUID user whose phone appears later keeps one contact and one conversation (and the reverse)', async () => {
      const bsuid = 'US.77001122334455667788';
      const now = String(Math.floor(Date.now() / 1000));
      const message = (id: string, sender: Record<string, unknown>) =>
        metaEnvelope([
          {
            metadata: META_BUSINESS,
            contacts: [{ profile: { name: 'Noor' }, user_id: bsuid, ...(sender.from ? { wa_id: sender.from } : {}) }],
            messages: [{ ...sender, from_user_id: bsuid, id, timestamp: now, type: 'text', text: { body: id } }],
          },
        ]);
      for (const [id, sender] of [
        ['wamid.BSUID.1', {}],
        ['wamid.BSUID.2', { from: '96171000111' }],
        ['wamid.BSUID.3', {}],
      ] as const) {
        const answer = await sendWebhook(server.url, 'meta', JSON.stringify(message(id, sender)));
        expect(answer.status, answer.text).toBe(200);
      }
      const rows = await Promise.all(
        ['wamid.BSUID.1', 'wamid.BSUID.2', 'wamid.BSUID.3'].map((id) => expectIngested(server.db, id, 'meta')),
      );
      expect(new Set(rows.map((r) => r.conversation_id)).size).toBe(1);
      expect(rows.map((r) => r.seq)).toEqual([1, 2, 3]);
      const { contact } = await conversationOf(server.db, rows[2]!);
      expect(contact).toMatchObject({ contact_key: bsuid, wa_id: '96171000111', user_id: bsuid, name: 'Noor' });
      expect((await storedCounts(server.db)).contacts).toBe(1);
    });

    it('contacts[].wa_id (the canonical number) wins over a differing from', async () => {
      await post('wa-id-differs');
      const m = await expectIngested(server.db, 'wamid.HBgMNTUxMTg4ODg3Nzc3FQIAEhgUNkFCUkFaSUwwMDAwMDEA', 'meta');
      const { contact } = await conversationOf(server.db, m);
      expect(contact).toMatchObject({ contact_key: '5511988887777', wa_id: '5511988887777', name: 'Ana Souza' });
    });

    it('[IN1] the batch fixture: every entry and change processed, other fields skipped, one journal row', async () => {
      expect(await post('batch')).toMatchObject({ created: 3, duplicates: 0, statusesApplied: 0, ignored: 1 });
      const a1 = await expectIngested(server.db, 'wamid.BATCH.A1', 'meta');
      const a2 = await expectIngested(server.db, 'wamid.BATCH.A2', 'meta');
      const b1 = await expectIngested(server.db, 'wamid.BATCH.B1', 'meta');
      expect(new Set([a1.conversation_id, a2.conversation_id, b1.conversation_id]).size).toBe(3);
      expect((await conversationOf(server.db, a2)).contact).toMatchObject({ wa_id: '447700900123', name: 'Alan Turing' });
      expect((await conversationOf(server.db, b1)).channel).toMatchObject({ external_id: '209876543210987', name: '15550001111' });
      expect(await journalRows(server.db)).toEqual([
        { provider: 'meta', body: fixtureText('meta', 'batch'), message_count: 3, status_count: 1 },
      ]);
      expect(await eventRows(server.db, 'conversation_updated')).toHaveLength(3);
    });

    it('[IN1] a large batch (2 entries × 3 changes × 4 messages + statuses) is processed whole, in order, in one journal row', async () => {
      const senders = ['96170000001', '96170000002', '96170000003'];
      const entries = [0, 1].map((e) => ({
        id: `10229012934039${e}`,
        changes: senders.map((from, c) => ({
          field: 'messages',
          value: {
            messaging_product: 'whatsapp',
            metadata: META_BUSINESS,
            contacts: [{ profile: { name: `Sender ${c}` }, wa_id: from }],
            messages: [0, 1, 2, 3].map((i) => ({
              from,
              id: `wamid.BIG.${e}.${c}.${i}`,
              timestamp: '1749420000',
              type: 'text',
              text: { body: `e${e} c${c} m${i}` },
            })),
            statuses: [{ id: `wamid.UNKNOWN.${e}.${c}`, status: 'delivered', timestamp: '1749420000', recipient_id: from }],
          },
        })),
      }));
      const answer = await sendWebhook(server.url, 'meta', { object: 'whatsapp_business_account', entry: entries });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ created: 24, duplicates: 0, ignored: 0 });
      for (const from of senders) {
        const rows = await server.db
          .selectFrom('messages')
          .innerJoin('conversations', 'conversations.id', 'messages.conversation_id')
          .innerJoin('contacts', 'contacts.id', 'conversations.contact_id')
          .where('contacts.wa_id', '=', from)
          .select(['messages.message_id', 'messages.seq'])
          .orderBy('messages.seq')
          .execute();
        const c = senders.indexOf(from);
        const expected = [0, 1].flatMap((e) => [0, 1, 2, 3].map((i) => `wamid.BIG.${e}.${c}.${i}`));
        expect(rows).toEqual(expected.map((message_id, i) => ({ message_id, seq: i + 1 })));
      }
      expect(await jobRows(server.db, 'ai.reply')).toHaveLength(24);
      expect(await eventRows(server.db, 'new_message')).toHaveLength(24);
      expect(await journalRows(server.db)).toHaveLength(1);
      expect((await journalRows(server.db))[0]).toMatchObject({ message_count: 24, status_count: 6 });
    });

    it('defective items are skipped one by one; the good ones of the same POST are stored', async () => {
      const answer = await post('defects');
      // no id, no sender, not an object, the business's own number, a status without id
      expect(answer).toMatchObject({ created: 1, ignored: 5 });
      const m = await expectIngested(server.db, 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ2QUJBRFRJTUUwMDAwMQA=', 'meta');
      expect(m.text).toBe('bad timestamp');
      // A malformed provider timestamp reads as the receipt time.
      expect(Math.abs(Date.parse(m.timestamp) - Date.now())).toBeLessThan(60_000);
      expect(await messagesWithId(server.db, 'wamid.HBgLMTU1NTA3ODM4ODEVAgASGBQ2QUVDSE8wMDAwMDAwMQA=')).toEqual([]);
      expect((await storedCounts(server.db)).messages).toBe(1);
    });

    it('[IN1] a value-level error carries no message: 200, journaled, nothing else stored', async () => {
      expect(await post('value-errors')).toMatchObject({ created: 0, ignored: 1 });
      expect(await storedCounts(server.db)).toMatchObject({ webhook_journal: 1, messages: 0, events: 0, jobs: 0, conversations: 0 });
    });

    it('[AI1][AI3] the AI job follows the state: none while an operator owns the conversation, one again once a resolved one reopens', async () => {
      await post('text');
      const { conversation_id: id } = await storedMessage(server.db, TEXT_ID);
      const setState = (state: string) =>
        server.running.ctx.committer.run((tx) => updateConversation(tx.db, id, { state }, new Date().toISOString()));
      await setState('operator');
      expect((await sendWebhook(server.url, 'meta', metaTextPayload('wamid.WHILE.OPERATOR'))).body).toMatchObject({ created: 1 });
      expect(await storedMessage(server.db, 'wamid.WHILE.OPERATOR')).toMatchObject({ conversation_id: id, role: 'user', seq: 2 });
      expect(await eventRows(server.db, 'new_message', 'wamid.WHILE.OPERATOR')).toHaveLength(1);
      expect((await jobRows(server.db, 'ai.reply')).map((j) => j.payload.message_id)).toEqual([TEXT_ID]);
      expect((await conversationOf(server.db, { conversation_id: id })).conversation.state).toBe('operator');

      await setState('resolved');
      await sendWebhook(server.url, 'meta', metaTextPayload('wamid.AFTER.RESOLVED'));
      await expectIngested(server.db, 'wamid.AFTER.RESOLVED', 'meta');
      expect((await conversationOf(server.db, { conversation_id: id })).conversation).toMatchObject({ state: 'ai', unread_count: 3 });
    });

    it('a message from a new contact in a second change of the same value list opens its own conversation', async () => {
      const payload = metaEnvelope([
        {
          metadata: META_BUSINESS,
          contacts: [{ profile: { name: 'A' }, wa_id: '111111111' }],
          messages: [{ from: '111111111', id: 'wamid.TWO.1', timestamp: '1749420000', type: 'text', text: { body: 'a' } }],
        },
        {
          metadata: META_BUSINESS,
          contacts: [{ profile: { name: 'B' }, wa_id: '222222222' }],
          messages: [{ from: '222222222', id: 'wamid.TWO.2', timestamp: '1749420000', type: 'text', text: { body: 'b' } }],
        },
      ]);
      expect((await sendWebhook(server.url, 'meta', payload)).status).toBe(200);
      const one = await expectIngested(server.db, 'wamid.TWO.1', 'meta');
      const two = await expectIngested(server.db, 'wamid.TWO.2', 'meta');
      expect(one.conversation_id).not.toBe(two.conversation_id);
      expect([one.seq, two.seq]).toEqual([1, 1]);
    });
  });

  describe(`Meta webhooks with AI_RESPONDER=none on ${database.kind}`, () => {
    let server: WebhookServer;
    beforeEach(async () => {
      server = await startWebhookServer(database, { AI_RESPONDER: 'none' });
    });
    afterEach(async () => {
      await server.destroy();
    });

    it('a new conversation starts waiting and queues no AI job; the message and its events are stored', async () => {
      expect((await sendWebhook(server.url, 'meta', fixtureText('meta', 'text'))).status).toBe(200);
      const m = await storedMessage(server.db, TEXT_ID);
      expect((await conversationOf(server.db, m)).conversation.state).toBe('waiting');
      expect(await jobRows(server.db, 'ai.reply')).toEqual([]);
      expect(await eventRows(server.db, 'new_message', TEXT_ID)).toHaveLength(1);
      expect((await eventRows(server.db, 'conversation_updated'))[0]!.payload).toMatchObject({ state: 'waiting' });
    });
  });
}
