import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Running } from '../../src/main.js';
import { createOperator, loginAdmin, type ApiClient } from '../api/api-client.js';
import { startTestServer } from '../support/app.js';
import { SseClient } from '../support/sse-client.js';

/*
 * An SSE stream is authenticated when it opens; these tests show it does not outlive its session
 * (SPEC §10): logout, a disabled operator and a revoked session end open streams, and the reconnect
 * is refused.
 */
describe('SSE streams end with their session', () => {
  let server: Running;
  let admin: ApiClient;

  beforeAll(async () => {
    server = await startTestServer({ SSE_SESSION_CHECK_MS: '100' });
    admin = await loginAdmin(server.url);
  });
  afterAll(async () => {
    await server.close();
  });

  async function openStream(client: ApiClient): Promise<SseClient> {
    const stream = await SseClient.open(server.url, { cookie: client.credentials.cookie });
    expect(stream.status).toBe(200);
    return stream;
  }

  it('logout ends the open stream within the check interval, and the reconnect gets 401', async () => {
    const { client } = await createOperator(admin, 'leaving@example.test', 'Leaving');
    const stream = await openStream(client);
    const other = await openStream(admin);
    expect((await client.post('/api/auth/logout')).status).toBe(200);
    await Promise.race([
      stream.ended,
      new Promise((_, reject) => setTimeout(() => reject(new Error('stream still open 5 s after logout')), 5_000)),
    ]);
    expect(stream.isEnded).toBe(true);
    expect(other.isEnded).toBe(false); // another session's stream is untouched
    const again = await SseClient.open(server.url, { cookie: client.credentials.cookie });
    expect(again.status).toBe(401);
    again.close();
    other.close();
  });

  it('disabling an operator ends their open streams', async () => {
    const { client, id } = await createOperator(admin, 'disabled@example.test', 'Disabled');
    const stream = await openStream(client);
    expect((await admin.post(`/api/operators/${id}/disable`)).status).toBe(200);
    await Promise.race([
      stream.ended,
      new Promise((_, reject) => setTimeout(() => reject(new Error('stream still open 5 s after disable')), 5_000)),
    ]);
    expect(stream.isEnded).toBe(true);
  });

  it('a stream whose session stays valid keeps running across many checks', async () => {
    const stream = await openStream(admin);
    await new Promise((r) => setTimeout(r, 600));
    expect(stream.isEnded).toBe(false);
    stream.close();
  });
});
