import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenId } from '../../src/app/authenticate.js';
import { registeredRoutes } from '../../src/http/auth.js';
import { OPENAPI_DOCUMENT, openApiPath } from '../../src/http/openapi.js';
import type { Running } from '../../src/main.js';
import { ApiClient, createOperator, loginAdmin } from '../api/api-client.js';
import { metaTextPayload, postMeta, startTestServer, TEST_SECRETS } from '../support/app.js';
import { SseClient } from '../support/sse-client.js';

/**
 * Issue 14: authentication walked over the whole route table, so a route added later cannot forget
 * it. The table is what the server registered (onRoute hook) united with the OpenAPI document's
 * operations (each also checked with `hasRoute`); every /api route but login answers 401 to every
 * kind of dead credential, and exactly the admin-only routes answer 403 to an operator.
 */
const concrete = (url: string) => url.replace(/:[A-Za-z0-9_]+/g, 'x').replace(/\{[A-Za-z0-9_]+\}/g, 'x');
const DOC_METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/** Admin-only routes (SPEC §7, §10): operators management and knowledge corrections. */
const ADMIN_ONLY = new Set([
  'GET /api/operators',
  'POST /api/operators',
  'POST /api/operators/:id/disable',
  'PUT /api/knowledge/:id',
  'DELETE /api/knowledge/:id',
]);

let server: Running;
let admin: ApiClient;
let operator: { client: ApiClient; id: string; password: string };

beforeAll(async () => {
  server = await startTestServer({ SSE_SESSION_CHECK_MS: '150' });
  admin = await loginAdmin(server.url);
  operator = await createOperator(admin, 'walker@example.test', 'Walker');
});
afterAll(async () => {
  await server?.close();
});

/** Every /api route but login: the onRoute list united with the OpenAPI operations. */
function apiRoutes(): { method: string; url: string }[] {
  const seen = new Map<string, { method: string; url: string }>();
  for (const r of registeredRoutes(server.app)) {
    if (!r.url.startsWith('/api') || r.method === 'HEAD') continue;
    seen.set(`${r.method} ${openApiPath(r.url)}`, r);
  }
  for (const [path, ops] of Object.entries(OPENAPI_DOCUMENT.paths as Record<string, Record<string, unknown>>)) {
    for (const m of Object.keys(ops)) {
      if (!DOC_METHODS.includes(m) || !path.startsWith('/api')) continue;
      const key = `${m.toUpperCase()} ${path}`;
      if (!seen.has(key)) seen.set(key, { method: m.toUpperCase(), url: path });
    }
  }
  seen.delete('POST /api/auth/login');
  return [...seen.values()];
}

function call(client: ApiClient, route: { method: string; url: string }) {
  return client.request(route.method, concrete(route.url), route.method === 'GET' ? {} : { body: {} });
}

async function loginCookie(email: string, password: string, extra: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${server.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...extra },
    body: JSON.stringify({ email, password }),
  });
  expect(res.status).toBe(200);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

describe('the route table', () => {
  it('[§7 auth] the walk covers every documented operation, each a route of the server', () => {
    const routes = apiRoutes();
    expect(routes.length).toBeGreaterThan(15);
    for (const route of routes) {
      expect(
        server.app.hasRoute({ method: route.method as 'GET', url: route.url.replace(/\{(\w+)\}/g, ':$1') }),
        `${route.method} ${route.url}`,
      ).toBe(true);
    }
    // printRoutes is Fastify's own view of the tree: every recorded /api route appears in it.
    const printed = server.app.printRoutes({ commonPrefix: false });
    for (const r of registeredRoutes(server.app).filter((x) => x.url.startsWith('/api/'))) {
      expect(printed).toContain(r.url.split('/').pop()!);
    }
  });
});

