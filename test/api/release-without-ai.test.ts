import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Running } from '../../src/main.js';
import { metaTextPayload, postMeta, startTestServer } from '../support/app.js';
import { ApiClient, createOperator, loginAdmin } from './api-client.js';

/*
 * [AI5] With AI_RESPONDER=none there is no assistant to hand a conversation back to: "release" puts
 * it back in the queue (`waiting`, unowned) for any operator, tells the customer nothing, and the
 * dashboard learns from /api/auth/me that it should offer "Back to queue", not "Hand back to AI".
 */
describe('release with AI_RESPONDER=none (SQLite)', () => {
  let server: Running;
  let admin: ApiClient;
  let olga: ApiClient;

  beforeAll(async () => {
    server = await startTestServer({ AI_RESPONDER: 'none' });
    admin = await loginAdmin(server.url);
    olga = (await createOperator(admin, 'olga@example.test', 'Olga')).client;
  });
  afterAll(() => server.close());

  it("[AI5] the operator's release puts the conversation back in the queue, without a notice to the customer", async () => {
    expect((await postMeta(server.url, metaTextPayload('wamid.noai.1', '96174000001', 'hello?'))).status).toBe(200);
    const listed = await admin.get('/api/conversations?q=96174000001');
    const id = listed.body.conversations[0].conversation_id as string;
    expect(listed.body.conversations[0].state).toBe('waiting');

    expect((await olga.post(`/api/conversations/${id}/takeover`)).body.state).toBe('operator');
    const released = await olga.post(`/api/conversations/${id}/release`);
    expect(released.status).toBe(200);
    expect(released.body).toMatchObject({ state: 'waiting', operator: null });

    const details = await admin.get(`/api/conversations/${id}`);
    const last = details.body.messages.at(-1);
    expect(last).toMatchObject({
      role: 'system',
      type: 'event',
      metadata: { event: 'released' },
      text: 'Olga put the conversation back in the queue',
    });
    expect(details.body.messages.filter((m: any) => m.metadata?.notice === 'handed_back')).toEqual([]);
    expect((await admin.get('/api/conversations?state=waiting')).body.conversations.map((c: any) => c.conversation_id)).toContain(id);

    // A waiting conversation has nothing to be released to: refused, nothing written.
    const before = (await admin.get(`/api/conversations/${id}`)).body.messages.length;
    const again = await olga.post(`/api/conversations/${id}/release`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('invalid_transition');
    expect((await admin.get(`/api/conversations/${id}`)).body.messages.length).toBe(before);
  });

  it('[AI5] /api/auth/me says which responder runs, so the dashboard offers "Back to queue"', async () => {
    expect((await olga.get('/api/auth/me')).body).toMatchObject({ operator: { name: 'Olga' }, ai_responder: 'none' });
  });
});
