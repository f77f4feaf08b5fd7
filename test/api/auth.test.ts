import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Running } from '../../src/main.js';
import { registeredRoutes } from '../../src/http/auth.js';
import { OPENAPI_DOCUMENT, openApiPath } from '../../src/http/openapi.js';
import { LOGIN_MAX_FAILURES, SESSION_TTL_MS } from '../../src/app/login.js';
import { metaTextPayload, postMeta, startTestServer, TEST_SECRETS } from '../support/app.js';
import { ApiClient, createOperator, loginAdmin, loginAs } from './api-client.js';

const concrete = (url: string) => url.replace(/:[A-Za-z0-9_]+/g, 'x');

describe('auth on every /api route (SPEC §7, §10)', () => {
  let server: Running;
  let admin: ApiClient;
  let operator: { client: ApiClient; id: string; password: string };

  beforeAll(async () => {
    server = await startTestServer();
    admin = await loginAdmin(server.url);
    operator = await createOperator(admin, 'olga@example.test', 'Olga');
  });
  afterAll(() => server.close());

  const apiRoutes = () =>
    registeredRoutes(server.app).filter((r) => r.url.startsWith('/api') && !(r.method === 'POST' && r.url === '/api/auth/login'));

  it('[§7 auth] the route table holds the API routes (the walk below is not empty)', () => {
    const keys = apiRoutes().map((r) => `${r.method} ${r.url}`);
    for (const expected of [
      'GET /api/conversations',
      'POST /api/conversations/:id/messages',
      'POST /api/conversations/:id/takeover',
      'GET /api/auth/me',
      'GET /api/operators',
      'PUT /api/operators/me/status',
      'GET /api/openapi.json',
    ]) {
      expect(keys).toContain(expected);
    }
  });

  it('[§7 auth] every /api route but login answers 401 without a session, with a bad token and with a bad cookie', async () => {
    const anonymous = new ApiClient(server.url);
    const badToken = new ApiClient(server.url, { token: 'not-a-token' });
    const badCookie = new ApiClient(server.url, { cookie: 'sb_session=forged' });
    const routes = apiRoutes();
    expect(routes.length).toBeGreaterThan(10);
    for (const route of routes) {
      for (const client of [anonymous, badToken, badCookie]) {
        const res = await client.request(
          route.method,
          concrete(route.url),
          route.method === 'GET' || route.method === 'HEAD' ? {} : { body: {} },
        );
        expect(res.status, `${route.method} ${route.url}`).toBe(401);
        if (route.method !== 'HEAD') expect(res.body.error.code).toBe('unauthorized');
      }
    }
    // Unknown /api paths too: no route can be reached, nor probed, without an operator.
    expect((await anonymous.get('/api/no-such-thing')).status).toBe(401);
    // A percent-encoded path that the router decodes onto an /api route is guarded by its route pattern.
    expect((await anonymous.get('/%61pi/conversations')).status).not.toBe(200);
    expect((await anonymous.get('/api/%63onversations')).status).toBe(401);
  });

  it('[§7 auth] an operator gets 403 on admin routes; an admin does not', async () => {
    const op = operator.client;
    expect((await op.get('/api/operators')).body.error.code).toBe('forbidden');
    expect((await op.post('/api/operators', { email: 'x@example.test', name: 'X' })).status).toBe(403);
    expect((await op.post(`/api/operators/${operator.id}/disable`)).status).toBe(403);
    const adminMe = (await admin.get('/api/auth/me')).body.operator;
    expect((await op.post('/api/auth/tokens', { name: 'steal', operator_id: adminMe.id })).status).toBe(403);
    expect((await admin.get('/api/operators')).status).toBe(200);
    expect((await admin.get('/api/operators')).body.operators.map((o: any) => o.email)).toContain('olga@example.test');
    // nobody was created by the refused request
    expect((await admin.get('/api/operators')).body.operators.map((o: any) => o.email)).not.toContain('x@example.test');
  });

  it('[§7 openapi] every registered /api route appears in /api/openapi.json', async () => {
    const res = await admin.get('/api/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const paths = OPENAPI_DOCUMENT.paths as Record<string, Record<string, unknown>>;
    const all = registeredRoutes(server.app).filter((r) => r.url.startsWith('/api') && r.method !== 'HEAD');
    for (const route of all) {
      expect(paths[openApiPath(route.url)]?.[route.method.toLowerCase()], `${route.method} ${route.url}`).toBeDefined();
    }
  });

  it('[§10 csrf] a cookie-authenticated state change without JSON or X-Requested-With is refused; a bearer token needs neither', async () => {
    const formPost = await fetch(`${server.url}/api/operators/me/status`, {
      method: 'PUT',
      headers: { cookie: operator.client.credentials.cookie!, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'status=busy',
    });
    expect(formPost.status).toBe(403);
    expect((await operator.client.get('/api/operators/me/status')).body.status).toBe('away');
    const noHeader = await fetch(`${server.url}/api/conversations/nope/read`, {
      method: 'POST',
      headers: { cookie: operator.client.credentials.cookie! },
    });
    expect(noHeader.status).toBe(403);
    const withHeader = await fetch(`${server.url}/api/conversations/nope/read`, {
      method: 'POST',
      headers: { cookie: operator.client.credentials.cookie!, 'x-requested-with': 'fetch' },
    });
    expect(withHeader.status).toBe(404);

    const { body: created } = await operator.client.post('/api/auth/tokens', { name: 'ci' });
    const bare = await fetch(`${server.url}/api/conversations/nope/read`, {
      method: 'POST',
      headers: { authorization: `Bearer ${created.token}` },
    });
    expect(bare.status).toBe(404);
  });

  it('[§7 status] operator status: GET/PUT /api/operators/me/status', async () => {
    expect((await operator.client.put('/api/operators/me/status', { status: 'available' })).body).toEqual({ status: 'available' });
    expect((await operator.client.get('/api/operators/me/status')).body).toEqual({ status: 'available' });
    const bad = await operator.client.put('/api/operators/me/status', { status: 'sleeping' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('validation_failed');
    expect((await operator.client.get('/api/operators/me/status')).body).toEqual({ status: 'available' });
  });

  it('[§7 metrics] /metrics needs no auth and counts webhooks by provider and outcome', async () => {
    expect((await postMeta(server.url, metaTextPayload('wamid.metrics-1'))).status).toBe(200);
    const forged = await fetch(`${server.url}/webhooks/meta`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': 'sha256=00' },
      body: '{}',
    });
    expect(forged.status).toBe(401);
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/switchboard_webhooks_total\{provider="meta",outcome="accepted"\} 1\n/);
    expect(text).toMatch(/switchboard_webhooks_total\{provider="meta",outcome="unauthorized"\} 1\n/);
    expect(text).toMatch(/switchboard_ingest_duration_seconds_count\{provider="meta"\} 1\n/);
    expect(text).toMatch(/switchboard_outbox_depth 0\n/);
    expect(text).toContain('switchboard_sse_clients');
    expect(text).toContain('switchboard_job_failures_total');
  });
});

describe('login, sessions and tokens (SPEC §10)', () => {
  let server: Running;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sb-auth-'));
    server = await startTestServer({ DATA_DIR: dataDir });
  });
  afterAll(() => server.close());

  const anonymous = () => new ApiClient(server.url);

  it('[§10 login] the right password sets an HttpOnly, SameSite=Strict session cookie and returns the operator', async () => {
    const res = await anonymous().post('/api/auth/login', { email: 'ADMIN@example.test', password: TEST_SECRETS.ADMIN_PASSWORD });
    expect(res.status).toBe(200);
    expect(res.body.operator).toMatchObject({ email: TEST_SECRETS.ADMIN_EMAIL, role: 'admin', disabled: false });
    expect(res.body.operator.password_hash).toBeUndefined();
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^sb_session=[A-Za-z0-9_-]{40,};/);
    const attributes = cookie.split(';').map((s) => s.trim());
    expect(attributes).toContain('HttpOnly');
    expect(attributes).toContain('SameSite=Strict');
    expect(attributes).toContain('Path=/');
    expect(attributes).toContain(`Max-Age=${SESSION_TTL_MS / 1000}`);
    expect(attributes).not.toContain('Secure');
    const me = await new ApiClient(server.url, { cookie: cookie.split(';')[0] }).get('/api/auth/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ operator: { email: TEST_SECRETS.ADMIN_EMAIL }, auth: 'session' });
  });

  it('[§10 login] the token is stored only as its sha256', async () => {
    const client = await loginAdmin(server.url);
    const token = client.credentials.cookie!.split('=')[1]!;
    const rows = await server.ctx.store.reader.selectFrom('sessions').select('id').execute();
    expect(rows.map((r) => r.id)).not.toContain(token);
    const { createHash } = await import('node:crypto');
    expect(rows.map((r) => r.id)).toContain(createHash('sha256').update(token).digest('hex'));
  });

  it('[§10 login] a wrong password or unknown email is 401 invalid_credentials; bad input is 400', async () => {
    const wrong = await anonymous().post('/api/auth/login', { email: TEST_SECRETS.ADMIN_EMAIL, password: 'nope-nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_credentials');
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const unknown = await anonymous().post('/api/auth/login', { email: 'ghost@example.test', password: 'whatever1' });
    expect(unknown.body.error.code).toBe('invalid_credentials');
    expect((await anonymous().post('/api/auth/login', { email: 'a@b' })).status).toBe(400);
    expect((await anonymous().post('/api/auth/login', '{"email":')).status).toBe(400);
  });

  it('[§10 rate limit] the 6th login attempt within 15 minutes is 429 even with the right password, also after a restart', async () => {
    const admin = await loginAdmin(server.url);
    const victim = await createOperator(admin, 'rate@example.test', 'Rate');
    for (let i = 0; i < LOGIN_MAX_FAILURES; i++) {
      expect((await anonymous().post('/api/auth/login', { email: 'rate@example.test', password: `wrong-${i}` })).status).toBe(401);
    }
    const limited = await anonymous().post('/api/auth/login', { email: 'rate@example.test', password: victim.password });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    // Other accounts are unaffected.
    expect(
      (await anonymous().post('/api/auth/login', { email: TEST_SECRETS.ADMIN_EMAIL, password: TEST_SECRETS.ADMIN_PASSWORD })).status,
    ).toBe(200);
    // The count lives in the database: a restarted server still refuses.
    await server.close();
    server = await startTestServer({ DATA_DIR: dataDir });
    expect((await anonymous().post('/api/auth/login', { email: 'rate@example.test', password: victim.password })).status).toBe(429);
  });

  it('[§10 sessions] an expired session is refused', async () => {
    const client = await loginAdmin(server.url);
    expect((await client.get('/api/auth/me')).status).toBe(200);
    const rows = await server.ctx.store.reader.selectFrom('sessions').select(['id', 'expires_at']).where('kind', '=', 'session').execute();
    for (const row of rows) {
      const ttl = Date.parse(row.expires_at!) - Date.now();
      expect(ttl).toBeGreaterThan(SESSION_TTL_MS - 120_000);
      expect(ttl).toBeLessThanOrEqual(SESSION_TTL_MS);
    }
    await server.ctx.committer.run((tx) =>
      tx.db
        .updateTable('sessions')
        .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
        .where('kind', '=', 'session')
        .execute(),
    );
    const res = await client.get('/api/auth/me');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
  });

  it('[§10 sessions] logout ends the session', async () => {
    const client = await loginAdmin(server.url);
    const out = await client.post('/api/auth/logout');
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/^sb_session=; .*Max-Age=0/);
    expect((await client.get('/api/auth/me')).status).toBe(401);
  });

  it('[§7 auth] an API token works as Authorization: Bearer, not as a cookie; logging out with it revokes it', async () => {
    const admin = await loginAdmin(server.url);
    const created = await admin.post('/api/auth/tokens', { name: 'integration' });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    const bearer = new ApiClient(server.url, { token: created.body.token });
    const me = await bearer.get('/api/auth/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ operator: { email: TEST_SECRETS.ADMIN_EMAIL }, auth: 'api_token' });
    expect((await new ApiClient(server.url, { cookie: `sb_session=${created.body.token}` }).get('/api/auth/me')).status).toBe(401);
    expect((await bearer.get('/api/conversations')).status).toBe(200);
    expect((await bearer.post('/api/auth/logout')).status).toBe(200);
    expect((await bearer.get('/api/auth/me')).status).toBe(401);
  });

  it('[§10 operators] a disabled operator loses their sessions and tokens and cannot log in', async () => {
    const admin = await loginAdmin(server.url);
    const op = await createOperator(admin, 'gone@example.test', 'Gone');
    const token = (await op.client.post('/api/auth/tokens', { name: 'mine' })).body.token as string;
    expect((await op.client.get('/api/auth/me')).status).toBe(200);
    const disabled = await admin.post(`/api/operators/${op.id}/disable`);
    expect(disabled.status).toBe(200);
    expect(disabled.body.operator.disabled).toBe(true);
    expect((await op.client.get('/api/auth/me')).status).toBe(401);
    expect((await new ApiClient(server.url, { token }).get('/api/auth/me')).status).toBe(401);
    const again = await anonymous().post('/api/auth/login', { email: 'gone@example.test', password: op.password });
    expect(again.status).toBe(403);
    expect(again.body.error.code).toBe('operator_disabled');
    expect((await anonymous().post('/api/auth/login', { email: 'gone@example.test', password: 'wrong-pass' })).body.error.code).toBe(
      'invalid_credentials',
    );
    // An admin cannot disable themselves.
    const self = (await admin.get('/api/auth/me')).body.operator.id;
    expect((await admin.post(`/api/operators/${self}/disable`)).status).toBe(409);
  });

  it('[§10 operators] a duplicate email is 409; a generated password is returned once and works', async () => {
    const admin = await loginAdmin(server.url);
    const first = await admin.post('/api/operators', { email: 'Gen@Example.test', name: 'Gen' });
    expect(first.status).toBe(201);
    expect(first.body.operator.email).toBe('gen@example.test');
    expect(first.body.generated_password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect((await admin.post('/api/operators', { email: 'gen@example.test', name: 'Gen 2' })).status).toBe(409);
    await loginAs(server.url, 'gen@example.test', first.body.generated_password);
  });
});

describe('first admin (SPEC §10)', () => {
  it('[§10 first admin] with no ADMIN_EMAIL and no operator, a generated password is printed once and works', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sb-boot-'));
    const env = { DATA_DIR: dataDir, ADMIN_EMAIL: '', ADMIN_PASSWORD: '' };
    const printed: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: any) => {
      printed.push(String(chunk));
      return true;
    });
    let server: Running;
    try {
      server = await startTestServer(env);
    } finally {
      spy.mockRestore();
    }
    const line = printed.find((l) => l.includes('First admin created'));
    expect(line).toBeDefined();
    const [, email, password] = /created: (\S+) with password (\S+)/.exec(line!)!;
    expect(email).toBe('admin@localhost');
    const admin = await loginAs(server.url, email!, password!);
    expect((await admin.get('/api/auth/me')).body.operator.role).toBe('admin');
    await server.close();

    const again: string[] = [];
    const spy2 = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: any) => {
      again.push(String(chunk));
      return true;
    });
    try {
      server = await startTestServer(env);
    } finally {
      spy2.mockRestore();
    }
    expect(again.filter((l) => l.includes('First admin created'))).toEqual([]);
    await server.close();
  });
});
