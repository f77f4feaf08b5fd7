import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { buildServer } from '../../src/http/server.js';
import { startServer, type Running } from '../../src/main.js';
import { ApiClient, loginAdmin } from '../api/api-client.js';
import { graphError, MetaSendFake } from '../fakes/meta-send.fake.js';
import { OpenAiFake } from '../fakes/openai.fake.js';
import { waitFor } from '../media/support.js';
import { metaTextPayload, postMeta, signMeta, TEST_SECRETS } from '../support/app.js';
import { montyTextPayload, qiscusTextPayload, sendWebhook } from '../support/webhook-senders.js';

/**
 * Issue 14: secrets never leave the server. A test server at LOG_LEVEL=trace goes through logins
 * (right, wrong, rate-limited), webhooks (good and forged on all three providers), API tokens, an
 * AI reply through an OpenAI-compatible fake, operator sends that succeed and fail at Meta, and
 * forced error paths; then every log line, every error body seen and /metrics are searched for
 * every secret. Error bodies never carry a stack trace or a file path.
 */
const OPENAI_KEY = 'sk-test-openai-key-must-not-leak-7f3a';
const OPERATOR_PASSWORD = 'operator-password-must-not-leak';
let meta: MetaSendFake;
let openai: OpenAiFake;
let server: Running;
let admin: ApiClient;
let logs = '';
const bodies: string[] = [];
/** Values that must never be seen outside; session ids and tokens are added as they are made. */
const secrets = new Set<string>([
  TEST_SECRETS.META_APP_SECRET,
  TEST_SECRETS.META_VERIFY_TOKEN,
  TEST_SECRETS.META_ACCESS_TOKEN,
  TEST_SECRETS.MONTYMOBILE_WEBHOOK_TOKEN,
  TEST_SECRETS.MONTYMOBILE_API_KEY,
  TEST_SECRETS.QISCUS_WEBHOOK_SECRET,
  TEST_SECRETS.QISCUS_SECRET_KEY,
  TEST_SECRETS.ADMIN_PASSWORD,
  OPENAI_KEY,
  OPERATOR_PASSWORD,
]);

async function record(res: Response): Promise<Response> {
  bodies.push(await res.clone().text());
  return res;
}

beforeAll(async () => {
  meta = await MetaSendFake.start(TEST_SECRETS.META_ACCESS_TOKEN);
  openai = await OpenAiFake.start();
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-sec-secrets-'));
  const config = loadConfig({
    ...TEST_SECRETS,
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    DATABASE_URL: `sqlite:${join(dataDir, 'sb.db')}`,
    LOG_LEVEL: 'trace',
    META_GRAPH_URL: meta.graphUrl,
    MEDIA_FETCH_ALLOW_HOSTS: '127.0.0.1',
    JOB_POLL_MS: '20',
    AI_RESPONDER: 'openai',
    OPENAI_BASE_URL: openai.baseUrl,
    OPENAI_API_KEY: OPENAI_KEY,
    AI_MODEL: 'fake-model',
    AI_DEBOUNCE_MS: '0',
    OUTBOX_MAX_ATTEMPTS: '2',
    OUTBOX_RETRY_BASE_MS: '20',
  });
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs += chunk.toString();
      done();
    },
  });
  server = await startServer(config, pino({ level: 'trace' }, sink));
  admin = await loginAdmin(server.url);
  secrets.add(admin.credentials.cookie!.split('=')[1]!);
});
afterAll(async () => {
  await server?.close();
  await meta?.close();
  await openai?.close();
});

function leaks(text: string): string[] {
  return [...secrets].filter((s) => s.length >= 8 && text.includes(s));
}

