import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { importLegacy } from '../../src/app/import-legacy.js';
import { parseLegacyExport } from '../../src/chat/legacy-import.js';
import type { Running } from '../../src/main.js';
import { blockedAddress } from '../../src/providers/media-fetch.js';
import { isMetaHost } from '../../src/providers/meta/meta.media.js';
import { HttpFake, sendBytes, sendJson } from '../fakes/http-fake.js';
import { postMeta, startTestServer, TEST_SECRETS } from '../support/app.js';
import { metaImagePayload, postQiscus, qiscusAttachmentPayload, sampleBytes, sha256Base64, waitFor } from '../media/support.js';

/**
 * Issue 17: media URLs come from payloads (Qiscus, MontyMobile links, legacy imports) or from Meta's
 * lookup. They must not reach internal addresses (after DNS, on every redirect) unless
 * MEDIA_FETCH_ALLOW_HOSTS names them, and the Meta token goes only to Meta's hosts.
 */
const BYTES = sampleBytes(5_000, 'security-media');
let files: HttpFake;
let graph: HttpFake;
let unique = 0;
const next = (prefix: string) => `${prefix}${Date.now()}${unique++}`;
const servers: Running[] = [];

beforeAll(async () => {
  // A file host that also redirects: /redirect?to=<url> answers 302 to it.
  files = await HttpFake.start((_req, res, url) => {
    if (url.pathname === '/redirect') {
      res.writeHead(302, { location: url.searchParams.get('to') ?? '/' });
      return res.end();
    }
    return sendBytes(res, BYTES, 'image/jpeg', false);
  });
  // A Graph API whose lookup points at `files` under the name localhost: a host that is not Meta's.
  graph = await HttpFake.start((_req, res, url) => {
    const id = /^\/v25\.0\/([^/]+)$/.exec(url.pathname)?.[1];
    if (!id) return sendJson(res, 404, {});
    const port = new URL(files.baseUrl).port;
    return sendJson(res, 200, {
      messaging_product: 'whatsapp',
      url: `http://localhost:${port}/cdn/${id}`,
      mime_type: 'image/jpeg',
      sha256: sha256Base64(BYTES),
      file_size: String(BYTES.length),
      id,
    });
  });
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await Promise.all([files.close(), graph.close()]);
});

async function start(env: Record<string, string>): Promise<Running> {
  const server = await startTestServer({
    JOB_POLL_MS: '20',
    MEDIA_RETRY_BASE_MS: '10',
    MEDIA_RETRY_MAX_MS: '20',
    MEDIA_DOWNLOAD_MAX_ATTEMPTS: '2',
    ...env,
  });
  servers.push(server);
  return server;
}

async function settledMedia(server: Running, messageId: string) {
  const db = server.ctx.store.reader;
  return waitFor(async () => {
    const message = await db.selectFrom('messages').select('media').where('message_id', '=', messageId).executeTakeFirst();
    if (!message?.media) return undefined;
    const mediaId = JSON.parse(message.media).media_id as string;
    const media = await db.selectFrom('media').selectAll().where('media_id', '=', mediaId).executeTakeFirstOrThrow();
    return media.status === 'pending' ? undefined : media;
  }, `media of ${messageId}`);
}

