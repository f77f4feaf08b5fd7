import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Running } from '../../src/main.js';
import { loginAdmin } from '../api/api-client.js';
import { closedPortUrl } from '../fakes/http-fake.js';
import { FileHostFake } from '../fakes/file-host.fake.js';
import { MetaGraphFake } from '../fakes/meta-graph.fake.js';
import { MontyMobileFake } from '../fakes/montymobile.fake.js';
import { startChildServer } from '../support/child-server.js';
import { createPostgresDatabase, TEST_POSTGRES_URL, type TestDatabase } from '../support/databases.js';
import { postMeta, startTestServer, TEST_SECRETS } from '../support/app.js';
import {
  metaImagePayload,
  montyMediaPayload,
  postMonty,
  postQiscus,
  qiscusAttachmentPayload,
  sampleBytes,
  sha256Base64,
  waitFor,
} from './support.js';

let meta: MetaGraphFake;
let monty: MontyMobileFake;
let files: FileHostFake;
const servers: Running[] = [];
let counter = 0;
const unique = (prefix: string) => `${prefix}${Date.now().toString(36)}${(++counter).toString(36)}`;

beforeAll(async () => {
  meta = await MetaGraphFake.start(TEST_SECRETS.META_ACCESS_TOKEN);
  monty = await MontyMobileFake.start(TEST_SECRETS.MONTYMOBILE_TENANT, TEST_SECRETS.MONTYMOBILE_API_KEY);
  files = await FileHostFake.start();
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await Promise.all([meta.close(), monty.close(), files.close()]);
});

/** A server whose provider base URLs point at the fakes, with tiny retry delays and 4 attempts. */
async function start(env: Record<string, string> = {}): Promise<Running> {
  const server = await startTestServer({
    META_GRAPH_URL: meta.graphUrl,
    MONTYMOBILE_API_URL: monty.apiUrl,
    JOB_POLL_MS: '20',
    MEDIA_RETRY_BASE_MS: '10',
    MEDIA_RETRY_MAX_MS: '40',
    MEDIA_DOWNLOAD_MAX_ATTEMPTS: '4',
    ...env,
  });
  servers.push(server);
  return server;
}

/** Everything stored about the media of one message, once its download settled. */
async function settled(server: Running, messageId: string) {
  const db = server.ctx.store.reader;
  return waitFor(async () => {
    const message = await db.selectFrom('messages').selectAll().where('message_id', '=', messageId).executeTakeFirst();
    if (!message?.media) return undefined;
    const mediaJson = JSON.parse(message.media);
    const media = await db.selectFrom('media').selectAll().where('media_id', '=', mediaJson.media_id).executeTakeFirstOrThrow();
    if (media.status === 'pending') return undefined;
    const job = await db
      .selectFrom('jobs')
      .selectAll()
      .where('kind', '=', 'media.download')
      .where('dedupe_key', '=', media.media_id)
      .executeTakeFirstOrThrow();
    // The job's outcome commits with the media's (success) or right with it (giving up).
    if (job.status !== 'done' && job.status !== 'failed') return undefined;
    // Read again: on a pool (PostgreSQL) the first read may predate the commit that settled the media.
    const settledMessage = await db.selectFrom('messages').selectAll().where('message_id', '=', messageId).executeTakeFirstOrThrow();
    const events = (await db.selectFrom('events').selectAll().where('type', '=', 'message_updated').orderBy('id').execute())
      .map((e) => JSON.parse(e.payload))
      .filter((p) => p.message_id === messageId);
    return { message: settledMessage, mediaJson: JSON.parse(settledMessage.media!), media, job, events };
  }, `media of ${messageId} to settle`);
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));
}

