import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImportError, parseLegacyExport } from '../../src/chat/legacy-import.js';
import { MAX_NAME_LENGTH, MAX_TEXT_LENGTH, PREVIEW_TEXT_LENGTH } from '../../src/chat/text-limits.js';
import { loadConfig } from '../../src/config.js';
import { startServer, type Running } from '../../src/main.js';
import { openStore } from '../../src/store/database.js';
import { loginAdmin, type ApiClient } from '../api/api-client.js';
import { MetaGraphFake } from '../fakes/meta-graph.fake.js';
import { metaImagePayload, sampleBytes, sha256Base64, waitFor } from '../media/support.js';
import { metaMessagesPayload, postMeta, TEST_SECRETS } from '../support/app.js';
import { montyTextPayload, sendWebhook } from '../support/webhook-senders.js';

/**
 * Issue 17: hostile but authentic input. A CR/LF media type, 5,000-deep JSON on every provider and
 * in the import, headers outside the dashboard, a 2.9 MB text and a 1 MB profile name: never a
 * 500, never a RangeError or a stack trace in the log, bounded storage and lists.
 */
const BIN = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));
const DEPTH = 5_000;
let graph: MetaGraphFake;
let server: Running;
let admin: ApiClient;
let logs = '';

async function start(env: Record<string, string> = {}): Promise<Running> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-sec-input-'));
  const config = loadConfig({
    ...TEST_SECRETS,
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    DATABASE_URL: `sqlite:${join(dataDir, 'sb.db')}`,
    LOG_LEVEL: 'info',
    META_GRAPH_URL: graph.graphUrl,
    MEDIA_FETCH_ALLOW_HOSTS: '127.0.0.1',
    JOB_POLL_MS: '20',
    ...env,
  });
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs += chunk.toString();
      done();
    },
  });
  return startServer(config, pino({ level: 'info' }, sink));
}

beforeAll(async () => {
  graph = await MetaGraphFake.start(TEST_SECRETS.META_ACCESS_TOKEN);
  server = await start();
  admin = await loginAdmin(server.url);
});
afterAll(async () => {
  await server?.close();
  await graph?.close();
});

/** JSON text nested DEPTH levels (JSON.stringify itself would overflow the stack on such a value). */
const DEEP = `${'{"a":'.repeat(DEPTH)}"x"${'}'.repeat(DEPTH)}`;
/** The payload's JSON with the string "__DEEP__" replaced by DEEP. */
const withDeep = (payload: unknown) => JSON.stringify(payload).replace('"__DEEP__"', DEEP);

