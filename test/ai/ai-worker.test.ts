import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { noticeText } from '../../src/chat/notices.js';
import { createOpenAiResponder } from '../../src/ai/openai.responder.js';
import { startAiWorker } from '../../src/app/reply-with-ai.js';
import { loadConfig } from '../../src/config.js';
import { enqueueJob } from '../../src/store/job.store.js';
import { OpenAiFake } from '../fakes/openai.fake.js';
import { sleep, waitFor } from '../media/support.js';
import {
  admin,
  AI_DATABASES,
  AiHarness,
  conversationIdOf,
  conversationRow,
  expectGeneratedId,
  messagesOf,
  outboxOf,
  replies,
  sendMeta,
  sendText,
  settled,
  waitState,
} from './support.js';

/*
 * The AI worker (issue 10) in the real server, on SQLite and PostgreSQL, against a real local HTTP
 * server speaking the OpenAI API: debounce [AI1], the state check and the abort on takeover [AI3],
 * each hand-over reason [AI4], the notices in the customer's language [AI6], what the reply records.
 */

let fake: OpenAiFake;
beforeAll(async () => {
  fake = await OpenAiFake.start();
});
beforeEach(() => fake.reset());
afterAll(async () => {
  await fake.close();
});

describe.each(AI_DATABASES)('AI worker on %s', (kind) => {
  const h = new AiHarness(kind, () => ({
    AI_RESPONDER: 'openai',
    OPENAI_BASE_URL: fake.baseUrl,
    AI_MODEL: 'fake-model',
    OPENAI_API_KEY: 'sk-fake',
  }));
  beforeAll(() => h.setUp());
  afterEach(() => h.closeServers());
  afterAll(() => h.tearDown());

  it("[AI1] three messages within the debounce window get ONE reply, and the model's request holds all three", async () => {
    const server = await h.start({ AI_DEBOUNCE_MS: '600' });
    const from = h.unique();
    fake.push({ kind: 'text', content: 'A full-leg session is 120 USD and takes about an hour.' });
    for (const [i, text] of ['hi', 'how much is laser', 'for full legs'].entries()) {
      expect((await sendText(server, from, `wamid.DEB${from}${i}`, text)).status).toBe(200);
    }
    const conversationId = await conversationIdOf(server, from);
    const [reply, ...more] = await replies(server, conversationId);
    expect(more).toEqual([]);
    expect(fake.chats).toHaveLength(1);
    const userTurns = fake.chats[0]!.body.messages.filter((m) => m.role === 'user').map((m) => m.content);
    expect(userTurns).toEqual(['hi', 'how much is laser', 'for full legs']);

    expectGeneratedId(reply!.message_id);
    expect(reply!.status).toBe('pending');
    expect(reply!.text).toBe('A full-leg session is 120 USD and takes about an hour.');
    expect(reply!.meta).toMatchObject({
      handled_by: 'ai',
      model: 'fake-model',
      answers: [`wamid.DEB${from}0`, `wamid.DEB${from}1`, `wamid.DEB${from}2`],
      message_id: reply!.message_id,
    });
    expect(reply!.meta.latency_ms).toEqual(expect.any(Number));
    // Stored pending with its outbox job (the sender delivers it) [OUT1].
    expect((await outboxOf(server, conversationId)).map((m) => m.message_id)).toEqual([reply!.message_id]);
    const aiJobs = await server.ctx.store.reader.selectFrom('jobs').select(['status']).where('kind', '=', 'ai.reply').execute();
    expect(aiJobs.every((j) => j.status === 'done')).toBe(true);
  });

  it('[AI1] the history sent is bounded by AI_HISTORY_LIMIT, and a later message is answered on its own', async () => {
    const server = await h.start({ AI_HISTORY_LIMIT: '3', AI_DEBOUNCE_MS: '0' });
    const from = h.unique();
    const conversationId = await (async () => {
      await sendText(server, from, `wamid.H${from}0`, 'first');
      const id = await conversationIdOf(server, from);
      await replies(server, id, 1);
      return id;
    })();
    await sendText(server, from, `wamid.H${from}1`, 'second');
    await replies(server, conversationId, 2);
    await sendText(server, from, `wamid.H${from}2`, 'third');
    const all = await replies(server, conversationId, 3);
    expect(all.map((r) => r.meta.answers)).toEqual([[`wamid.H${from}0`], [`wamid.H${from}1`], [`wamid.H${from}2`]]);
    const last = fake.chats[2]!.body.messages;
    expect(last[0]!.role).toBe('system');
    expect(last.slice(1).map((m) => [m.role, m.content])).toEqual([
      ['user', 'second'],
      ['assistant', all[1]!.text],
      ['user', 'third'],
    ]);
  });

  it('[AI3] an operator takes over while the model is still answering: the generation is aborted, no AI message nor its outbox job is stored', async () => {
    const server = await h.start({ AI_DEBOUNCE_MS: '0' });
    const from = h.unique();
    fake.push({ kind: 'hold', content: 'an answer that must never be sent' });
    await sendText(server, from, `wamid.TK${from}`, 'tell me about botox');
    const conversationId = await conversationIdOf(server, from);
    await fake.waitHeld(1);
    const operator = await admin(server);
    expect((await operator.post(`/api/conversations/${conversationId}/takeover`, {})).status).toBe(200);
    // The worker notices the takeover and closes the request; the answer released afterwards finds no one.
    await waitFor(async () => fake.chats[0]!.aborted, 'the generation to be aborted');
    fake.release();
    await settled(server, conversationId);
    await sleep(300);
    const messages = await messagesOf(server, conversationId);
    expect(messages.filter((m) => m.role === 'assistant')).toEqual([]);
    expect((await outboxOf(server, conversationId)).map((m) => m.meta.notice)).toEqual(['operator_joined']);
    expect((await conversationRow(server, conversationId)).state).toBe('operator');
  });

  it('[AI3] what a customer types (/takeover, /release) changes nothing: the AI answers it like any message', async () => {
    const server = await h.start({ AI_DEBOUNCE_MS: '0' });
    const from = h.unique();
    await sendText(server, from, `wamid.CMD${from}0`, '/takeover');
    const conversationId = await conversationIdOf(server, from);
    await replies(server, conversationId, 1);
    await sendText(server, from, `wamid.CMD${from}1`, '/release');
    await replies(server, conversationId, 2);
    const row = await conversationRow(server, conversationId);
    expect(row.state).toBe('ai');
    expect(row.operator_id).toBeNull();
  });

  it('[AI4] a request for a human hands over user_requested without calling the model; the customer is told in English', async () => {
    const server = await h.start({ AI_DEBOUNCE_MS: '0' });
    const from = h.unique();
    await sendText(server, from, `wamid.HU${from}`, 'I want to talk to a human please');
    const conversationId = await conversationIdOf(server, from);
    const row = await waitState(server, conversationId, 'waiting');
    expect(JSON.parse(row.handover!)).toMatchObject({ reason: 'user_requested', at: expect.any(String) });
    expect(fake.chats).toEqual([]);
    const notices = (await messagesOf(server, conversationId)).filter((m) => m.meta.notice);
    expect(notices.map((m) => [m.role, m.status, m.meta.notice, m.text])).toEqual([
      ['system', 'pending', 'handover_requested', noticeText('handover_requested', 'en', {})],
    ]);
    expectGeneratedId(notices[0]!.message_id);
    const events = await server.ctx.store.reader
      .selectFrom('events')
      .selectAll()
      .where('type', '=', 'conversation_updated')
      .where('conversation_id', '=', conversationId)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(JSON.parse(events.payload)).toMatchObject({ state: 'waiting', handover: { reason: 'user_requested' } });
  });

  it("[AI4] the model's handover tool hands over ai_requested with its reason as note", async () => {
    const server = await h.start({ AI_DEBOUNCE_MS: '0' });
    const from = h.unique();
    fake.push({ kind: 'tool', name: 'handover', arguments: { reason: 'asks for a refund of a paid package' } });
    await sendText(server, from, `wamid.AR${from}`, 'I paid for 6 sessions and moved abroad, can I get my money back');
    const conversationId = await conversationIdOf(server, from);
    const row = await waitState(server, conversationId, 'waiting');
    expect(JSON.parse(row.handover!)).toMatchObject({ reason: 'ai_requested', note: 'asks for a refund of a paid package' });
    expect((await messagesOf(server, conversationId)).filter((m) => m.role === 'assistant')).toEqual([]);
    expect(fake.chats[0]!.body.tools?.[0]?.function.name).toBe('handover');
  });

  it('[AI4] angry messages hand over sentiment', async () => {
    const server = await h.start({ AI_DEBOUNCE_MS: '0' });
    const from = h.unique();
    await sendText(
      server,
      from,
      `wamid.SE${from}`,
      'This is unacceptable!!! You burned my skin, worst clinic ever, I am furious and I will sue you',
    );
    const conversationId = await conversationIdOf(server, from);
    const row = await waitState(server, conversationId, 'waiting');
    expect(JSON.parse(row.handover!)).toMatchObject({ reason: 'sentiment' });
    expect(fake.chats).toEqual([]);
  });

  it('[AI4] repeated responder failures (500, 429, 500 with AI_MAX_ATTEMPTS=3) hand over ai_failed; nothing half-made is stored', async () => {
    const server = await h.start({ AI_DEBOUNCE_MS: '0', AI_MAX_ATTEMPTS: '3' });
    const from = h.unique();
    fake.push({ kind: 'error', status: 500 }, { kind: 'error', status: 429, retryAfterSeconds: 0 }, { kind: 'error', status: 500 });
    await sendText(server, from, `wamid.FA${from}`, 'do you do microneedling?');
    const conversationId = await conversationIdOf(server, from);
    const row = await waitState(server, conversationId, 'waiting');
    expect(JSON.parse(row.handover!)).toMatchObject({ reason: 'ai_failed', note: expect.stringMatching(/^responder_http_500/) });
    expect(fake.chats).toHaveLength(3);
    const messages = await messagesOf(server, conversationId);
    expect(messages.filter((m) => m.role === 'assistant')).toEqual([]);
    expect(messages.filter((m) => m.meta.notice).map((m) => m.meta.notice)).toEqual(['handover_requested']);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/switchboard_handovers_total\{reason="ai_failed"\} 1/);
    expect(metrics).toMatch(/switchboard_ai_responder_errors_total\{responder="openai"\} 3/);
  });

  it("[AI5] after a hand-back the model sees the operator's message and the release marker", async () => {
    const server = await h.start({ AI_DEBOUNCE_MS: '0' });
    const from = h.unique();
    await sendText(server, from, `wamid.RB${from}0`, 'I want to talk to a human');
    const conversationId = await conversationIdOf(server, from);
    await waitState(server, conversationId, 'waiting');
    const operator = await admin(server);
    expect((await operator.post(`/api/conversations/${conversationId}/takeover`, {})).status).toBe(200);
    expect(
      (await operator.post(`/api/conversations/${conversationId}/messages`, { text: 'Hi, Dr. Karam can see you Monday.' })).status,
    ).toBe(201);
    expect((await operator.post(`/api/conversations/${conversationId}/release`, {})).status).toBe(200);
    await sendText(server, from, `wamid.RB${from}1`, 'thanks, and the price?');
    await replies(server, conversationId, 1);
    const sent = fake.chats[0]!.body.messages;
    expect(
      sent.some(
        (m) =>
          m.role === 'assistant' && String(m.content).includes('[written by a human operator') && String(m.content).includes('Dr. Karam'),
      ),
    ).toBe(true);
    expect(sent.some((m) => m.role === 'system' && String(m.content).startsWith('[event: released]'))).toBe(true);
    expect(sent.at(-1)).toEqual({ role: 'user', content: 'thanks, and the price?' });
    const notices = (await messagesOf(server, conversationId)).filter((m) => m.meta.notice).map((m) => m.meta.notice);
    expect(notices).toEqual(['handover_requested', 'operator_joined', 'handed_back']);
  });

  it('[AI6] notices come in Arabic for an Arabic-writing customer (hand-over, "<operator> joined", ended) and the contact\'s language is stored', async () => {
    const server = await h.start({ AI_DEBOUNCE_MS: '0' });
    const from = h.unique();
    await sendText(server, from, `wamid.AR6${from}`, 'بدي احكي مع حدا من فضلك');
    const conversationId = await conversationIdOf(server, from);
    await waitState(server, conversationId, 'waiting');
    const operator = await admin(server);
    const name: string = (await operator.get('/api/auth/me')).body.operator.name;
    expect((await operator.post(`/api/conversations/${conversationId}/takeover`, {})).status).toBe(200);
    expect((await operator.post(`/api/conversations/${conversationId}/resolve`, {})).status).toBe(200);
    const notices = (await messagesOf(server, conversationId)).filter((m) => m.meta.notice);
    expect(notices.map((m) => [m.meta.notice, m.text])).toEqual([
      ['handover_requested', noticeText('handover_requested', 'ar', {})],
      ['operator_joined', noticeText('operator_joined', 'ar', { operator_name: name })],
      ['conversation_ended', noticeText('conversation_ended', 'ar', {})],
    ]);
    expect(notices[1]!.text).toContain(name);
    expect((await outboxOf(server, conversationId)).map((m) => m.meta.notice)).toEqual([
      'handover_requested',
      'operator_joined',
      'conversation_ended',
    ]);
    const view = await operator.get(`/api/conversations/${conversationId}`);
    expect(view.body.contact.language).toBe('ar');
  });

  it('[AI6] and in English for an English-writing customer', async () => {
    const server = await h.start({ AI_DEBOUNCE_MS: '0' });
    const from = h.unique();
    await sendText(server, from, `wamid.EN6${from}`, 'Can I speak to a real person?');
    const conversationId = await conversationIdOf(server, from);
    await waitState(server, conversationId, 'waiting');
    const operator = await admin(server);
    expect((await operator.post(`/api/conversations/${conversationId}/takeover`, {})).status).toBe(200);
    const notices = (await messagesOf(server, conversationId)).filter((m) => m.meta.notice);
    expect(notices.map((m) => m.text)).toEqual([
      noticeText('handover_requested', 'en', {}),
      noticeText('operator_joined', 'en', { operator_name: (await operator.get('/api/auth/me')).body.operator.name }),
    ]);
    expect((await operator.get(`/api/conversations/${conversationId}`)).body.contact.language).toBe('en');
  });
});

