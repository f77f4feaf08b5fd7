import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFaqResponder, type FaqResponder } from '../../src/ai/faq.responder.js';
import type { Running } from '../../src/main.js';
import { createPostgresDatabase, TEST_POSTGRES_URL, type TestDatabase } from '../support/databases.js';
import { metaTextPayload, postMeta, startTestServer } from '../support/app.js';
import { customerInput } from '../ai/faq-support.js';
import { ApiClient, createOperator, loginAdmin } from './api-client.js';

interface Target {
  kind: 'sqlite' | 'postgres';
  start(): Promise<{ server: Running; cleanup(): Promise<void> }>;
}

const targets: Target[] = [
  {
    kind: 'sqlite',
    start: async () => {
      const server = await startTestServer({ AI_RESPONDER: 'none' });
      return { server, cleanup: () => server.close() };
    },
  },
];
if (TEST_POSTGRES_URL) {
  targets.push({
    kind: 'postgres',
    start: async () => {
      const db: TestDatabase = await createPostgresDatabase();
      const server = await startTestServer({ DATABASE_URL: db.url, AI_RESPONDER: 'none' });
      return {
        server,
        cleanup: async () => {
          await server.close();
          await db.destroy();
        },
      };
    },
  });
}

describe.each(targets)('knowledge API on $kind [AI7]', (target) => {
  let server: Running;
  let cleanup: () => Promise<void>;
  let admin: ApiClient;
  let olga: { client: ApiClient; id: string };
  let faq: FaqResponder;

  /** Every knowledge row as stored, deleted ones included: what "data untouched" compares. */
  const snapshot = () => server.ctx.store.reader.selectFrom('knowledge').selectAll().orderBy('id').execute();
  const ask = (text: string) => faq.respond(customerInput([text]));

  beforeAll(async () => {
    ({ server, cleanup } = await target.start());
    admin = await loginAdmin(server.url);
    olga = await createOperator(admin, 'olga@example.test', 'Olga');
    faq = createFaqResponder(server.ctx);
  });
  afterAll(() => cleanup());

  it('[AI7] an operator saves an AI reply as a Q&A; the next matching question is answered with it', async () => {
    expect((await postMeta(server.url, metaTextPayload('wamid.kb.1', '16505550101', 'do you do tattoo removal?'))).status).toBe(200);
    const conversation = (await admin.get('/api/conversations?q=16505550101')).body.conversations[0];
    const before = await ask('Can you remove an old tattoo?');
    expect(before.kind === 'reply' && before.origin.clarifying).toBe(true);

    const res = await olga.client.post('/api/knowledge', {
      question: 'Do you do tattoo removal?',
      answer: 'Yes: laser tattoo removal from $100 a session, usually 5 to 10 sessions.',
      language: 'en',
      alternates: ['Can you remove a tattoo?'],
      conversation_id: conversation.conversation_id,
      from_message_id: 'wamid.kb.1',
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      question: 'Do you do tattoo removal?',
      language: 'en',
      alternates: ['Can you remove a tattoo?'],
      tags: [],
      source: 'dashboard',
      created_by: olga.id,
      from: { conversation_id: conversation.conversation_id, message_id: 'wamid.kb.1' },
      deleted_at: null,
    });
    expect(res.body.id).toMatch(/^kb_[0-9a-f]{16}$/);
    expect((await olga.client.get(`/api/knowledge/${res.body.id}`)).body).toEqual(res.body);

    const after = await ask('Can you remove an old tattoo?');
    expect(after).toMatchObject({
      kind: 'reply',
      text: 'Yes: laser tattoo removal from $100 a session, usually 5 to 10 sessions.',
      origin: { handled_by: 'faq', knowledge_id: res.body.id },
    });
  });

  it('an entry added with an API token is recorded as source api', async () => {
    const { body: token } = await olga.client.post('/api/auth/tokens', { name: 'kb-script' });
    const bearer = new ApiClient(server.url, { token: token.token });
    const res = await bearer.post('/api/knowledge', { question: 'Do you have a loyalty card?', answer: 'Yes: every 10th facial is free.' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ source: 'api', language: null, from: null, created_by: olga.id });
  });

  it('bad input gets validation_failed (or message_not_found) and stores nothing', async () => {
    const before = await snapshot();
    const cases: [unknown, number, string][] = [
      [{ question: '   ', answer: 'x' }, 400, 'validation_failed'],
      [{ question: 'q?' }, 400, 'validation_failed'],
      [{ question: 'q?', answer: 'a', language: 'english' }, 400, 'validation_failed'],
      [{ question: 'q?', answer: 'a', colour: 'red' }, 400, 'validation_failed'],
      [{ question: 'q?', answer: 'a', from_message_id: 'wamid.kb.1' }, 400, 'validation_failed'],
      [{ question: 'q?', answer: 'x'.repeat(5000) }, 400, 'validation_failed'],
      [{ question: 'q?', answer: 'a', alternates: 'not a list' }, 400, 'validation_failed'],
      [{ question: 'q?', answer: 'a', conversation_id: 'c_nope', from_message_id: 'wamid.nope' }, 404, 'message_not_found'],
      ['not json', 400, 'validation_failed'],
    ];
    for (const [body, status, code] of cases) {
      const res = await olga.client.post('/api/knowledge', body);
      expect([res.status, res.body.error?.code], JSON.stringify(body)).toEqual([status, code]);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('operators get 403 forbidden on PUT and DELETE, and the entry stays as it was', async () => {
    const { body: entry } = await olga.client.post('/api/knowledge', { question: 'Do you do teeth whitening?', answer: 'No, we do not.' });
    const before = await snapshot();
    const put = await olga.client.put(`/api/knowledge/${entry.id}`, { answer: 'Yes!' });
    expect([put.status, put.body.error.code]).toEqual([403, 'forbidden']);
    const del = await olga.client.request('DELETE', `/api/knowledge/${entry.id}`);
    expect([del.status, del.body.error.code]).toEqual([403, 'forbidden']);
    expect(await snapshot()).toEqual(before);
    expect(await ask('can I get my teeth whitened')).toMatchObject({ kind: 'reply', text: 'No, we do not.' });
  });

  it('[AI7] an admin corrects an answer in place: the next reply uses the correction', async () => {
    const { body: entry } = await olga.client.post('/api/knowledge', {
      question: 'Do you do microneedling?',
      answer: 'Yes, $150 a session.',
      language: 'en',
    });
    expect((await ask('is microneedling something you do?')).origin.knowledge_id).toBe(entry.id);
    const res = await admin.put(`/api/knowledge/${entry.id}`, { answer: 'Yes, $130 a session this month.', tags: ['skin'] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: entry.id,
      question: 'Do you do microneedling?',
      answer: 'Yes, $130 a session this month.',
      tags: ['skin'],
      created_at: entry.created_at,
    });
    expect(res.body.updated_at >= entry.updated_at).toBe(true);
    expect(await ask('is microneedling something you do?')).toMatchObject({
      kind: 'reply',
      text: 'Yes, $130 a session this month.',
      origin: { knowledge_id: entry.id },
    });

    const before = await snapshot();
    expect((await admin.put(`/api/knowledge/${entry.id}`, {})).status).toBe(400);
    expect((await admin.put(`/api/knowledge/${entry.id}`, { answer: '' })).status).toBe(400);
    expect((await admin.put('/api/knowledge/kb_unknown', { answer: 'x' })).body.error.code).toBe('not_found');
    expect(await snapshot()).toEqual(before);
  });

  it('[AI7] an admin deletes an entry: it stops answering, stays readable by id, and leaves the list', async () => {
    const { body: entry } = await olga.client.post('/api/knowledge', {
      question: 'Do you do cryolipolysis?',
      answer: 'Yes, $300 per zone.',
      language: 'en',
    });
    expect((await ask('do you do cryolipolysis fat freezing?')).origin.knowledge_id).toBe(entry.id);
    const res = await admin.request('DELETE', `/api/knowledge/${entry.id}`);
    expect(res.status).toBe(200);
    expect(res.body.deleted_at).not.toBeNull();
    const after = await ask('do you do cryolipolysis fat freezing?');
    expect(after.origin.knowledge_id).not.toBe(entry.id);
    expect((await admin.get(`/api/knowledge/${entry.id}`)).body.deleted_at).toBe(res.body.deleted_at);
    expect((await admin.get('/api/knowledge?q=cryolipolysis')).body.entries).toEqual([]);
    expect((await admin.request('DELETE', `/api/knowledge/${entry.id}`)).status).toBe(404);
    expect((await admin.put(`/api/knowledge/${entry.id}`, { answer: 'back' })).status).toBe(404);
  });

  it('lists with a search and cursor pages; a bad cursor or limit is validation_failed', async () => {
    for (const n of [1, 2, 3]) {
      expect((await olga.client.post('/api/knowledge', { question: `Zephyr question ${n}?`, answer: `Zephyr answer ${n}.` })).status).toBe(
        201,
      );
    }
    const first = await olga.client.get('/api/knowledge?q=ZEPHYR&limit=2');
    expect(first.body.entries.map((e: { question: string }) => e.question)).toEqual(['Zephyr question 1?', 'Zephyr question 2?']);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await olga.client.get(`/api/knowledge?q=zephyr&limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body).toEqual({ entries: [expect.objectContaining({ question: 'Zephyr question 3?' })], next_cursor: null });
    // LIKE wildcards in q are literal characters.
    expect((await olga.client.get('/api/knowledge?q=_')).body.entries).toEqual([]);
    expect((await olga.client.get('/api/knowledge?q=zephyr%25answer')).body.entries).toEqual([]);
    expect((await olga.client.get('/api/knowledge?cursor=garbage')).body.error.code).toBe('validation_failed');
    expect((await olga.client.get('/api/knowledge?limit=1000')).status).toBe(400);
    expect((await olga.client.get('/api/knowledge/kb_unknown')).status).toBe(404);
    expect((await new ApiClient(server.url).get('/api/knowledge')).status).toBe(401);
  });
});
