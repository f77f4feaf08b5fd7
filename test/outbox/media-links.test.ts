import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMediaLinks, MEDIA_LINK_SECRET_SETTING, mediaLinks } from '../../src/app/media-links.js';
import { openStore } from '../../src/store/database.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import { MontyMobileFake } from '../fakes/montymobile.fake.js';
import { QiscusSendFake } from '../fakes/qiscus-send.fake.js';
import { TEST_SECRETS } from '../support/app.js';
import { sharedDatabases } from '../support/databases.js';
import { montyTextPayload, qiscusTextPayload, sendWebhook } from '../support/webhook-senders.js';
import { appendMediaMessage, settled, startOutboxServer, waitFor, type OutboxServer } from './support.js';

/*
 * Operator media to MontyMobile and Qiscus, which take media by public URL only: each send carries
 * a signed, expiring `{PUBLIC_URL}/media-links/{media_id}?exp=&sig=` link that serves the bytes
 * without a session; a wrong or expired link is refused; without PUBLIC_URL the message fails as
 * `public_url_missing` and nothing is sent.
 */

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A customer of `provider` writes (a real webhook); the admin takes the conversation over and its notice leaves. */
async function conversationOf(server: OutboxServer, provider: 'montymobile' | 'qiscus', from: string): Promise<string> {
  const payload =
    provider === 'montymobile'
      ? montyTextPayload(`wamid.MONTY.IN.${from}`, 'hi', from)
      : qiscusTextPayload(`wa_wamid.Q.IN.${from}`, 'halo', { email: from, roomId: `77${from.slice(-4)}` });
  expect((await sendWebhook(server.url, provider, payload)).status).toBe(200);
  const list = await server.admin.get(`/api/conversations?q=${from}`);
  const id = list.body.conversations[0].conversation_id as string;
  expect((await server.admin.post(`/api/conversations/${id}/takeover`)).status).toBe(200);
  await waitFor('the takeover notice to leave', async () => {
    const page = await server.admin.get(`/api/conversations/${id}/messages`);
    return !page.body.messages.some((m: { status: string }) => m.status === 'pending');
  });
  return id;
}

const JPEG = Buffer.from('ffd8ffe000104a46494600010100000100010000ffd9', 'hex');
const PDF = Buffer.from('%PDF-1.4\n% prices\n');
const OGG = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(60, 7)]);