describe('dead credentials on every /api route', () => {
  it('[§10 auth] no session, a forged cookie, an expired session, a logged-out cookie, a revoked token: 401 everywhere', async () => {
    // logged out
    const outCookie = await loginCookie('walker@example.test', operator.password);
    expect((await new ApiClient(server.url, { cookie: outCookie }).post('/api/auth/logout')).status).toBe(200);
    // revoked token (logging out with a token revokes it)
    const token = (await operator.client.post('/api/auth/tokens', { name: 'to-revoke' })).body.token as string;
    expect((await new ApiClient(server.url, { token }).get('/api/auth/me')).status).toBe(200);
    expect((await new ApiClient(server.url, { token }).post('/api/auth/logout')).status).toBe(200);
    // an API token sent as a cookie, and a session cookie sent as a bearer token
    const liveToken = (await operator.client.post('/api/auth/tokens', { name: 'wrong-place' })).body.token as string;
    const liveSession = operator.client.credentials.cookie!.split('=')[1]!;
    // expired: a real session whose expiry is moved into the past (last: a login prunes expired rows)
    const expiredCookie = await loginCookie('walker@example.test', operator.password);
    const expiredId = tokenId(expiredCookie.split('=')[1]!);
    await server.ctx.committer.run((tx) =>
      tx.db
        .updateTable('sessions')
        .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
        .where('id', '=', expiredId)
        .execute(),
    );
    expect(await server.ctx.store.reader.selectFrom('sessions').select('id').where('id', '=', expiredId).executeTakeFirst()).toBeDefined();

    const clients: [string, ApiClient][] = [
      ['none', new ApiClient(server.url)],
      ['forged cookie', new ApiClient(server.url, { cookie: 'sb_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })],
      ['expired session', new ApiClient(server.url, { cookie: expiredCookie })],
      ['logged-out cookie', new ApiClient(server.url, { cookie: outCookie })],
      ['revoked token', new ApiClient(server.url, { token })],
      ['token as cookie', new ApiClient(server.url, { cookie: `sb_session=${liveToken}` })],
      ['session as bearer', new ApiClient(server.url, { token: liveSession })],
    ];
    const wrong: string[] = [];
    for (const route of apiRoutes()) {
      for (const [name, client] of clients) {
        const res = await call(client, route);
        if (res.status !== 401 || res.body?.error?.code !== 'unauthorized')
          wrong.push(`${name}: ${route.method} ${route.url} → ${res.status}`);
      }
    }
    expect(wrong).toEqual([]);
    // the live operator still works (the walk changed nothing for them)
    expect((await operator.client.get('/api/auth/me')).status).toBe(200);
  });

  it('[§10 auth] an operator gets 403 on exactly the admin-only routes; an admin never does', async () => {
    const forbidden: string[] = [];
    const adminForbidden: string[] = [];
    for (const route of apiRoutes()) {
      // logout would end the walker's session; the SSE stream never ends by itself (it is not admin-only: see below)
      if (route.url === '/api/auth/logout' || route.url === '/api/events') continue;
      const key = `${route.method} ${route.url.replace(/\{(\w+)\}/g, ':$1')}`;
      const res = await call(operator.client, route);
      if (res.status === 403) forbidden.push(key);
      if ((await call(admin, route)).status === 403) adminForbidden.push(key);
    }
    expect(forbidden.sort()).toEqual([...ADMIN_ONLY].sort());
    expect(adminForbidden).toEqual([]);
  });

  it("[§7 takeover] an operator forcing a takeover of a conversation an admin owns is refused; it stays the admin's", async () => {
    const wamid = `wamid.WALK${Date.now()}`;
    expect((await postMeta(server.url, metaTextPayload(wamid, '16505550101'))).status).toBe(200);
    const list = (await admin.get('/api/conversations')).body;
    const conversation = (list.conversations ?? list.items).find(
      (c: any) => c.contact?.wa_id === '16505550101' || JSON.stringify(c).includes('16505550101'),
    );
    expect(conversation).toBeDefined();
    const id = conversation.conversation_id ?? conversation.id;
    expect((await admin.post(`/api/conversations/${id}/takeover`, {})).status).toBe(200);
    const forced = await operator.client.post(`/api/conversations/${id}/takeover`, { force: true });
    expect([403, 409]).toContain(forced.status);
    const after = (await admin.get(`/api/conversations/${id}`)).body;
    expect(JSON.stringify(after)).not.toContain(operator.id);
  });
});

describe('sessions', () => {
  it('[§10 sessions] every login is a new session id; a cookie the client brought to the login does not become the session', async () => {
    const planted = 'sb_session=planted-by-an-attacker-0123456789abcdef';
    const first = await loginCookie('walker@example.test', operator.password, { cookie: planted });
    const second = await loginCookie('walker@example.test', operator.password, { cookie: first });
    expect(first).not.toBe(planted);
    expect(second).not.toBe(first);
    expect((await new ApiClient(server.url, { cookie: planted }).get('/api/auth/me')).status).toBe(401);
    for (const cookie of [first, second]) expect((await new ApiClient(server.url, { cookie }).get('/api/auth/me')).status).toBe(200);
    // the stored id is the hash of what the server chose, never what the client sent
    const stored = await server.ctx.store.reader.selectFrom('sessions').select('id').execute();
    expect(stored.map((s) => s.id)).not.toContain(tokenId('planted-by-an-attacker-0123456789abcdef'));
  });

  it('[§10 sessions] logout ends the session everywhere: REST, a new SSE stream, and an open SSE stream within SSE_SESSION_CHECK_MS', async () => {
    const cookie = await loginCookie('walker@example.test', operator.password);
    const client = new ApiClient(server.url, { cookie });
    const stream = await SseClient.open(server.url, { cookie });
    expect(stream.status).toBe(200);
    const started = Date.now();
    expect((await client.post('/api/auth/logout')).status).toBe(200);
    await Promise.race([
      stream.ended,
      new Promise((_, reject) => setTimeout(() => reject(new Error('SSE still open 3 s after logout')), 3_000)),
    ]);
    const took = Date.now() - started;
    expect(took).toBeLessThan(3_000);
    expect((await client.get('/api/auth/me')).status).toBe(401);
    expect((await client.post('/api/conversations/x/read')).status).toBe(401);
    const again = await SseClient.open(server.url, { cookie });
    expect(again.status).toBe(401);
    again.close();
  });
});
