import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { conversationOf, fixtureText, qiscusTextPayload, sendWebhook, storedCounts } from '../support/webhook-senders.js';
import { expectIngested, journalRows, startWebhookServer, webhookDatabases, type WebhookServer } from './harness.js';

/*
 * Qiscus webhooks in the real wire format (src/providers/qiscus/fixtures): the Omnichannel bot
 * webhook (REFERENCE §3.2) and the WhatsApp API forward (§3.8), posted under the secret path.
 */

const BUDI_ROOM = { room_id: '139214511', room_name: 'Budi Santoso', app_code: 'kovof-123', source: 'wa' };
const CDN = 'https://d1edrlpyc25xu0.cloudfront.net/kovof-123';

for (const database of webhookDatabases()) {
  describe(`Qiscus webhook fixtures through HTTP on ${database.kind}`, () => {
    let server: WebhookServer;
    beforeEach(async () => {
      server = await startWebhookServer(database);
    });
    afterEach(async () => {
      await server.destroy();
    });

    async function post(payload: unknown) {
      const answer = await sendWebhook(server.url, 'qiscus', payload);
      expect(answer.status, answer.text).toBe(200);
      return answer.body;
    }

    it('[ID1][ID4][IN1] the current bot webhook: unique_temp_id kept with its wa_ prefix, room.options as a JSON string, room in metadata', async () => {
      expect(await post(fixtureText('qiscus', 'bot-text-current'))).toMatchObject({ created: 1, ignored: 0 });
      const id = 'wa_wamid.HBgNNjI4MTIxNzg0NDEzMhUCABIYIDJFMEFCQkEzRkVEEN0RFRjcyNTQ0ODkwMDJDQUM4MTU2AAAxaj==';
      const m = await expectIngested(server.db, id, 'qiscus');
      expect(m).toMatchObject({
        seq: 1,
        type: 'text',
        text: 'chat postman 2',
        media: null,
        reply_to: null,
        timestamp: '2025-07-11T05:46:37.000Z',
      });
      expect(m.metadata).toEqual({
        provider: 'qiscus',
        message_id: id,
        source_message_id: id,
        qiscus: { room_id: '123', room_name: 'Harpi', app_code: 'kovof-123', source: 'wa' },
      });
      const { channel, contact, conversation } = await conversationOf(server.db, m);
      expect(channel).toMatchObject({ provider: 'qiscus', external_id: 'kovof-123', name: 'Qiscus Cloud Group' });
      // A redacted (non-numeric) sender is still a contact, keyed on its email, with no phone.
      expect(contact).toMatchObject({ contact_key: '6281xxx132', wa_id: null, name: 'Harpi' });
      expect(conversation).toMatchObject({ state: 'ai', unread_count: 1 });
      expect(await journalRows(server.db)).toEqual([
        { provider: 'qiscus', body: fixtureText('qiscus', 'bot-text-current'), message_count: 1, status_count: 0 },
      ]);
    });

    it('room.options as an object (older format) names the same channel as the string form: one conversation', async () => {
      await post(fixtureText('qiscus', 'options-object'));
      const object = await expectIngested(server.db, 'wa_wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFDNBT1BUSU9OU09CSkVDVDAwMDEA', 'qiscus');
      expect(object).toMatchObject({ type: 'text', text: 'options as an object', seq: 1 });
      expect(object.metadata.qiscus).toEqual(BUDI_ROOM);
      await post(fixtureText('qiscus', 'attachment-photo'));
      const string = await expectIngested(server.db, 'wa_wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFDNBUEhPVE8wMDAwMDAwMDAwMDEA', 'qiscus');
      expect(string).toMatchObject({ conversation_id: object.conversation_id, seq: 2 });
      const { channel, contact } = await conversationOf(server.db, object);
      // [ID10] keyed by the app code, not channel_details.channel_id (963).
      expect(channel).toMatchObject({ external_id: 'kovof-123', name: 'Qiscus Cloud Group' });
      expect(contact).toMatchObject({ contact_key: '6281234567890', wa_id: '6281234567890', name: 'Budi Santoso' });
      expect(await storedCounts(server.db)).toMatchObject({ channels: 1, contacts: 1, conversations: 1, messages: 2 });
    });

    it('a cut-off room.options string still stores the message: id_str as id, the app code as channel, the ISO timestamp', async () => {
      await post(fixtureText('qiscus', 'options-bad-json'));
      const m = await expectIngested(server.db, '98765432', 'qiscus');
      expect(m).toMatchObject({ text: 'options cut short', timestamp: '2025-07-12T08:00:00.000Z' });
      expect((await conversationOf(server.db, m)).channel).toMatchObject({ external_id: 'kovof-123', name: 'Qiscus 123' });
    });

    it('[ID10] the older format with a numeric message id: no app_code in it, so the configured QISCUS_APP_CODE is the channel', async () => {
      await post(fixtureText('qiscus', 'bot-text-old-with-id'));
      const m = await expectIngested(server.db, '15167020', 'qiscus');
      expect(m).toMatchObject({ text: 'ini pesan', timestamp: '2019-02-04T04:49:47.000Z' });
      expect(m.metadata.qiscus).toEqual({ room_id: '1', room_name: 'ini grup', app_code: null, source: 'wa' });
      expect((await conversationOf(server.db, m)).channel).toMatchObject({ external_id: 'kovof-123', name: 'Wa Pertama' });
    });

    it('file_attachment: photo and video by extension with their captions, each with a download job of the URL', async () => {
      await post(fixtureText('qiscus', 'attachment-photo'));
      const photo = await expectIngested(server.db, 'wa_wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFDNBUEhPVE8wMDAwMDAwMDAwMDEA', 'qiscus');
      expect(photo).toMatchObject({ type: 'photo', text: 'Tess' });
      expect(photo.media).toMatchObject({ mime_type: 'image/jpeg', caption: 'Tess', filename: '1669774321_85-b9ab-85f06236_2069.jpg' });
      await post(fixtureText('qiscus', 'attachment-video'));
      const video = await expectIngested(server.db, 'wa_wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFDNBVklERU8wMDAwMDAwMDAwMDEA', 'qiscus');
      expect(video).toMatchObject({ type: 'video', text: 'look' });
      expect(video.media).toMatchObject({ mime_type: 'video/mp4', caption: 'look' });
      const media = await server.db.selectFrom('media').select(['message_pk', 'source_ref', 'source_kind']).orderBy('message_pk').execute();
      expect(media).toEqual([
        { message_pk: photo.id, source_ref: `${CDN}/image/upload/1669774321_85-b9ab-85f06236_2069.jpg`, source_kind: 'url' },
        { message_pk: video.id, source_ref: `${CDN}/video/upload/1752307203_clip.MP4`, source_kind: 'url' },
      ]);
    });

    it('file_attachment audio is detected from the file: .ogg, a PTT name without extension, .mp3 — the [file] marker is no text', async () => {
      await post(fixtureText('qiscus', 'attachment-voice-ogg'));
      await post(fixtureText('qiscus', 'attachment-voice-ptt'));
      await post(fixtureText('qiscus', 'attachment-audio-mp3'));
      const ogg = await expectIngested(server.db, 'wa_wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFDNBVk9JQ0UwMDAwMDAwMDAwMDEA', 'qiscus');
      expect(ogg).toMatchObject({ type: 'voice', text: null });
      expect(ogg.media).toMatchObject({ mime_type: 'audio/ogg', filename: '1752307200_voice-note.ogg' });
      const ptt = await expectIngested(server.db, 'wa_wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFDNBUFRUMDAwMDAwMDAwMDAwMDEA', 'qiscus');
      expect(ptt).toMatchObject({ type: 'voice', text: null });
      const mp3 = await expectIngested(server.db, 'wa_wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFDNBTVAzMDAwMDAwMDAwMDAwMDEA', 'qiscus');
      expect(mp3).toMatchObject({ type: 'voice', text: null });
      expect(mp3.media).toMatchObject({ mime_type: 'audio/mpeg', filename: '1752307202_song.mp3' });
      expect([ogg.seq, ptt.seq, mp3.seq]).toEqual([1, 2, 3]);
    });

    it('file_attachment of another kind is a document with its decoded filename', async () => {
      await post(fixtureText('qiscus', 'attachment-document'));
      const m = await expectIngested(server.db, 'wa_wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFDNBRE9DVU1FTlQwMDAwMDAwMDEA', 'qiscus');
      expect(m).toMatchObject({ type: 'document', text: null });
      expect(m.media).toMatchObject({ filename: '1752307204_Invoice July 2025.pdf', mime_type: 'application/pdf' });
    });

    it('location: coordinates in metadata, the place name as text', async () => {
      await post(fixtureText('qiscus', 'location'));
      const m = await expectIngested(server.db, 'wa_wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFDNBTE9DQVRJT04wMDAwMDAwMDEA', 'qiscus');
      expect(m).toMatchObject({ type: 'location', text: 'Monumen Nasional', media: null });
      expect(m.metadata.location).toEqual({
        latitude: -6.175392,
        longitude: 106.827153,
        name: 'Monumen Nasional',
        address: 'Gambir, Central Jakarta',
        url: null,
      });
    });

    it('an unknown type is stored as unsupported with its text (never dropped)', async () => {
      await post(fixtureText('qiscus', 'unknown-type'));
      const m = await expectIngested(server.db, 'wa_wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFDNBQlVUVE9OUzAwMDAwMDAwMDEA', 'qiscus');
      expect(m).toMatchObject({ type: 'unsupported', text: 'Choose one' });
      expect(m.metadata).toMatchObject({ unsupported_type: 'buttons', unsupported_reason: 'unknown type', qiscus: BUDI_ROOM });
    });

    it('admin/bot and agent messages, REST posts and the New Session webhook are acknowledged and journaled, never stored as messages', async () => {
      for (const name of ['admin-message', 'agent-message', 'post-comment-rest', 'new-session']) {
        expect(await post(fixtureText('qiscus', name)), name).toMatchObject({ created: 0, ignored: 1 });
      }
      // An agent who writes in a WhatsApp room under another case of the same address is still staff.
      expect(await post(qiscusTextPayload('agent-2', 'Halo!', { email: 'Dewi@Mail.com' }))).toMatchObject({ created: 0, ignored: 1 });
      expect(await storedCounts(server.db)).toEqual({
        webhook_journal: 5,
        messages: 0,
        events: 0,
        jobs: 0,
        media: 0,
        contacts: 0,
        conversations: 0,
        channels: 0,
      });
      // The customer's own message in the same room is stored.
      expect(await post(qiscusTextPayload('wa_wamid.CUSTOMER', 'Halo juga'))).toMatchObject({ created: 1 });
      await expectIngested(server.db, 'wa_wamid.CUSTOMER', 'qiscus');
    });

    it('the older documented format without any message id is acknowledged and journaled, but has no id to store under', async () => {
      expect(await post(fixtureText('qiscus', 'bot-text-old'))).toMatchObject({ created: 0, ignored: 1 });
      expect(await storedCounts(server.db)).toMatchObject({ webhook_journal: 1, messages: 0 });
    });

    it("[ID1][ID10] the WhatsApp API forward: Meta's value at top level, the wamid as id, its app_code as channel (channel_id in metadata)", async () => {
      await post(fixtureText('qiscus', 'wa-forward-text'));
      const text = await expectIngested(server.db, 'wamid.HBgMNjI4MTU3OTA5MDgwFQIAEhgWM0VCMDU4Njc4NzhFMUEzQzQxQUU1RAA=', 'qiscus');
      expect(text).toMatchObject({ type: 'text', text: 'Hi Qiscus', timestamp: '2023-09-13T15:32:49.000Z' });
      expect(text.metadata.qiscus).toEqual({ app_code: 'ramo-29lxxxxxxxxpsaio', channel_id: '700' });
      expect(await conversationOf(server.db, text)).toMatchObject({
        channel: { provider: 'qiscus', external_id: 'ramo-29lxxxxxxxxpsaio', name: '6282xxxxxx902' },
        contact: { wa_id: '6281xxxxxx80', name: 'Andrianto Anggoro' },
      });
      await post(fixtureText('qiscus', 'wa-forward-image'));
      const photo = await expectIngested(server.db, 'wamid.HBgMNjI4MTU3OTA5MDgwFQIAEhgWM0VCMDlNQUdFMDAwMDAwMDAwMDAxAA==', 'qiscus');
      expect(photo).toMatchObject({ type: 'photo', text: null });
      expect(await server.db.selectFrom('media').select(['source_ref', 'source_kind']).execute()).toEqual([
        { source_ref: '1318441935583459', source_kind: 'provider_id' },
      ]);
    });
  });
}