async function expectReady(server: Running, messageId: string, bytes: Buffer, mimeType: string) {
  const s = await settled(server, messageId);
  expect(s.media.status).toBe('ready');
  expect(s.media.size).toBe(bytes.length);
  expect(s.mediaJson).toMatchObject({ status: 'ready', size: bytes.length, mime_type: mimeType });
  expect(s.job.status).toBe('done');
  const update = s.events.at(-1);
  expect(update?.media).toMatchObject({
    media_id: s.media.media_id,
    status: 'ready',
    size: bytes.length,
    url: `/api/media/${s.media.media_id}`,
  });
  if (server.ctx.config.mediaStore === 'files') {
    expect(s.media.storage_path).toMatch(/^media\/\d{4}\/\d{2}\/md_[0-9a-f]+$/);
    expect(readFileSync(join(server.ctx.config.dataDir, s.media.storage_path!)).equals(bytes)).toBe(true);
  }
  return s;
}

describe('media download (issue 3) — success per provider', () => {
  it('[SPEC §4 media] Meta: id → URL → bytes with the bearer token, sha256 (base64) checked, file on disk, message ready, message_updated', async () => {
    const server = await start();
    const bytes = sampleBytes(70_000, 'meta-photo');
    const mediaId = unique('1048');
    const wamid = unique('wamid.META');
    meta.addMedia(mediaId, { bytes, mimeType: 'image/jpeg' });
    expect((await postMeta(server.url, metaImagePayload(wamid, mediaId, { sha256: sha256Base64(bytes), caption: 'my rash' }))).status).toBe(
      200,
    );
    const s = await expectReady(server, wamid, bytes, 'image/jpeg');
    expect(s.message.text).toBe('my rash');
    expect(s.mediaJson.caption).toBe('my rash');
    const lookup = meta.http.requestsTo(`/v25.0/${mediaId}`)[0]!;
    expect(lookup.url.searchParams.get('phone_number_id')).toBe(TEST_SECRETS.META_PHONE_NUMBER_ID);
    expect(lookup.headers.authorization).toBe(`Bearer ${TEST_SECRETS.META_ACCESS_TOKEN}`);
    expect(meta.downloads(mediaId)).toHaveLength(1);
    // Nothing half-written is left beside the file.
    expect(filesUnder(join(server.ctx.config.dataDir, 'media')).filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  it('[SPEC §4 media] MontyMobile: get-media with Tenant + api-key as raw binary, {data:{data}}, {data}, {url}; and a webhook link fetched plainly', async () => {
    const server = await start();
    const cases = (['binary', 'json-nested', 'json-flat', 'json-url'] as const).map((form, i) => ({
      form,
      id: unique('5550'),
      wamid: unique(`wamid.MONTY${i}`),
      bytes: sampleBytes(3000 + i * 1000, `monty-${form}`),
    }));
    for (const c of cases) {
      monty.addMedia(c.id, { bytes: c.bytes, mimeType: 'image/jpeg', form: c.form });
      expect((await postMonty(server.url, montyMediaPayload(c.wamid, 'image', { id: c.id, mime_type: 'image/jpeg' }))).status).toBe(200);
    }
    const voice = sampleBytes(2500, 'monty-voice-link');
    const link = monty.hostFile(`${unique('a')}-audio.ogg`, voice, 'audio/ogg');
    const voiceWamid = unique('wamid.MONTYLINK');
    expect(
      (await postMonty(server.url, montyMediaPayload(voiceWamid, 'audio', { link, mime_type: 'audio/ogg; codecs=opus', voice: true })))
        .status,
    ).toBe(200);

    for (const c of cases) await expectReady(server, c.wamid, c.bytes, 'image/jpeg');
    const v = await expectReady(server, voiceWamid, voice, 'audio/ogg; codecs=opus');
    expect(v.message.type).toBe('voice');
    for (const c of cases) {
      const call = monty.getMediaCalls(c.id)[0]!;
      expect(call.headers.tenant).toBe(TEST_SECRETS.MONTYMOBILE_TENANT);
      expect(call.headers['api-key']).toBe(TEST_SECRETS.MONTYMOBILE_API_KEY);
    }
  });

  it('[SPEC §4 media] Qiscus: the attachment URL fetched plainly (chunked, no Content-Length)', async () => {
    const server = await start();
    const bytes = sampleBytes(9000, 'qiscus-photo');
    const path = `/kovof-123/image/upload/${unique('q')}_2069.jpg`;
    const url = files.host(path, bytes, 'image/jpeg', { chunked: true });
    const id = unique('wa_wamid.QISCUS');
    expect((await postQiscus(server.url, qiscusAttachmentPayload(id, url))).status).toBe(200);
    await expectReady(server, id, bytes, 'image/jpeg');
    expect(files.hits(path)).toBe(1);
  });
});

describe('media download (issue 3) — failures and retries', () => {
  it('[SPEC §4 media] an expired URL (404, then 401) is re-resolved from the media id within the same attempt', async () => {
    const server = await start();
    const bytes = sampleBytes(4000, 'expired');
    const mediaId = unique('2048');
    const wamid = unique('wamid.EXPIRED');
    meta.addMedia(mediaId, { bytes, mimeType: 'image/png' });
    meta.downloadFailures.push(mediaId, 404, 401);
    await postMeta(server.url, metaImagePayload(wamid, mediaId, { mimeType: 'image/png' }));
    const s = await expectReady(server, wamid, bytes, 'image/png');
    expect(meta.lookups(mediaId)).toBe(3);
    const urls = meta.downloads(mediaId);
    expect(urls).toHaveLength(3);
    expect(new Set(urls).size).toBe(3);
    expect(s.job.attempts).toBe(1);
  });

  it('[SPEC §4 media] a 404 on the media id lookup is transient: retried with backoff, then success', async () => {
    const server = await start();
    const bytes = sampleBytes(4000, 'lookup-404');
    const mediaId = unique('3048');
    const wamid = unique('wamid.LOOKUP404');
    meta.addMedia(mediaId, { bytes, mimeType: 'image/jpeg' });
    meta.lookupFailures.push(mediaId, 404, 404);
    await postMeta(server.url, metaImagePayload(wamid, mediaId, { sha256: sha256Base64(bytes) }));
    const s = await expectReady(server, wamid, bytes, 'image/jpeg');
    expect(s.job.attempts).toBe(3);
    expect(meta.lookups(mediaId)).toBe(3);
    expect(s.events.filter((e) => e.media.status === 'ready')).toHaveLength(1);
    // Each failed run is counted for the engineer on call (GET /metrics).
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/switchboard_job_failures_total\{kind="media\.download"\} 2\n/);
  });

  it('[SPEC §4 media] a 5xx from the media host is retried; a 403 from Monty get-media is permanent (no retry)', async () => {
    const server = await start();
    const bytes = sampleBytes(2000, 'five-hundred');
    const path = `/cdn/${unique('f')}.jpg`;
    const url = files.host(path, bytes, 'image/jpeg');
    files.failures.push(path, 502, 503);
    const okId = unique('wa_wamid.RETRY5XX');
    await postQiscus(server.url, qiscusAttachmentPayload(okId, url));
    const ok = await expectReady(server, okId, bytes, 'image/jpeg');
    expect(ok.job.attempts).toBe(3);

    const forbidden = unique('6660');
    monty.addMedia(forbidden, { bytes, mimeType: 'image/jpeg', form: 'binary' });
    monty.failures.push(forbidden, 403, 403, 403);
    const wamid = unique('wamid.MONTY403');
    await postMonty(server.url, montyMediaPayload(wamid, 'image', { id: forbidden, mime_type: 'image/jpeg' }));
    const s = await settled(server, wamid);
    expect(s.media).toMatchObject({ status: 'failed', error: 'http_403' });
    expect(s.job.attempts).toBe(1);
    expect(monty.getMediaCalls(forbidden)).toHaveLength(1);
  });

  it('[SPEC §4 media] a sha256 mismatch is retried, then failed; the message is kept', async () => {
    const server = await start();
    const bytes = sampleBytes(3000, 'tampered');
    const mediaId = unique('4048');
    const wamid = unique('wamid.SHA');
    meta.addMedia(mediaId, { bytes, mimeType: 'image/jpeg', sha256: null });
    await postMeta(server.url, metaImagePayload(wamid, mediaId, { sha256: sha256Base64(sampleBytes(3000, 'original')) }));
    const s = await settled(server, wamid);
    expect(s.media).toMatchObject({ status: 'failed', error: 'sha256_mismatch', storage_path: null });
    expect(s.mediaJson).toMatchObject({ status: 'failed', error: 'sha256_mismatch' });
    expect(s.job).toMatchObject({ status: 'failed', attempts: 4 });
    expect(s.message.type).toBe('photo');
  });

  it('[SPEC §4 media] oversize: refused from the announced file_size before any byte, and cut off mid-stream when unannounced; failed too_large, message kept, one try each', async () => {
    const server = await start({ MEDIA_MAX_BYTES: '4096' });
    const announced = unique('7048');
    const announcedWamid = unique('wamid.BIG1');
    meta.addMedia(announced, { bytes: sampleBytes(50_000, 'big-1'), mimeType: 'video/mp4' });
    await postMeta(
      server.url,
      metaImagePayload(announcedWamid, announced, { type: 'video', mimeType: 'video/mp4', caption: 'look at this' }),
    );

    const path = `/kovof-123/video/${unique('v')}.mp4`;
    const url = files.host(path, sampleBytes(200_000, 'big-2'), 'video/mp4', { chunked: true });
    const streamedId = unique('wa_wamid.BIG2');
    await postQiscus(server.url, qiscusAttachmentPayload(streamedId, url, 'a long video'));

    const a = await settled(server, announcedWamid);
    const b = await settled(server, streamedId);
    for (const s of [a, b]) {
      expect(s.media).toMatchObject({ status: 'failed', error: 'too_large', storage_path: null });
      expect(s.mediaJson).toMatchObject({ status: 'failed', error: 'too_large' });
      expect(s.job).toMatchObject({ status: 'failed', attempts: 1 });
      expect(s.events.at(-1)?.media.status).toBe('failed');
    }
    expect(a.message).toMatchObject({ type: 'video', text: 'look at this' });
    expect(b.message).toMatchObject({ type: 'video', text: 'a long video' });
    expect(meta.lookups(announced)).toBe(1);
    expect(meta.downloads(announced)).toHaveLength(0);
    expect(files.hits(path)).toBe(1);
    expect(filesUnder(join(server.ctx.config.dataDir, 'media'))).toEqual([]);
  });

  it('[SPEC §4 media] a provider down the whole time (closed port): failed after the bounded attempts, message kept with media failed', async () => {
    const server = await start({ META_GRAPH_URL: `${await closedPortUrl()}/v25.0` });
    const wamid = unique('wamid.DOWN');
    await postMeta(server.url, metaImagePayload(wamid, unique('8048')));
    const s = await settled(server, wamid);
    expect(s.media).toMatchObject({ status: 'failed', error: 'unreachable' });
    expect(s.job).toMatchObject({ status: 'failed', attempts: 4 });
    expect(s.job.last_error).toMatch(/^unreachable: .*ECONNREFUSED/);
    expect(s.message).toMatchObject({ type: 'photo', status: 'received' });
    expect(s.mediaJson.status).toBe('failed');
    expect(s.events.at(-1)?.media).toMatchObject({ status: 'failed', error: 'unreachable' });
  });
});

describe('GET /api/media/:media_id', () => {
  it('[SPEC §7] serves the bytes with type, length and private caching to an operator; 401 without a session; 404 unknown; byte ranges', async () => {
    const server = await start();
    const bytes = sampleBytes(10_000, 'served');
    const mediaId = unique('9048');
    const wamid = unique('wamid.SERVE');
    meta.addMedia(mediaId, { bytes, mimeType: 'image/jpeg' });
    await postMeta(server.url, metaImagePayload(wamid, mediaId));
    const s = await expectReady(server, wamid, bytes, 'image/jpeg');
    const path = `/api/media/${s.media.media_id}`;

    expect((await fetch(`${server.url}${path}`)).status).toBe(401);
    const admin = await loginAdmin(server.url);
    const res = await fetch(`${server.url}${path}`, { headers: { cookie: admin.credentials.cookie! } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(res.headers.get('content-length')).toBe(String(bytes.length));
    expect(res.headers.get('cache-control')).toMatch(/^private\b/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);

    const part = await fetch(`${server.url}${path}`, { headers: { cookie: admin.credentials.cookie!, range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(100, 200))).toBe(true);

    const unknown = await admin.get('/api/media/md_00000000000000000000');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('media_not_found');
  });

  it('[SPEC §7] media still downloading answers 409 media_not_ready; failed media 404 media_not_found', async () => {
    // Retries 60 s apart: after one 503 the download is certainly still pending when asked.
    const server = await start({ MEDIA_MAX_BYTES: '1024', MEDIA_RETRY_BASE_MS: '60000', MEDIA_RETRY_MAX_MS: '60000' });
    const admin = await loginAdmin(server.url);
    const mediaIdOf = async (messageId: string) => {
      const row = await server.ctx.store.reader
        .selectFrom('messages')
        .selectAll()
        .where('message_id', '=', messageId)
        .executeTakeFirstOrThrow();
      return JSON.parse(row.media!).media_id as string;
    };

    const slowPath = `/slow/${unique('s')}.jpg`;
    files.failures.push(slowPath, 503);
    const pendingId = unique('wa_wamid.PENDING');
    await postQiscus(server.url, qiscusAttachmentPayload(pendingId, files.host(slowPath, sampleBytes(500, 'slow'), 'image/jpeg')));
    await waitFor(async () => files.hits(slowPath) === 1, 'the first (failing) attempt');
    const pending = await admin.get(`/api/media/${await mediaIdOf(pendingId)}`);
    expect(pending.status).toBe(409);
    expect(pending.body.error.code).toBe('media_not_ready');

    const bigPath = `/big/${unique('b')}.jpg`;
    const failedId = unique('wa_wamid.FAILED');
    await postQiscus(server.url, qiscusAttachmentPayload(failedId, files.host(bigPath, sampleBytes(2000, 'big'), 'image/jpeg')));
    expect((await settled(server, failedId)).media.status).toBe('failed');
    const failed = await admin.get(`/api/media/${await mediaIdOf(failedId)}`);
    expect(failed.status).toBe(404);
    expect(failed.body.error.code).toBe('media_not_found');
  });
});

describe('MEDIA_STORE=database', () => {
  it('[SPEC §9] keeps the bytes in media_blobs (no file) and serves them, in whole and in ranges', async () => {
    const server = await start({ MEDIA_STORE: 'database' });
    const bytes = sampleBytes(2_500_000, 'in-db');
    const mediaId = unique('1148');
    const wamid = unique('wamid.DBSTORE');
    meta.addMedia(mediaId, { bytes, mimeType: 'video/mp4' });
    await postMeta(server.url, metaImagePayload(wamid, mediaId, { type: 'video', mimeType: 'video/mp4', sha256: sha256Base64(bytes) }));
    const s = await expectReady(server, wamid, bytes, 'video/mp4');
    expect(s.media.storage_path).toBeNull();
    const blob = await server.ctx.store.reader
      .selectFrom('media_blobs')
      .selectAll()
      .where('media_id', '=', s.media.media_id)
      .executeTakeFirstOrThrow();
    expect(Buffer.from(blob.bytes).equals(bytes)).toBe(true);
    expect(filesUnder(join(server.ctx.config.dataDir, 'media'))).toEqual([]);

    const admin = await loginAdmin(server.url);
    const res = await fetch(`${server.url}/api/media/${s.media.media_id}`, { headers: { cookie: admin.credentials.cookie! } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(bytes.length));
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    const tail = await fetch(`${server.url}/api/media/${s.media.media_id}`, {
      headers: { cookie: admin.credentials.cookie!, range: 'bytes=-5000' },
    });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(bytes.length - 5000))).toBe(true);
  });
});

describe.runIf(TEST_POSTGRES_URL)('on PostgreSQL', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createPostgresDatabase();
  });
  afterAll(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
    await database?.destroy();
  });

  it('[SPEC §9] files and database media stores both download, mark ready and emit message_updated', async () => {
    for (const store of ['files', 'database']) {
      const server = await start({ DATABASE_URL: database.url, MEDIA_STORE: store });
      const bytes = sampleBytes(20_000, `pg-${store}`);
      const mediaId = unique('1248');
      const wamid = unique('wamid.PG');
      meta.addMedia(mediaId, { bytes, mimeType: 'image/jpeg' });
      meta.lookupFailures.push(mediaId, 500);
      await postMeta(server.url, metaImagePayload(wamid, mediaId, { sha256: sha256Base64(bytes) }));
      const s = await expectReady(server, wamid, bytes, 'image/jpeg');
      expect(s.job.attempts).toBe(2);
      if (store === 'database') {
        const blob = await server.ctx.store.reader
          .selectFrom('media_blobs')
          .selectAll()
          .where('media_id', '=', s.media.media_id)
          .executeTakeFirstOrThrow();
        expect(Buffer.from(blob.bytes).equals(bytes)).toBe(true);
      }
      await server.close();
      servers.splice(servers.indexOf(server), 1);
    }
  });
});