describe('internal addresses', () => {
  it('[§10 SSRF] loopback, private, link-local, CGNAT, multicast, unspecified and metadata addresses are refused; public ones pass', () => {
    for (const address of [
      '127.0.0.1',
      '127.9.9.9',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '224.0.0.1',
      '0.0.0.0',
      '255.255.255.255',
      '::',
      '::1',
      'fd00:ec2::254',
      'fe80::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:a9fe:a9fe',
      '64:ff9b::10.0.0.1',
    ]) {
      expect(blockedAddress(address), address).not.toBeNull();
    }
    for (const address of ['8.8.8.8', '157.240.1.1', '2a03:2880:f12f:83:face:b00c::25de', '::ffff:8.8.8.8']) {
      expect(blockedAddress(address), address).toBeNull();
    }
  });

  it('[§10 SSRF] a Qiscus attachment URL on 127.0.0.1 is never requested: media failed blocked_address', async () => {
    const server = await start({ MEDIA_FETCH_ALLOW_HOSTS: '' });
    const id = next('wa_wamid.SSRF');
    const path = `/internal/${id}.jpg`;
    expect((await postQiscus(server.url, qiscusAttachmentPayload(id, `${files.baseUrl}${path}`))).status).toBe(200);
    const media = await settledMedia(server, id);
    expect(media).toMatchObject({ status: 'failed', error: 'blocked_address' });
    expect(files.requestsTo(path)).toHaveLength(0);
    expect((await server.app.inject({ method: 'GET', url: `/api/media/${media.media_id}` })).statusCode).toBe(401);
  });

  it('[§10 SSRF] a host name that resolves to loopback is refused after DNS resolution', async () => {
    const server = await start({ MEDIA_FETCH_ALLOW_HOSTS: '' });
    const id = next('wa_wamid.DNS');
    const path = `/dns/${id}.jpg`;
    await postQiscus(server.url, qiscusAttachmentPayload(id, `http://localhost:${new URL(files.baseUrl).port}${path}`));
    expect(await settledMedia(server, id)).toMatchObject({ status: 'failed', error: 'blocked_address' });
    expect(files.requestsTo(path)).toHaveLength(0);
  });

  it('[§10 SSRF] an allowed host that redirects to a refused address: the redirect is not followed', async () => {
    // localhost is allowed, 127.0.0.1 is not: the first hop passes, the second is checked again.
    const server = await start({ MEDIA_FETCH_ALLOW_HOSTS: 'localhost' });
    const id = next('wa_wamid.REDIRECT');
    const target = `${files.baseUrl}/secret/${id}.jpg`;
    const url = `http://localhost:${new URL(files.baseUrl).port}/redirect?to=${encodeURIComponent(target)}`;
    await postQiscus(server.url, qiscusAttachmentPayload(id, url));
    expect(await settledMedia(server, id)).toMatchObject({ status: 'failed', error: 'blocked_address' });
    expect(files.requests.filter((r) => r.url.pathname === '/redirect' && r.url.searchParams.get('to') === target).length).toBeGreaterThan(
      0,
    );
    expect(files.requestsTo(`/secret/${id}.jpg`)).toHaveLength(0);
  });

  it('[§10 SSRF] an allowed host is fetched, redirects included', async () => {
    const server = await start({ MEDIA_FETCH_ALLOW_HOSTS: '127.0.0.1' });
    const id = next('wa_wamid.ALLOWED');
    const target = `${files.baseUrl}/ok/${id}.jpg`;
    await postQiscus(server.url, qiscusAttachmentPayload(id, `${files.baseUrl}/redirect?to=${encodeURIComponent(target)}`));
    expect(await settledMedia(server, id)).toMatchObject({ status: 'ready', size: BYTES.length, mime_type: 'image/jpeg' });
    expect(files.requestsTo(`/ok/${id}.jpg`)).toHaveLength(1);
  });
});

describe('the Meta access token', () => {
  it('[§10 secrets] only Meta hosts are Meta hosts', () => {
    const graphUrl = 'https://graph.facebook.com/v25.0';
    for (const url of [
      'https://graph.facebook.com/v25.0/1',
      'https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1',
      'https://scontent.xx.fbcdn.net/a',
      'https://mmg.whatsapp.net/d/f',
    ]) {
      expect(isMetaHost(new URL(url), graphUrl), url).toBe(true);
    }
    for (const url of [
      'https://evil.example/x',
      'https://fbcdn.net.evil.example/',
      'https://lookaside.fbsbx.com.evil.example/',
      'http://mmg.whatsapp.net/d/f',
      'https://notwhatsapp.net/',
    ]) {
      expect(isMetaHost(new URL(url), graphUrl), url).toBe(false);
    }
  });

  it("[§10 secrets] a lookup URL on a host that is not Meta's is fetched without the Authorization header", async () => {
    const server = await start({ META_GRAPH_URL: `${graph.baseUrl}/v25.0`, MEDIA_FETCH_ALLOW_HOSTS: 'localhost' });
    const mediaId = next('99');
    const wamid = next('wamid.TOKEN');
    expect((await postMeta(server.url, metaImagePayload(wamid, mediaId))).status).toBe(200);
    expect(await settledMedia(server, wamid)).toMatchObject({ status: 'ready' });
    // The Graph host (configured) got the token; the other host did not.
    expect(graph.requestsTo(`/v25.0/${mediaId}`)[0]!.headers.authorization).toBe(`Bearer ${TEST_SECRETS.META_ACCESS_TOKEN}`);
    const downloads = files.requestsTo(`/cdn/${mediaId}`);
    expect(downloads).toHaveLength(1);
    expect(downloads[0]!.headers.authorization).toBeUndefined();
  });

  it('[§10 secrets] a media URL from a legacy import is fetched without credentials', async () => {
    const server = await start({ MEDIA_FETCH_ALLOW_HOSTS: '127.0.0.1' });
    const path = `/imported/${next('img')}.jpg`;
    const conversations = parseLegacyExport([
      {
        id: next('legacyConv'),
        user_id: '+961 3 000 111',
        status: 'active',
        messages: [{ role: 'user', text: 'photo', timestamp: '2025-03-01T14:30:00Z', image_url: `${files.baseUrl}${path}` }],
      },
    ]);
    await importLegacy(server.ctx.store, conversations, { provider: 'meta', channelExternalId: TEST_SECRETS.META_PHONE_NUMBER_ID });
    server.jobs.media.wake();
    await waitFor(async () => {
      const m = await server.ctx.store.reader
        .selectFrom('media')
        .select('status')
        .where('source_ref', '=', `${files.baseUrl}${path}`)
        .executeTakeFirst();
      return m && m.status !== 'pending' ? m : undefined;
    }, 'the imported media');
    const requests = files.requestsTo(path);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.headers.authorization).toBeUndefined();
  });
});