describe('media types', () => {
  it('[§10 headers] a mime_type with CR/LF is dropped at ingest; the media is served, never a 500', async () => {
    const bytes = sampleBytes(3_000, 'crlf');
    const mediaId = `crlf${Date.now()}`;
    graph.addMedia(mediaId, { bytes, mimeType: 'image/png' });
    const wamid = `wamid.CRLF${Date.now()}`;
    expect(
      (
        await postMeta(
          server.url,
          metaImagePayload(wamid, mediaId, { mimeType: 'image/jpeg\r\nSet-Cookie: x=1', sha256: sha256Base64(bytes) }),
        )
      ).status,
    ).toBe(200);
    const media = await waitFor(async () => {
      const m = await server.ctx.store.reader.selectFrom('media').selectAll().where('source_ref', '=', mediaId).executeTakeFirst();
      return m && m.status !== 'pending' ? m : undefined;
    }, 'the media');
    expect(media.status).toBe('ready');
    expect(media.mime_type).not.toMatch(/[\r\n]/);
    const res = await admin.get(`/api/media/${media.media_id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('[§10 headers] a stored mime_type with CR/LF (from before the check) is served as application/octet-stream', async () => {
    const media = await server.ctx.store.reader.selectFrom('media').selectAll().where('status', '=', 'ready').executeTakeFirstOrThrow();
    await server.ctx.committer.run((tx) =>
      tx.db.updateTable('media').set({ mime_type: 'text/html\r\nX-Injected: 1' }).where('media_id', '=', media.media_id).execute(),
    );
    const res = await admin.get(`/api/media/${media.media_id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('x-injected')).toBeNull();
    expect(res.headers.get('content-disposition')).toMatch(/^attachment/);
  });
});

describe(`JSON nested ${DEPTH} levels`, () => {
  const expectNoCrashLogged = () => {
    expect(logs).not.toContain('RangeError');
    expect(logs).not.toContain('Maximum call stack');
    expect(logs).not.toMatch(/"stack":/);
  };

  it('[§4 input] Meta: stored with the deep part cut; no RangeError, no stack trace', async () => {
    const wamid = `wamid.DEEP${Date.now()}`;
    const payload = metaMessagesPayload('16505551234', 'Deep', [{ id: wamid, type: 'text', text: { body: 'deep', extra: '__DEEP__' } }]);
    const answer = await sendWebhook(server.url, 'meta', withDeep(payload));
    expect(answer.status, answer.text).toBe(200);
    expectNoCrashLogged();
  });

  it('[§4 input] MontyMobile: a message WITHOUT an id (content-hashed) and deep nesting: stored once, no RangeError', async () => {
    const payload = montyTextPayload(null, `deep monty ${Date.now()}`) as any;
    payload.entry[0].changes[0].value.messages[0].text.extra = '__DEEP__';
    const first = await sendWebhook(server.url, 'montymobile', withDeep(payload));
    expect(first.status, first.text).toBe(200);
    expect(first.body).toMatchObject({ created: 1 });
    // The same delivery again maps to the same id: a duplicate, not a second message.
    const again = await sendWebhook(server.url, 'montymobile', withDeep(payload));
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ created: 0 });
    expectNoCrashLogged();
  });

  it('[§4 input] Qiscus: deep nesting in the message extras: 200, no RangeError', async () => {
    const now = new Date();
    const payload = {
      app_code: TEST_SECRETS.QISCUS_APP_CODE,
      payload: {
        from: { email: '6281234567890', id: 0, name: 'Budi' },
        message: {
          id: 0,
          id_str: '0',
          text: 'deep',
          type: 'text',
          created_at: now.toISOString(),
          timestamp: now.toISOString(),
          unique_temp_id: `wa_wamid.QDEEP${Date.now()}`,
          extras: '__DEEP__',
        },
        room: {
          id: '139214511',
          id_str: '139214511',
          name: 'Budi',
          options: JSON.stringify({ channel: 'wa', source: 'wa' }),
          participants: [{ email: '6281234567890' }],
        },
      },
    };
    const answer = await sendWebhook(server.url, 'qiscus', withDeep(payload));
    expect([200, 400], answer.text).toContain(answer.status);
    expectNoCrashLogged();
  });

  it('[§4 input] the legacy import: a clear error naming the field, nothing imported', async () => {
    const text = withDeep([
      {
        id: 'deepConv',
        user_id: '+961 3 111 222',
        messages: [{ role: 'user', text: 'hi', timestamp: '2025-03-01T14:30:00Z', metadata: '__DEEP__' }],
      },
    ]);
    const document = JSON.parse(text);
    expect(() => parseLegacyExport(document)).toThrow(ImportError);
    try {
      parseLegacyExport(document);
    } catch (err) {
      expect((err as ImportError).path).toMatch(/^\[0\]\.messages\[0\]\.metadata(\.a)+$/);
      expect((err as Error).message).toContain('nested deeper than');
    }
    // Through the CLI: exit code 1 (or 2), the path in the message, no RangeError, nothing imported.
    const dir = mkdtempSync(join(tmpdir(), 'sb-sec-import-'));
    const file = join(dir, 'deep.json');
    writeFileSync(file, text);
    const url = `sqlite:${join(dir, 'sb.db')}`;
    const result = await promisify(execFile)(process.execPath, [BIN, 'import', file], {
      env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'silent' },
    }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );
    expect(result.code).not.toBe(0);
    expect(result.out).toContain('[0].messages[0].metadata.a');
    expect(result.out).not.toContain('RangeError');
    const store = await openStore(url);
    try {
      expect(await store.reader.selectFrom('messages').select('id').execute()).toEqual([]);
    } finally {
      await store.close();
    }
  }, 60_000);
});