describe('a worker that dies mid-download', () => {
  it('[SPEC §1 durable] a server SIGKILLed while downloading: once its claim expires another server downloads the media', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sb-media-kill-'));
    const env = {
      DATA_DIR: dataDir,
      DATABASE_URL: `sqlite:${join(dataDir, 'switchboard.db')}`,
      META_GRAPH_URL: meta.graphUrl,
      JOB_POLL_MS: '20',
      JOB_LOCK_MS: '2000',
      MEDIA_DOWNLOAD_TIMEOUT_MS: '1500',
      // Every job's time limit must stay below the claim (config refuses it otherwise).
      OUTBOX_SEND_TIMEOUT_MS: '1500',
      AI_TIMEOUT_MS: '1500',
    };
    const bytes = sampleBytes(40_000, 'killed');
    const mediaId = unique('1348');
    const wamid = unique('wamid.KILLED');
    meta.addMedia(mediaId, { bytes, mimeType: 'image/jpeg' });
    meta.stallDownloads(mediaId, 1);

    const child = await startChildServer(env);
    try {
      expect((await postMeta(child.url, metaImagePayload(wamid, mediaId, { sha256: sha256Base64(bytes) }))).status).toBe(200);
      // Killed with half the bytes in its temp file.
      await waitFor(
        async () => filesUnder(join(dataDir, 'media')).some((f) => f.endsWith('.part') && statSync(f).size > 0),
        'the child to be mid-download',
      );
    } finally {
      await child.kill();
    }
    const killedAt = Date.now();
    const server = await start(env);
    const s = await expectReady(server, wamid, bytes, 'image/jpeg');
    // Claimed by the dead worker first, then by this one after the 2 s claim lapsed.
    expect(s.job.attempts).toBe(2);
    expect(Date.parse(s.media.updated_at) - killedAt).toBeGreaterThan(0);
    expect(meta.downloads(mediaId)).toHaveLength(2);
    expect(s.events.filter((e) => e.media.status === 'ready')).toHaveLength(1);
    // The dead worker's half-written temp file is gone, and never had the final name.
    expect(filesUnder(join(dataDir, 'media')).filter((f) => f.endsWith('.part'))).toEqual([]);
  }, 60_000);
});
