import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registeredRoutes } from '../../src/http/auth.js';
import { OPENAPI_DOCUMENT, openApiPath } from '../../src/http/openapi.js';
import type { Running } from '../../src/main.js';
import { startTestServer, TEST_SECRETS } from '../support/app.js';

/**
 * Issue 17: the OpenAPI document lists only routes that exist. The other direction (every route is
 * documented) is checked in test/api/auth.test.ts. Until the knowledge routes (issue 10) are merged,
 * this fails naming `/api/knowledge` — on purpose: the document must not promise a 404.
 */
describe('the OpenAPI document against the route table', () => {
  let server: Running;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('[§7 openapi] every documented operation is a registered route', () => {
    const routes = new Set(registeredRoutes(server.app).map((r) => `${r.method} ${openApiPath(r.url)}`));
    expect(routes.size).toBeGreaterThan(10);
    const missing: string[] = [];
    for (const [path, operations] of Object.entries(OPENAPI_DOCUMENT.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(operations)) {
        if (!['get', 'put', 'post', 'delete', 'patch'].includes(method)) continue;
        if (!routes.has(`${method.toUpperCase()} ${path}`)) missing.push(`${method.toUpperCase()} ${path}`);
      }
    }
    expect(missing, `documented but not routed: ${missing.join(', ')}`).toEqual([]);
  });

  it('[§7 openapi] every documented GET without path parameters answers something other than 404', async () => {
    const admin = await server.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: TEST_SECRETS.ADMIN_EMAIL, password: TEST_SECRETS.ADMIN_PASSWORD },
    });
    const cookie = String(admin.headers['set-cookie']).split(';')[0]!;
    const notFound: string[] = [];
    for (const [path, operations] of Object.entries(OPENAPI_DOCUMENT.paths as Record<string, Record<string, unknown>>)) {
      if (!('get' in operations) || path.includes('{') || path === '/api/events') continue;
      const res = await server.app.inject({ method: 'GET', url: path, headers: { cookie } });
      if (res.statusCode === 404) notFound.push(path);
    }
    expect(notFound, `documented GETs answering 404: ${notFound.join(', ')}`).toEqual([]);
  });
});
