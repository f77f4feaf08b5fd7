import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageType } from '../../src/chat/types.js';
import { checkOggOpus } from '../../src/media/voice-note.js';
import { remuxWebmToOgg } from '../../src/media/webm-to-ogg.js';
import { metaMessageSender } from '../../src/providers/meta/meta.send.js';
import { montyMessageSender } from '../../src/providers/montymobile/montymobile.send.js';
import { qiscusMessageSender } from '../../src/providers/qiscus/qiscus.send.js';
import type { MessageSender, OutboundMessage, SendOutcome } from '../../src/providers/send.js';
import { closedPortUrl } from '../fakes/http-fake.js';
import { graphError, MetaSendFake } from '../fakes/meta-send.fake.js';
import { MontyMobileFake } from '../fakes/montymobile.fake.js';
import { QiscusSendFake } from '../fakes/qiscus-send.fake.js';
import { TEST_SECRETS } from '../support/app.js';
import { sharedDatabases } from '../support/databases.js';
import { montyTextPayload, qiscusTextPayload, sendWebhook, storedMessage } from '../support/webhook-senders.js';
import { appendMediaMessage, openConversation, operatorSends, settled, startOutboxServer, waitFor, type OutboxServer } from './support.js';

/*
 * The exact requests each provider's send client makes, against real local servers speaking the
 * provider's protocol (REFERENCE §1.9, §2.3, §3.3), and how their answers map to outcomes.
 */

const signal = () => AbortSignal.timeout(5000);
const to = { waId: '96171234567', userId: null, channelExternalId: TEST_SECRETS.META_PHONE_NUMBER_ID, roomId: '5512345' };
const base: OutboundMessage = { messageId: 'msg_20261203090000_a1b2c3d4', to, type: 'text', text: 'Hello', media: null, replyTo: null };

async function deliver(sender: MessageSender, message: OutboundMessage): Promise<SendOutcome> {
  const prepared = await sender.prepare(message, { signal: signal() });
  if ('failed' in prepared) return prepared.failed;
  return sender.send(prepared.prepared, { signal: signal() });
}