describe.each(AI_DATABASES)('AI worker with the faq responder on %s', (kind) => {
  const h = new AiHarness(kind, () => ({ AI_RESPONDER: 'faq', AI_DEBOUNCE_MS: '0' }));
  beforeAll(() => h.setUp());
  afterEach(() => h.closeServers());
  afterAll(() => h.tearDown());

  it('[AI7] answers from the seeded knowledge base; the reply names the entry, its score and handled_by faq', async () => {
    const server = await h.start();
    const from = h.unique();
    await sendText(server, from, `wamid.FAQ${from}`, 'how much does laser hair removal cost for full legs?');
    const conversationId = await conversationIdOf(server, from);
    const [reply] = await replies(server, conversationId);
    expectGeneratedId(reply!.message_id);
    expect(reply!.meta).toMatchObject({
      handled_by: 'faq',
      knowledge_id: expect.any(String),
      knowledge_question: 'How much does laser hair removal cost?',
      answers: [`wamid.FAQ${from}`],
    });
    expect(reply!.meta.score).toEqual(expect.any(Number));
    expect(reply!.text).toContain('full legs $180');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/switchboard_ai_replies_total\{responder="faq"\} 1/);
    expect(metrics).toMatch(/switchboard_ai_reply_duration_seconds_count\{responder="faq"\} 1/);
  });

  it('[AI1] a reaction to the reply (👍) is not answered; with a question in the same window only the question is', async () => {
    const server = await h.start();
    const from = h.unique();
    await sendText(server, from, `wamid.RCT${from}1`, 'what are your opening hours?');
    const conversationId = await conversationIdOf(server, from);
    const [reply] = await replies(server, conversationId);
    expect(reply!.meta.knowledge_question).toBe('What are your opening hours?');
    const sent = reply!.meta.provider_message_id ?? reply!.message_id;
    expect(
      (await sendMeta(server, from, [{ id: `wamid.RCT${from}2`, type: 'reaction', reaction: { message_id: sent, emoji: '👍' } }])).status,
    ).toBe(200);
    await waitFor(async () => (await messagesOf(server, conversationId)).some((m) => m.type === 'reaction'), 'the reaction stored');
    await sleep(300);
    await settled(server, conversationId);
    expect((await messagesOf(server, conversationId)).map((m) => [m.role, m.type])).toEqual([
      ['user', 'text'],
      ['assistant', 'text'],
      ['user', 'reaction'],
    ]);

    // A question and a reaction in one window: the question is answered, the reaction is not read as its words.
    expect(
      (
        await sendMeta(server, from, [
          { id: `wamid.RCT${from}3`, type: 'text', text: { body: 'do you have parking?' } },
          { id: `wamid.RCT${from}4`, type: 'reaction', reaction: { message_id: sent, emoji: '😡' } },
        ])
      ).status,
    ).toBe(200);
    const [, second, ...more] = await replies(server, conversationId, 2);
    expect(more).toEqual([]);
    expect(second!.meta.knowledge_question).toMatch(/parking/i);
    // The first reaction was left unanswered; the reply covers it with the rest.
    expect(second!.meta.answers).toEqual([`wamid.RCT${from}2`, `wamid.RCT${from}3`, `wamid.RCT${from}4`]);
    expect((await conversationRow(server, conversationId)).state).toBe('ai');
  });

  it("[AI6] AI_NOTICES_FILE overrides a notice's text for its language", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-notices-'));
    const file = join(dir, 'notices.json');
    writeFileSync(file, JSON.stringify({ en: { handover_requested: 'Hold on, a human from Lumière is coming.' } }));
    const server = await h.start({ AI_NOTICES_FILE: file });
    const from = h.unique();
    await sendText(server, from, `wamid.NOT${from}`, 'please let me talk to a human');
    const conversationId = await conversationIdOf(server, from);
    await waitState(server, conversationId, 'waiting');
    const notices = (await messagesOf(server, conversationId)).filter((m) => m.meta.notice);
    expect(notices.map((m) => m.text)).toEqual(['Hold on, a human from Lumière is coming.']);
  });
});

