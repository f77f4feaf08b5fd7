import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Running } from '../../main.js';
import { startTestServer } from '../../../test/support/app.js';
import { registerWebRoutes } from './web.routes.js';

const INDEX = '<!doctype html><title>dashboard index</title><div id="root"></div>';

describe('dashboard serving (SPEC §11)', () => {
  let root: string;
  let built: FastifyInstance;
  let unbuilt: FastifyInstance;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'sb-web-'));
    const dist = join(root, 'dist');
    mkdirSync(join(dist, 'assets'), { recursive: true });
    writeFileSync(join(dist, 'index.html'), INDEX);
    writeFileSync(join(dist, 'assets', 'index-abc123.js'), 'console.log("bundle")');
    writeFileSync(join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    writeFileSync(join(root, 'secret.txt'), 'outside the dist folder');
    built = Fastify();
    await registerWebRoutes(built, dist);
    unbuilt = Fastify();
    await registerWebRoutes(unbuilt, join(root, 'missing-dist'));
  });

  afterAll(async () => {
    await built.close();
    await unbuilt.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('[§11] without a build, / answers 503 with a page that says to run npm run build:web', async () => {
    for (const url of ['/', '/c/c_123']) {
      const res = await unbuilt.inject({ url });
      expect(res.statusCode).toBe(503);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.body).toContain('npm run build:web');
    }
  });

  it('[§11] serves index.html at / and for client routes, never cached, with a same-origin CSP', async () => {
    for (const url of ['/', '/c/c_123', '/c/c_123?x=1']) {
      const res = await built.inject({ url });
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe(INDEX);
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('[§11] serves hashed bundles for good, other files uncached; a missing file is a 404, not index.html', async () => {
    const bundle = await built.inject({ url: '/assets/index-abc123.js' });
    expect(bundle.statusCode).toBe(200);
    expect(bundle.body).toBe('console.log("bundle")');
    expect(bundle.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const icon = await built.inject({ url: '/favicon.svg' });
    expect(icon.statusCode).toBe(200);
    expect(icon.headers['content-type']).toMatch(/^image\/svg\+xml/);
    expect(icon.headers['cache-control']).toBeUndefined();
    for (const url of ['/assets/index-gone.js', '/robots.txt']) {
      expect((await built.inject({ url })).statusCode).toBe(404);
    }
  });

  it('[§11] never serves a file outside web/dist', async () => {
    for (const url of [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/..%2fsecret.txt',
      '/%2e%2e%2fsecret.txt',
      `/${join(root, 'secret.txt')}`,
      `/${encodeURIComponent(join(root, 'secret.txt'))}`,
    ]) {
      const res = await built.inject({ url });
      expect(res.body, url).not.toContain('outside the dist folder');
      expect(res.statusCode, url).not.toBe(200);
    }
  });
});

describe('dashboard routes on the real server (SPEC §11)', () => {
  let server: Running;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('[§11][§7] API and webhook paths are never answered with the dashboard', async () => {
    const api = await fetch(`${server.url}/api/no-such-route`, { headers: { accept: 'text/html' } });
    expect(api.status).toBe(401);
    expect(await api.json()).toMatchObject({ error: { code: 'unauthorized' } });
    const webhook = await fetch(`${server.url}/webhooks/no-such-provider`, { headers: { accept: 'text/html' } });
    expect(webhook.status).toBe(404);
    expect(await webhook.json()).toMatchObject({ error: { code: 'not_found' } });
    const health = await fetch(`${server.url}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok' });
    // `/` is the dashboard, built or not: never the JSON 404.
    const home = await fetch(`${server.url}/`);
    expect([200, 503]).toContain(home.status);
    expect(home.headers.get('content-type')).toMatch(/^text\/html/);
  });
});