describe('secrets stay inside', () => {
  it('[§10 secrets] logins, tokens, webhooks, AI replies, sends and failures: no secret in the trace log, an error body or /metrics', async () => {
    const url = server.url;
    // operators, logins and tokens
    const created = await admin.post('/api/operators', { email: 'leaky@example.test', name: 'Leaky', password: OPERATOR_PASSWORD });
    expect(created.status).toBe(201);
    bodies.push(JSON.stringify(created.body));
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      }).then(record);
    for (let i = 0; i < 3; i++) await post('/api/auth/login', { email: 'leaky@example.test', password: `${OPERATOR_PASSWORD}-wrong${i}` });
    // up to the limit and past it (429) on an unknown email with a password-like guess
    for (let i = 0; i < 7; i++) await post('/api/auth/login', { email: 'nobody@example.test', password: OPERATOR_PASSWORD });
    expect(bodies.at(-1)).toContain('rate_limited');
    const good = await post('/api/auth/login', { email: 'leaky@example.test', password: OPERATOR_PASSWORD });
    const operatorCookie = good.headers.get('set-cookie')!.split(';')[0]!;
    secrets.add(operatorCookie.split('=')[1]!);
    const token = (await admin.post('/api/auth/tokens', { name: 'ci' })).body.token as string;
    secrets.add(token);
    await record(await fetch(`${url}/api/auth/me`, { headers: { authorization: `Bearer ${token}` } }));
    await record(await fetch(`${url}/api/auth/me`, { headers: { authorization: `Bearer ${token}x` } }));
    await record(await fetch(`${url}/api/auth/me`, { headers: { cookie: `${operatorCookie}x` } }));

    // webhooks: good and forged, on all three providers; the verify handshake right and wrong
    openai.push({ kind: 'text', content: 'An AI answer' });
    expect((await record(await postMeta(url, metaTextPayload(`wamid.SEC${Date.now()}`, '16505550999', 'please answer')))).status).toBe(200);
    await record(
      await fetch(`${url}/webhooks/meta`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMeta('{}', 'wrong-secret') },
        body: '{"a":1}',
      }),
    );
    await record(
      await fetch(`${url}/webhooks/meta?hub.mode=subscribe&hub.verify_token=${TEST_SECRETS.META_VERIFY_TOKEN}&hub.challenge=123`),
    );
    await record(await fetch(`${url}/webhooks/meta?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=123`));
    bodies.push(JSON.stringify((await sendWebhook(url, 'montymobile', montyTextPayload(`wamid.M${Date.now()}`, 'hi'))).body ?? ''));
    bodies.push(
      JSON.stringify(
        (await sendWebhook(url, 'montymobile', montyTextPayload(`wamid.M2${Date.now()}`, 'hi'), { token: 'wrong' })).body ?? '',
      ),
    );
    bodies.push(JSON.stringify((await sendWebhook(url, 'qiscus', qiscusTextPayload(`q${Date.now()}`, 'hi'))).body ?? ''));
    await record(
      await fetch(`${url}/webhooks/qiscus/not-the-secret`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }),
    );
    await record(
      await fetch(`${url}/webhooks/qiscus/${TEST_SECRETS.QISCUS_WEBHOOK_SECRET}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{not json',
      }),
    );

    // the AI reply is generated (the key goes to the fake) and sent to Meta (the access token goes to the fake)
    await waitFor(
      async () => openai.chats.length > 0 && meta.requests.some((r) => r.path.endsWith('/messages')),
      'the AI reply sent',
      15_000,
    );
    expect(openai.chats[0]!.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);

    // an operator send that Meta refuses (auth error carrying the token's name), then a failing AI
    const list = (await admin.get('/api/conversations')).body;
    const conversation = (list.conversations ?? list.items)[0];
    const id = conversation.conversation_id ?? conversation.id;
    expect((await admin.post(`/api/conversations/${id}/takeover`, {})).status).toBe(200);
    meta.script(
      '*',
      graphError(190, `Invalid OAuth access token - ${TEST_SECRETS.META_ACCESS_TOKEN.slice(0, 4)}…`, 401),
      graphError(131000, 'Something went wrong', 500),
    );
    const sent = await admin.post(`/api/conversations/${id}/messages`, { text: 'from the operator' });
    expect(sent.status).toBeLessThan(300);
    await waitFor(
      async () => {
        const m = await server.ctx.store.reader
          .selectFrom('messages')
          .select('status')
          .where('message_id', '=', sent.body.message_id ?? sent.body.message?.message_id)
          .executeTakeFirst();
        return m && m.status !== 'pending' ? m : undefined;
      },
      'the operator send settled',
      15_000,
    ).catch(() => undefined);

    // forced error paths: bad JSON, wrong types, unknown ids, a missing media file, a huge header
    await record(
      await fetch(`${url}/api/conversations/${id}/messages`, {
        method: 'POST',
        headers: { cookie: admin.credentials.cookie!, 'content-type': 'application/json' },
        body: '{"text":',
      }),
    );
    await record(
      await fetch(`${url}/api/conversations/${id}/messages`, {
        method: 'POST',
        headers: { cookie: admin.credentials.cookie!, 'content-type': 'application/json' },
        body: '{"text":42}',
      }),
    );
    await record(await fetch(`${url}/api/media/md_doesnotexist`, { headers: { cookie: admin.credentials.cookie! } }));
    await record(
      await fetch(`${url}/api/knowledge/nope`, {
        method: 'PUT',
        headers: { cookie: admin.credentials.cookie!, 'content-type': 'application/json' },
        body: '{"answer":[1]}',
      }),
    );
    await record(await fetch(`${url}/api/conversations?cursor=%ff%fe`, { headers: { cookie: admin.credentials.cookie! } }));
    await record(
      await fetch(`${url}/api/operators/me/status`, {
        method: 'PUT',
        headers: { cookie: admin.credentials.cookie!, 'content-type': 'application/json' },
        body: '{"status":{"__proto__":{"admin":true}}}',
      }),
    );

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('switchboard_');
    expect(logs.length).toBeGreaterThan(1000);
    expect((server.ctx.logger as unknown as { level: string }).level).toBe('trace'); // the chattiest log was searched
    expect(leaks(logs), 'in the log').toEqual([]);
    expect(leaks(metrics), 'in /metrics').toEqual([]);
    for (const body of bodies) expect(leaks(body), body.slice(0, 200)).toEqual([]);
  });

  it('[§10 errors] error bodies never carry a stack trace, a file path or an internal error message', async () => {
    // a ready media object whose file vanished, and a database closed under a request: the internal paths
    const errors = bodies.filter((b) => b.includes('"error"'));
    expect(errors.length).toBeGreaterThan(12);
    for (const body of errors) {
      expect(body).not.toMatch(/\n\s+at |node_modules|\.ts:\d+|\.js:\d+|\/src\/|SqliteError|RangeError|TypeError/);
    }
  });

  it("[§10 errors] a 500 answers a generic body without the error's message or stack; the detail goes only to the log", async () => {
    // The real server and error handler, with one extra route that fails as any bug would, its
    // message carrying a secret (as a driver error quoting a connection string might).
    const app = await buildServer(server.ctx);
    app.get('/api/security-test/boom', async () => {
      throw new Error(`connection to postgres://switchboard:${TEST_SECRETS.ADMIN_PASSWORD}@db failed`);
    });
    await app.ready();
    const before = logs.length;
    const res = await app.inject({ url: '/api/security-test/boom', headers: { cookie: admin.credentials.cookie! } });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: { code: 'internal_error', message: 'internal error' } });
    expect(res.body).not.toMatch(/\n\s+at |postgres:|node_modules/);
    // logged for the operator of the server, with the stack
    expect(logs.slice(before)).toContain('request failed');
    await app.close();
  });
});