describe('Meta send client (REFERENCE §1.9, §1.12)', () => {
  let fake: MetaSendFake;
  let sender: MessageSender;
  beforeAll(async () => {
    fake = await MetaSendFake.start(TEST_SECRETS.META_ACCESS_TOKEN);
    sender = metaMessageSender({
      graphUrl: fake.graphUrl,
      accessToken: TEST_SECRETS.META_ACCESS_TOKEN,
      phoneNumberId: '999',
      timeoutMs: 2000,
    });
  });
  afterAll(() => fake.close());

  it('text with reply context: POST /{phone_number_id}/messages, bearer token, JSON body', async () => {
    const outcome = await deliver(sender, { ...base, replyTo: 'wamid.QUOTED' });
    expect(outcome).toEqual({ kind: 'accepted', providerMessageId: fake.accepted.at(-1)!.wamid });
    const request = fake.requests.at(-1)!;
    expect(request.method).toBe('POST');
    expect(request.path).toBe(`/v25.0/${TEST_SECRETS.META_PHONE_NUMBER_ID}/messages`);
    expect(request.headers.authorization).toBe(`Bearer ${TEST_SECRETS.META_ACCESS_TOKEN}`);
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.json).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '+96171234567',
      context: { message_id: 'wamid.QUOTED' },
      biz_opaque_callback_data: base.messageId,
      type: 'text',
      text: { preview_url: false, body: 'Hello' },
    });
  });

  it('a BSUID-only contact is addressed by `recipient`; a channel without a numeric id uses META_PHONE_NUMBER_ID', async () => {
    await deliver(sender, { ...base, to: { ...to, waId: null, userId: 'US.13491208655302741918', channelExternalId: 'qiscus-channel' } });
    const request = fake.requests.at(-1)!;
    expect(request.path).toBe('/v25.0/999/messages');
    expect(request.json!.recipient).toBe('US.13491208655302741918');
    expect(request.json!.to).toBeUndefined();
  });

  const mediaCases: { type: MessageType; mime: string; filename: string | null; graphType: string; media: Record<string, unknown> }[] = [
    { type: 'photo', mime: 'image/jpeg', filename: null, graphType: 'image', media: { caption: 'Our menu' } },
    {
      type: 'document',
      mime: 'application/pdf',
      filename: 'prices.pdf',
      graphType: 'document',
      media: { caption: 'Our menu', filename: 'prices.pdf' },
    },
    { type: 'voice', mime: 'audio/ogg; codecs=opus', filename: 'voice.ogg', graphType: 'audio', media: {} },
    { type: 'video', mime: 'video/mp4', filename: 'clip.mp4', graphType: 'video', media: { caption: 'Our menu' } },
  ];
  for (const c of mediaCases) {
    it(`${c.type}: uploaded by multipart to /{phone_number_id}/media, then sent by id as ${c.graphType}`, async () => {
      const bytes = Buffer.from(`bytes of a ${c.type} ${'x'.repeat(300)}`);
      const before = fake.requests.length;
      const outcome = await deliver(sender, {
        ...base,
        type: c.type,
        text: 'Our menu',
        media: { mediaId: 'md_1', bytes, mimeType: c.mime, filename: c.filename },
      });
      expect(outcome.kind).toBe('accepted');
      const [upload, send] = fake.requests.slice(before);
      expect(upload!.path).toBe(`/v25.0/${TEST_SECRETS.META_PHONE_NUMBER_ID}/media`);
      expect(upload!.headers.authorization).toBe(`Bearer ${TEST_SECRETS.META_ACCESS_TOKEN}`);
      expect(upload!.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
      expect(upload!.parts!.map((p) => [p.name, p.value])).toEqual([
        ['messaging_product', 'whatsapp'],
        ['type', c.mime],
        ['file', null],
      ]);
      const file = upload!.parts![2]!;
      expect(file.bytes!.equals(bytes)).toBe(true);
      expect(file.contentType).toBe(c.mime);
      expect(file.filename).toBe(c.filename ?? `${c.graphType}.jpeg`);
      const mediaId = send!.json![c.graphType].id;
      expect(mediaId).toMatch(/^90\d+$/);
      expect(send!.json).toEqual({
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to: '+96171234567',
        biz_opaque_callback_data: base.messageId,
        type: c.graphType,
        [c.graphType]: { id: mediaId, ...c.media },
      });
    });
  }

  it('mark as read with the typing indicator (status: read, typing_indicator.type text)', async () => {
    expect(await sender.markRead!(to, 'wamid.CUSTOMER', true, { signal: signal() })).toEqual({ kind: 'accepted', providerMessageId: null });
    expect(fake.requests.at(-1)!.json).toEqual({
      messaging_product: 'whatsapp',
      status: 'read',
      message_id: 'wamid.CUSTOMER',
      typing_indicator: { type: 'text' },
    });
    await sender.markRead!(to, 'wamid.CUSTOMER2', false, { signal: signal() });
    expect(fake.requests.at(-1)!.json).toEqual({ messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.CUSTOMER2' });
  });

  it('answers map to outcomes: retryable 130429/131056/131057/5xx/429, permanent 131047/131026/131051/100/401', async () => {
    const cases: [ReturnType<typeof graphError>, SendOutcome['kind'], string][] = [
      [graphError(130429, 'Rate limit hit', 400), 'retryable', '130429'],
      [graphError(131056, '(Business Account, Consumer Account) pair rate limit hit', 400), 'retryable', '131056'],
      [graphError(131057, 'Account in maintenance mode', 400), 'retryable', '131057'],
      [{ status: 503, body: 'upstream down' }, 'retryable', 'http_503'],
      [
        { status: 429, body: { error: { message: 'Application request limit reached', code: 4 } }, headers: { 'retry-after': '7' } },
        'retryable',
        '4',
      ],
      [graphError(131047, 'Re-engagement message'), 'permanent', '131047'],
      [graphError(131026, 'Message undeliverable'), 'permanent', '131026'],
      [graphError(131051, 'Unsupported message type'), 'permanent', '131051'],
      [graphError(100, 'Invalid parameter'), 'permanent', '100'],
      [{ status: 401, body: { error: { message: 'Invalid OAuth access token.', code: 190 } } }, 'permanent', '190'],
    ];
    for (const [answer, kind, code] of cases) {
      fake.script('+96171234567', answer);
      const outcome = await deliver(sender, base);
      expect([outcome.kind, outcome.kind === 'accepted' ? null : outcome.error.code], JSON.stringify(answer)).toEqual([kind, code]);
    }
    fake.script('+96171234567', { status: 429, body: { error: { message: 'x', code: 80007 } }, headers: { 'retry-after': '7' } });
    expect(await deliver(sender, base)).toMatchObject({ kind: 'retryable', retryAfterMs: 7000 });
    fake.script('+96171234567', graphError(131047, 'Re-engagement message'));
    expect(await deliver(sender, base)).toEqual({ kind: 'permanent', error: { code: '131047', title: 'Re-engagement message' } });
  });

  it('refused connection and timeout are retryable; no token is not_configured', async () => {
    const refused = metaMessageSender({
      graphUrl: `${await closedPortUrl()}/v25.0`,
      accessToken: 't',
      phoneNumberId: '1',
      timeoutMs: 2000,
    });
    expect(await deliver(refused, base)).toMatchObject({ kind: 'retryable', error: { code: 'unreachable' } });
    fake.script('+96171234567', { hang: true });
    const slow = metaMessageSender({
      graphUrl: fake.graphUrl,
      accessToken: TEST_SECRETS.META_ACCESS_TOKEN,
      phoneNumberId: '1',
      timeoutMs: 200,
    });
    expect(await deliver(slow, base)).toMatchObject({ kind: 'retryable', error: { code: 'timeout' } });
    const none = metaMessageSender({ graphUrl: fake.graphUrl, accessToken: null, phoneNumberId: '1', timeoutMs: 200 });
    expect(await deliver(none, base)).toMatchObject({ kind: 'permanent', error: { code: 'not_configured' } });
  });
});

describe('MontyMobile send client (REFERENCE §2.3)', () => {
  let fake: MontyMobileFake;
  let sender: MessageSender;
  beforeAll(async () => {
    fake = await MontyMobileFake.start(TEST_SECRETS.MONTYMOBILE_TENANT, TEST_SECRETS.MONTYMOBILE_API_KEY);
    sender = montyMessageSender({
      apiUrl: fake.apiUrl,
      tenant: TEST_SECRETS.MONTYMOBILE_TENANT,
      apiKey: TEST_SECRETS.MONTYMOBILE_API_KEY,
      sourceNumber: TEST_SECRETS.MONTYMOBILE_SOURCE_NUMBER,
      mediaLink: (id) => `https://switchboard.example/media-links/${id}`,
      audioAs: 'document',
      timeoutMs: 2000,
    });
  });
  afterAll(() => fake.close());

  it('text: POST /api/v2/WhatsappApi/send-session with Tenant and api-key, upper-case type; the Monty UUID becomes the provider id', async () => {
    const outcome = await deliver(sender, { ...base, replyTo: 'wamid.QUOTED' });
    expect(outcome).toEqual({ kind: 'accepted', providerMessageId: '25b24c9a-aa68-4ea9-9494-000000000001' });
    const sent = fake.sends.at(-1)!;
    expect(sent.headers.tenant).toBe(TEST_SECRETS.MONTYMOBILE_TENANT);
    expect(sent.headers['api-key']).toBe(TEST_SECRETS.MONTYMOBILE_API_KEY);
    expect(sent.headers['content-type']).toBe('application/json');
    expect(sent.json).toEqual({ to: '96171234567', source: TEST_SECRETS.MONTYMOBILE_SOURCE_NUMBER, type: 'TEXT', text: { body: 'Hello' } });
  });

  it('media by link: IMAGE with caption; a voice note as DOCUMENT voice_message.ogg (AUDIO does not deliver)', async () => {
    const media = { mediaId: 'md_7', bytes: Buffer.from('x'), mimeType: 'image/jpeg', filename: null };
    await deliver(sender, { ...base, type: 'photo', text: 'look', media });
    expect(fake.sends.at(-1)!.json).toEqual({
      to: '96171234567',
      source: TEST_SECRETS.MONTYMOBILE_SOURCE_NUMBER,
      type: 'IMAGE',
      image: { link: 'https://switchboard.example/media-links/md_7', caption: 'look' },
    });
    await deliver(sender, { ...base, type: 'voice', text: null, media: { ...media, mimeType: 'audio/ogg; codecs=opus' } });
    expect(fake.sends.at(-1)!.json).toMatchObject({
      type: 'DOCUMENT',
      document: { link: 'https://switchboard.example/media-links/md_7', filename: 'voice_message.ogg' },
    });
    const linkless = montyMessageSender({
      apiUrl: fake.apiUrl,
      tenant: 't',
      apiKey: 'k',
      sourceNumber: null,
      mediaLink: null,
      audioAs: 'document',
      timeoutMs: 2000,
    });
    expect(await deliver(linkless, { ...base, type: 'photo', media })).toMatchObject({
      kind: 'permanent',
      error: { code: 'public_url_missing' },
    });
  });

  it('answers: 200 success:false is permanent with Monty’s message; 503 retryable; 401 permanent', async () => {
    fake.sendFailures.push('rejected', 503, 401);
    expect(await deliver(sender, base)).toEqual({
      kind: 'permanent',
      error: { code: 'rejected', title: 'Recipient is not a valid WhatsApp user' },
    });
    expect(await deliver(sender, base)).toMatchObject({ kind: 'retryable', error: { code: 'http_503' } });
    expect(await deliver(sender, base)).toMatchObject({ kind: 'permanent', error: { code: 'http_401' } });
  });
});

describe('Qiscus bot send client (REFERENCE §3.3)', () => {
  let fake: QiscusSendFake;
  beforeAll(async () => {
    fake = await QiscusSendFake.start(TEST_SECRETS.QISCUS_APP_CODE, TEST_SECRETS.QISCUS_SECRET_KEY);
  });
  afterAll(() => fake.close());
  const settings = () => ({
    apiUrl: fake.apiUrl,
    appCode: TEST_SECRETS.QISCUS_APP_CODE,
    secretKey: TEST_SECRETS.QISCUS_SECRET_KEY,
    botEmail: null,
    mediaLink: (id: string) => `https://switchboard.example/media-links/${id}`,
    timeoutMs: 2000,
  });

  it('text: POST /{app code}/bot with QISCUS_SDK_SECRET and {sender_email, message, type, room_id}', async () => {
    const outcome = await deliver(qiscusMessageSender({ ...settings(), attachmentForm: 'payload' }), base);
    expect(outcome).toEqual({ kind: 'accepted', providerMessageId: 'bq_1' });
    const sent = fake.sends.at(-1)!;
    expect(sent.path).toBe(`/${TEST_SECRETS.QISCUS_APP_CODE}/bot`);
    expect(sent.headers.qiscus_sdk_secret).toBe(TEST_SECRETS.QISCUS_SECRET_KEY);
    expect(sent.json).toEqual({
      sender_email: `${TEST_SECRETS.QISCUS_APP_CODE}_admin@qismo.com`,
      room_id: '5512345',
      message: 'Hello',
      type: 'text',
    });
  });

  it('attachments in either configured form (REFERENCE §3.9: unknown which Qiscus takes)', async () => {
    const media = { mediaId: 'md_9', bytes: Buffer.from('x'), mimeType: 'application/pdf', filename: 'a.pdf' };
    await deliver(qiscusMessageSender({ ...settings(), attachmentForm: 'payload' }), {
      ...base,
      type: 'document',
      text: 'the file',
      media,
    });
    expect(fake.sends.at(-1)!.json).toMatchObject({
      type: 'file_attachment',
      message: 'the file',
      payload: { url: 'https://switchboard.example/media-links/md_9', caption: 'the file' },
    });
    await deliver(qiscusMessageSender({ ...settings(), attachmentForm: 'top_level' }), {
      ...base,
      type: 'document',
      text: 'the file',
      media,
    });
    expect(fake.sends.at(-1)!.json).toMatchObject({
      type: 'file_attachment',
      attachment_url: 'https://switchboard.example/media-links/md_9',
      caption: 'the file',
    });
    fake.failures.push(500, 400);
    expect(await deliver(qiscusMessageSender({ ...settings(), attachmentForm: 'payload' }), base)).toMatchObject({ kind: 'retryable' });
    expect(await deliver(qiscusMessageSender({ ...settings(), attachmentForm: 'payload' }), base)).toMatchObject({
      kind: 'permanent',
      error: { code: 'http_400' },
    });
    expect(
      await deliver(qiscusMessageSender({ ...settings(), attachmentForm: 'payload' }), { ...base, to: { ...to, roomId: null } }),
    ).toMatchObject({ kind: 'permanent', error: { code: 'no_recipient' } });
  });
});

for (const database of sharedDatabases()) {
  describe(`through the server on ${database.kind}`, () => {
    let server: OutboxServer;
    let monty: MontyMobileFake;
    let qiscus: QiscusSendFake;
    beforeAll(async () => {
      monty = await MontyMobileFake.start(TEST_SECRETS.MONTYMOBILE_TENANT, TEST_SECRETS.MONTYMOBILE_API_KEY);
      qiscus = await QiscusSendFake.start(TEST_SECRETS.QISCUS_APP_CODE, TEST_SECRETS.QISCUS_SECRET_KEY);
      server = await startOutboxServer(database, { MONTYMOBILE_API_URL: monty.apiUrl, QISCUS_API_URL: qiscus.apiUrl });
    });
    afterAll(async () => {
      await server.destroy();
      await monty.close();
      await qiscus.close();
    });

    it('a voice note recorded as WebM/Opus and stored as Ogg/Opus reaches Meta as audio/ogg; codecs=opus, the same bytes', async () => {
      const id = await openConversation(server.url, server.admin, '96172000001');
      const { ogg } = remuxWebmToOgg(readFileSync(new URL('../fixtures/media/voice-chromium.webm', import.meta.url)));
      const { messageId } = await appendMediaMessage(server, id, 'meta', 'voice', ogg, 'audio/ogg; codecs=opus', 'voice.ogg', null);
      expect((await settled(server, messageId)).status).toBe('sent');
      const upload = server.meta.uploadsReceived().at(-1)!;
      const file = upload.parts!.find((p) => p.name === 'file')!;
      expect(upload.parts!.find((p) => p.name === 'type')!.value).toBe('audio/ogg; codecs=opus');
      expect(file.contentType).toBe('audio/ogg; codecs=opus');
      expect(file.bytes!.equals(ogg)).toBe(true);
      expect(file.bytes!.subarray(0, 4).toString('latin1')).toBe('OggS');
      expect(checkOggOpus(file.bytes!).channels).toBe(1);
      const send = server.meta.sends().at(-1)!;
      expect(send.json).toMatchObject({ to: '+96172000001', type: 'audio', audio: { id: expect.stringMatching(/^90/) } });
    });

    it('a document with its caption and filename', async () => {
      const id = await openConversation(server.url, server.admin, '96172000002');
      const pdf = Buffer.from('%PDF-1.4\n% a small document\n');
      const { messageId } = await appendMediaMessage(server, id, 'meta', 'document', pdf, 'application/pdf', 'prices.pdf', 'Prices');
      expect((await settled(server, messageId)).status).toBe('sent');
      const upload = server.meta.uploadsReceived().at(-1)!;
      expect(upload.parts!.find((p) => p.name === 'file')!.bytes!.equals(pdf)).toBe(true);
      expect(server.meta.sends().at(-1)!.json).toMatchObject({ type: 'document', document: { caption: 'Prices', filename: 'prices.pdf' } });
    });

    it('opening a conversation marks its latest customer message read at Meta, through a job', async () => {
      const id = await openConversation(server.url, server.admin, '96172000003', 'wamid.TO.BE.READ');
      expect((await server.admin.post(`/api/conversations/${id}/read`)).status).toBe(200);
      const read = await waitFor('mark-as-read at Meta', async () =>
        server.meta.readRequests().find((r) => r.json!.message_id === 'wamid.TO.BE.READ'),
      );
      expect(read.path).toBe(`/v25.0/${TEST_SECRETS.META_PHONE_NUMBER_ID}/messages`);
      expect(read.json).toEqual({ messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.TO.BE.READ' });
      // Nothing unread → no second call.
      await server.admin.post(`/api/conversations/${id}/read`);
      await server.running.jobs.outbox.idle();
      expect(server.meta.readRequests().filter((r) => r.json!.message_id === 'wamid.TO.BE.READ')).toHaveLength(1);
    });

    it('MontyMobile and Qiscus conversations are answered through their own APIs', async () => {
      expect((await sendWebhook(server.url, 'montymobile', montyTextPayload('wamid.MONTY.IN.1', 'hi', '96173000001'))).status).toBe(200);
      expect(
        (
          await sendWebhook(
            server.url,
            'qiscus',
            qiscusTextPayload('wa_wamid.Q.IN.1', 'halo', { email: '6281234567890', roomId: '998877' }),
          )
        ).status,
      ).toBe(200);
      for (const q of ['96173000001', '6281234567890']) {
        const list = await server.admin.get(`/api/conversations?q=${q}`);
        const id = list.body.conversations[0].conversation_id;
        await server.admin.post(`/api/conversations/${id}/takeover`);
        const message = await operatorSends(server.admin, id, `reply to ${q}`);
        const sent = await settled(server, message.message_id);
        expect(sent.status).toBe('sent');
        expect(sent.metadata.provider_message_id).toBe(sent.provider_message_id);
      }
      expect(monty.sends.at(-1)!.json).toEqual({
        to: '96173000001',
        source: TEST_SECRETS.MONTYMOBILE_SOURCE_NUMBER,
        type: 'TEXT',
        text: { body: 'reply to 96173000001' },
      });
      expect(qiscus.sends.at(-1)!.json).toEqual({
        sender_email: `${TEST_SECRETS.QISCUS_APP_CODE}_admin@qismo.com`,
        room_id: '998877',
        message: 'reply to 6281234567890',
        type: 'text',
      });
      const stored = await storedMessage(
        server.running.ctx.store.db,
        (
          await server.running.ctx.store.db
            .selectFrom('messages')
            .select('message_id')
            .where('text', '=', 'reply to 96173000001')
            .executeTakeFirstOrThrow()
        ).message_id,
      );
      expect(stored.provider_message_id).toMatch(/^25b24c9a-/);
    });
  });
}