describe('headers outside the dashboard', () => {
  it('[§10 headers] /api/*, /metrics, /healthz, /readyz and webhooks send nosniff and no-store; no HSTS over http', async () => {
    const answers = [
      await fetch(`${server.url}/api/auth/me`),
      await admin.get('/api/conversations').then((r) => ({ headers: r.headers })),
      await fetch(`${server.url}/metrics`),
      await fetch(`${server.url}/healthz`),
      await fetch(`${server.url}/readyz`),
      await fetch(`${server.url}/webhooks/meta?hub.mode=subscribe`),
      await fetch(`${server.url}/webhooks/meta`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }),
    ];
    for (const a of answers) {
      expect(a.headers.get('x-content-type-options')).toBe('nosniff');
      expect(a.headers.get('cache-control')).toBe('no-store');
      expect(a.headers.get('strict-transport-security')).toBeNull();
    }
  });

  it('[§10 headers] HSTS when PUBLIC_URL is https; media keeps its own caching', async () => {
    const https = await start({ PUBLIC_URL: 'https://chat.example.test' });
    try {
      const res = await fetch(`${https.url}/healthz`);
      expect(res.headers.get('strict-transport-security')).toMatch(/^max-age=\d+/);
    } finally {
      await https.close();
    }
    const media = await server.ctx.store.reader
      .selectFrom('media')
      .select('media_id')
      .where('status', '=', 'ready')
      .executeTakeFirstOrThrow();
    expect((await admin.get(`/api/media/${media.media_id}`)).headers.get('cache-control')).toMatch(/^private/);
  });
});

describe('stored sizes', () => {
  it('[§3 limits] a 2.9 MB text and a 1 MB profile name: stored cut, the journal keeps the body, the list carries a 500-character preview', async () => {
    const wamid = `wamid.HUGE${Date.now()}`;
    const from = '16505559999';
    // An emoji across the cut: the stored text must not end in half a surrogate pair.
    const text = `${'x'.repeat(MAX_TEXT_LENGTH - 1)}😀${'y'.repeat(2_900_000 - MAX_TEXT_LENGTH)}`;
    const body = JSON.stringify(metaMessagesPayload(from, 'Huge Text', [{ id: wamid, type: 'text', text: { body: text } }]));
    expect(Buffer.byteLength(body)).toBeGreaterThan(2.9 * 1000 * 1000);
    const answer = await sendWebhook(server.url, 'meta', body);
    expect(answer.status, answer.text).toBe(200);
    const db = server.ctx.store.reader;
    const message = await db.selectFrom('messages').selectAll().where('message_id', '=', wamid).executeTakeFirstOrThrow();
    expect(message.text).toBe('x'.repeat(MAX_TEXT_LENGTH - 1));
    expect(JSON.parse(message.metadata!)).toMatchObject({ text_truncated: true, text_length: text.length });
    const journal = await db.selectFrom('webhook_journal').select('body').orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(journal.body).toBe(body);

    const name = 'N'.repeat(1024 * 1024);
    const named = await sendWebhook(
      server.url,
      'meta',
      metaMessagesPayload(from, name, [{ id: `${wamid}.2`, type: 'text', text: { body: 'hello again' } }]),
    );
    expect(named.status, named.text).toBe(200);
    const contact = await db.selectFrom('contacts').selectAll().where('wa_id', '=', from).executeTakeFirstOrThrow();
    expect(contact.name).toBe('N'.repeat(MAX_NAME_LENGTH));
    // The long text as the last message: send it again under a new id.
    const last = await sendWebhook(server.url, 'meta', body.replace(wamid, `${wamid}.3`));
    expect(last.status).toBe(200);

    const list = await admin.get('/api/conversations');
    const raw = JSON.stringify(list.body);
    const conversation = list.body.conversations.find((c: any) => c.contact.wa_id === from);
    expect(conversation.last_message.message_id).toBe(`${wamid}.3`);
    expect(conversation.last_message.text.length).toBe(PREVIEW_TEXT_LENGTH);
    expect(conversation.last_message.text_truncated).toBe(true);
    expect(raw.length).toBeLessThan(200_000);
    // The thread still has the stored (64 Ki) text.
    const thread = await admin.get(`/api/conversations/${conversation.conversation_id}/messages`);
    expect(thread.body.messages.at(-1).text).toBe('x'.repeat(MAX_TEXT_LENGTH - 1));
  });
});