for (const database of sharedDatabases()) {
  describe(`media links to MontyMobile and Qiscus on ${database.kind}`, () => {
    let server: OutboxServer;
    let monty: MontyMobileFake;
    let qiscus: QiscusSendFake;
    let publicUrl: string;
    beforeAll(async () => {
      monty = await MontyMobileFake.start(TEST_SECRETS.MONTYMOBILE_TENANT, TEST_SECRETS.MONTYMOBILE_API_KEY);
      qiscus = await QiscusSendFake.start(TEST_SECRETS.QISCUS_APP_CODE, TEST_SECRETS.QISCUS_SECRET_KEY);
      const port = await freePort();
      publicUrl = `http://127.0.0.1:${port}/`;
      server = await startOutboxServer(database, {
        PORT: String(port),
        PUBLIC_URL: publicUrl,
        MONTYMOBILE_API_URL: monty.apiUrl,
        QISCUS_API_URL: qiscus.apiUrl,
      });
    });
    afterAll(async () => {
      await server?.destroy();
      await monty?.close();
      await qiscus?.close();
    });

    const linkPattern = (mediaId: string) =>
      new RegExp(`^${publicUrl.replace(/\/$/, '')}/media-links/${mediaId}\\?exp=(\\d+)&sig=([A-Za-z0-9_-]{43})$`);

    it('[OUT1] a photo to MontyMobile: IMAGE by a signed link that serves the same bytes without a session, valid about 15 minutes', async () => {
      const id = await conversationOf(server, 'montymobile', '96174000001');
      const before = Math.floor(Date.now() / 1000);
      const { messageId, mediaId } = await appendMediaMessage(
        server,
        id,
        'montymobile',
        'photo',
        JPEG,
        'image/jpeg',
        'shelf.jpg',
        'The shelf',
      );
      expect((await settled(server, messageId)).status).toBe('sent');
      const sent = monty.sends.at(-1)!;
      expect(sent.json).toEqual({
        to: '96174000001',
        source: TEST_SECRETS.MONTYMOBILE_SOURCE_NUMBER,
        type: 'IMAGE',
        image: { link: expect.any(String), caption: 'The shelf' },
      });
      const link = sent.json.image.link as string;
      const exp = Number(linkPattern(mediaId).exec(link)![1]);
      expect(exp - before).toBeGreaterThanOrEqual(900 - 5);
      expect(exp - before).toBeLessThanOrEqual(900 + 60);

      const res = await fetch(link);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/jpeg');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-disposition')).toBe("inline; filename*=UTF-8''shelf.jpg");
      expect(Buffer.from(await res.arrayBuffer()).equals(JPEG)).toBe(true);
    });

    it('[OUT1] a voice note to MontyMobile goes as DOCUMENT (MONTYMOBILE_AUDIO_AS=document) with its link and filename', async () => {
      const id = await conversationOf(server, 'montymobile', '96174000002');
      const { messageId, mediaId } = await appendMediaMessage(
        server,
        id,
        'montymobile',
        'voice',
        OGG,
        'audio/ogg; codecs=opus',
        'voice.ogg',
        null,
      );
      expect((await settled(server, messageId)).status).toBe('sent');
      const sent = monty.sends.at(-1)!;
      expect(sent.json).toEqual({
        to: '96174000002',
        source: TEST_SECRETS.MONTYMOBILE_SOURCE_NUMBER,
        type: 'DOCUMENT',
        document: { link: expect.stringMatching(linkPattern(mediaId)), filename: 'voice.ogg' },
      });
      const res = await fetch(sent.json.document.link);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('audio/ogg; codecs=opus');
      expect(Buffer.from(await res.arrayBuffer()).equals(OGG)).toBe(true);
    });

    it('[OUT1] a document to Qiscus: file_attachment with the link in payload.url; served as an attachment', async () => {
      const id = await conversationOf(server, 'qiscus', '6281200000003');
      const { messageId, mediaId } = await appendMediaMessage(
        server,
        id,
        'qiscus',
        'document',
        PDF,
        'application/pdf',
        'prices.pdf',
        'Prices',
      );
      expect((await settled(server, messageId)).status).toBe('sent');
      const sent = qiscus.sends.at(-1)!;
      expect(sent.json).toEqual({
        sender_email: `${TEST_SECRETS.QISCUS_APP_CODE}_admin@qismo.com`,
        room_id: '770003',
        type: 'file_attachment',
        message: 'Prices',
        payload: { url: expect.stringMatching(linkPattern(mediaId)), caption: 'Prices' },
      });
      const res = await fetch(sent.json.payload.url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/pdf');
      expect(res.headers.get('content-disposition')).toBe("attachment; filename*=UTF-8''prices.pdf");
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(Buffer.from(await res.arrayBuffer()).equals(PDF)).toBe(true);
    });

    it('a tampered, re-dated, unsigned or expired link is 403 forbidden; a signed link to unknown media is 404', async () => {
      const id = await conversationOf(server, 'montymobile', '96174000004');
      const { messageId, mediaId } = await appendMediaMessage(server, id, 'montymobile', 'photo', JPEG, 'image/jpeg', 'x.jpg', null);
      await settled(server, messageId);
      const link = monty.sends.at(-1)!.json.image.link as string;
      const [, exp, sig] = linkPattern(mediaId).exec(link)!;
      const flipped = `${sig!.slice(0, -1)}${sig!.endsWith('A') ? 'B' : 'A'}`;
      // The same bytes spelled with other unused low bits in the last character are not the signature either.
      const respelled = `${sig!.slice(0, -1)}${String.fromCharCode(sig!.charCodeAt(42) ^ 1)}`;
      const base = `${publicUrl}media-links/${mediaId}`;
      const links = await loadMediaLinks(server.running.ctx);
      const refused = [
        `${base}?exp=${exp}&sig=${flipped}`,
        `${base}?exp=${exp}&sig=${respelled}`,
        `${base}?exp=${Number(exp) + 3600}&sig=${sig}`,
        `${base}?exp=${exp}`,
        base,
        `${base}?exp=${exp}&sig=${sig}x`,
        `${publicUrl}media-links/md_other?exp=${exp}&sig=${sig}`,
        links.linkFor(mediaId, new Date(Date.now() - 3_600_000))!,
      ];
      for (const url of refused) {
        const res = await fetch(url);
        expect(res.status, url).toBe(403);
        expect((await res.json()).error.code).toBe('forbidden');
      }
      expect((await fetch(link)).status).toBe(200);
      expect((await fetch(links.linkFor('md_unknown')!)).status).toBe(404);
    });

    it('without MEDIA_LINK_SECRET the key is one random value kept in the database: another process on it checks the same links', async () => {
      const stored = await server.running.ctx.store.db
        .selectFrom('settings')
        .selectAll()
        .where('key', '=', MEDIA_LINK_SECRET_SETTING)
        .execute();
      expect(stored).toHaveLength(1);
      expect(stored[0]!.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const ours = await loadMediaLinks(server.running.ctx);
      const other = await openStore(server.database.url);
      try {
        const committer = new GroupCommitter(other, { maxBatch: 16 });
        const theirs = await loadMediaLinks({ config: server.running.ctx.config, store: other, committer });
        const link = new URL(ours.linkFor('md_shared')!);
        expect(theirs.verify('md_shared', link.searchParams.get('exp')!, link.searchParams.get('sig')!)).toBe(true);
        await committer.idle();
      } finally {
        await other.close();
      }
      // A different key signs differently, so a link is only good where the key is.
      const foreign = new URL(mediaLinks('x'.repeat(32), publicUrl, 900).linkFor('md_shared')!);
      expect(ours.verify('md_shared', foreign.searchParams.get('exp')!, foreign.searchParams.get('sig')!)).toBe(false);
    });
  });

  describe(`media to MontyMobile and Qiscus without PUBLIC_URL on ${database.kind}`, () => {
    let server: OutboxServer;
    let monty: MontyMobileFake;
    let qiscus: QiscusSendFake;
    beforeAll(async () => {
      monty = await MontyMobileFake.start(TEST_SECRETS.MONTYMOBILE_TENANT, TEST_SECRETS.MONTYMOBILE_API_KEY);
      qiscus = await QiscusSendFake.start(TEST_SECRETS.QISCUS_APP_CODE, TEST_SECRETS.QISCUS_SECRET_KEY);
      server = await startOutboxServer(database, { MONTYMOBILE_API_URL: monty.apiUrl, QISCUS_API_URL: qiscus.apiUrl });
    });
    afterAll(async () => {
      await server?.destroy();
      await monty?.close();
      await qiscus?.close();
    });

    it('[OUT1] the message fails as public_url_missing and nothing reaches the provider', async () => {
      expect(server.running.ctx.config.publicUrl).toBeNull();
      for (const [provider, from] of [
        ['montymobile', '96174000010'],
        ['qiscus', '6281200000011'],
      ] as const) {
        const fake = provider === 'montymobile' ? monty : qiscus;
        const id = await conversationOf(server, provider, from);
        const sendsBefore = fake.sends.length;
        const { messageId } = await appendMediaMessage(server, id, provider, 'photo', JPEG, 'image/jpeg', 'p.jpg', null);
        const failed = await settled(server, messageId);
        expect(failed.status).toBe('failed');
        expect(failed.error).toEqual({ code: 'public_url_missing', title: expect.stringContaining('PUBLIC_URL') });
        expect(fake.sends.length).toBe(sendsBefore);
      }
    });
  });
}