describe('AI settings (issue 10)', () => {
  it('[AI6] a bad AI_NOTICES_FILE stops the start with a message naming it and the bad key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-notices-bad-'));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ en: { handover_requestd: 'typo' } }));
    expect(() => loadConfig({ AI_NOTICES_FILE: bad })).toThrow(/AI_NOTICES_FILE=.*handover_requestd/);
    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, '{ nope');
    expect(() => loadConfig({ AI_NOTICES_FILE: notJson })).toThrow(/AI_NOTICES_FILE=/);
    expect(() => loadConfig({ AI_NOTICES_FILE: join(dir, 'missing.json') })).toThrow(/AI_NOTICES_FILE=.*ENOENT/);
    expect(() => loadConfig({ AI_RETRY_BASE_MS: '0', AI_CONCURRENCY: 'many' })).toThrow(/AI_RETRY_BASE_MS[\s\S]*AI_CONCURRENCY/);
  });
});

describe('AI worker hooks and bad jobs (issue 10)', () => {
  const h = new AiHarness('sqlite', () => ({
    AI_RESPONDER: 'openai',
    OPENAI_BASE_URL: fake.baseUrl,
    AI_MODEL: 'fake-model',
    AI_DEBOUNCE_MS: '0',
  }));
  afterEach(() => h.closeServers());

  it('onGenerating is told the conversation and the latest customer message when a generation starts; a failing hook does not stop the reply', async () => {
    const server = await h.start({ AI_DEBOUNCE_MS: '500' });
    // The server's own worker is stopped; this one carries the hook (as the integrator wires the typing indicator).
    await server.jobs.ai!.stop();
    const calls: [string, string][] = [];
    const responder = createOpenAiResponder({
      baseUrl: fake.baseUrl,
      apiKey: null,
      model: 'fake-model',
      systemPrompt: null,
      vision: false,
      timeoutMs: 5_000,
    });
    const worker = startAiWorker(server.ctx, {
      responder,
      onGenerating: (conversationId, messageId) => {
        calls.push([conversationId, messageId]);
        throw new Error('typing indicator failed');
      },
    });
    try {
      const from = h.unique();
      await sendText(server, from, `wamid.HOOK${from}0`, 'hello');
      await sendText(server, from, `wamid.HOOK${from}1`, 'are you open today?');
      worker.wake();
      const conversationId = await conversationIdOf(server, from);
      const [reply] = await replies(server, conversationId);
      expect(calls).toEqual([[conversationId, `wamid.HOOK${from}1`]]);
      expect(reply!.meta.answers).toEqual([`wamid.HOOK${from}0`, `wamid.HOOK${from}1`]);
    } finally {
      await worker.stop();
    }
  });

  it('an ai.reply job without its ids fails for good as bad_payload and stores nothing', async () => {
    const server = await h.start();
    const messagesBefore = await server.ctx.store.reader
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    await server.ctx.committer.run((tx) =>
      enqueueJob(tx.db, tx.dialect, { kind: 'ai.reply', dedupe_key: 'bad-payload-test', payload: { conversation_id: 42 } }),
    );
    server.jobs.ai!.wake();
    const job = await waitFor(async () => {
      const row = await server.ctx.store.reader
        .selectFrom('jobs')
        .selectAll()
        .where('dedupe_key', '=', 'bad-payload-test')
        .executeTakeFirstOrThrow();
      return row.status === 'failed' && row;
    }, 'the bad job to fail');
    expect(job.last_error).toMatch(/^bad_payload/);
    expect(job.attempts).toBe(1);
    const messagesAfter = await server.ctx.store.reader
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(messagesAfter.n)).toBe(Number(messagesBefore.n));
    expect(fake.chats).toEqual([]);
  });
});

describe.each(AI_DATABASES)('AI_RESPONDER=none on %s', (kind) => {
  const h = new AiHarness(kind, () => ({ AI_RESPONDER: 'none' }));
  beforeAll(() => h.setUp());
  afterEach(() => h.closeServers());
  afterAll(() => h.tearDown());

  it("[AI6] without an AI worker the takeover notice is still in the customer's language, detected then and stored", async () => {
    const server = await h.start();
    expect(server.jobs.ai).toBeNull();
    const from = h.unique();
    await sendText(server, from, `wamid.NONE${from}`, 'مرحبا، بدي موعد لجلسة ليزر بكرا');
    const conversationId = await conversationIdOf(server, from);
    expect((await conversationRow(server, conversationId)).state).toBe('waiting');
    const operator = await admin(server);
    expect((await operator.post(`/api/conversations/${conversationId}/takeover`, {})).status).toBe(200);
    const notices = (await messagesOf(server, conversationId)).filter((m) => m.meta.notice);
    expect(notices.map((m) => m.text)).toEqual([noticeText('operator_joined', 'ar', { operator_name: 'Administrator' })]);
    expect((await operator.get(`/api/conversations/${conversationId}`)).body.contact.language).toBe('ar');
  });
});
