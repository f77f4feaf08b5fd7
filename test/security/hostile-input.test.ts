import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Running } from '../../src/main.js';
import { ApiClient, loginAdmin } from '../api/api-client.js';
import { metaMessagesPayload, metaTextPayload, postMeta, startTestServer } from '../support/app.js';
import { sharedDatabases, type TestDatabase } from '../support/databases.js';
import { montyTextPayload, qiscusTextPayload, sendWebhook, storedCounts } from '../support/webhook-senders.js';

/**
 * Issue 14: what a careless client or an attacker sends to the JSON API and the webhooks: deep
 * nesting, huge arrays, NUL bytes, lone surrogates, 100,000-character texts, numbers for strings,
 * `__proto__` keys, wrong content types, very large headers. Never a 5xx, never a crash; a refused
 * request stores nothing; /readyz stays green. On SQLite and PostgreSQL (NUL and lone surrogates
 * are where PostgreSQL's text and jsonb differ from SQLite).
 */
const DEEP = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
const DEEP_OBJECT = `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`;
const HUGE_ARRAY = `[${'0,'.repeat(1_000_000)}0]`;
const LONG = 'x'.repeat(100_000);

/** JSON bodies every JSON route gets; each is wrong for every route, or an edge it must survive. */
const BODIES: [string, string][] = [
  ['deep array', DEEP],
  ['deep object', DEEP_OBJECT],
  ['huge array', HUGE_ARRAY],
  ['deep inside a field', `{"text":${DEEP},"question":${DEEP},"status":${DEEP},"email":${DEEP}}`],
  [
    'NUL bytes',
    JSON.stringify({
      text: 'a\u0000b',
      question: 'q\u0000?',
      answer: 'a\u0000',
      email: 'x\u0000@example.test',
      password: 'p\u0000',
      name: 'n\u0000',
      status: 'busy\u0000',
    }),
  ],
  [
    'lone surrogates',
    '{"text":"\\ud800 alone \\udfff","question":"\\ud83d?","answer":"\\udc00","email":"\\ud800@x.test","password":"\\ud800\\ud800","name":"\\udbff"}',
  ],
  [
    '100,000 characters',
    JSON.stringify({ text: LONG, question: LONG, answer: LONG, email: LONG, password: LONG, name: LONG, status: LONG }),
  ],
  ['numbers for strings', '{"text":42,"question":1e308,"answer":-0,"email":12345,"password":1,"name":3.14,"status":0,"force":"true"}'],
  ['__proto__ keys', '{"__proto__":{"role":"admin","isAdmin":true},"constructor":{"prototype":{"x":1}},"text":"proto","status":"busy"}'],
  ['nested __proto__', '{"text":"x","tags":[{"__proto__":null}],"alternates":{"__proto__":["a"]}}'],
  ['a bare string', '"just a string"'],
  ['null', 'null'],
  ['an empty body', ''],
  ['broken JSON', '{"text": "unterminated'],
  ['BOM first', '\ufeff{"text":"bom"}'],
  ['huge number', `{"limit":${'9'.repeat(5_000)},"expires_in_days":${'9'.repeat(400)}}`],
];

const CONTENT_TYPES = [
  'application/xml',
  'application/json; charset=utf-16',
  'application/x-www-form-urlencoded',
  'application/octet-stream',
  'application/jsonx',
  'text/json',
];

for (const factory of sharedDatabases()) {
  describe(`hostile input on ${factory.kind}`, () => {
    let database: TestDatabase;
    let server: Running;
    let admin: ApiClient;
    let conversationId: string;

    beforeAll(async () => {
      database = await factory.create();
      server = await startTestServer(factory.kind === 'sqlite' ? {} : { DATABASE_URL: database.url });
      admin = await loginAdmin(server.url);
      expect((await postMeta(server.url, metaTextPayload(`wamid.HOST${Date.now()}`, '16505550333'))).status).toBe(200);
      const list = (await admin.get('/api/conversations')).body;
      const c = (list.conversations ?? list.items)[0];
      conversationId = c.conversation_id ?? c.id;
      expect((await admin.post(`/api/conversations/${conversationId}/takeover`, {})).status).toBe(200);
    });
    afterAll(async () => {
      await server?.close();
      await database?.destroy();
    });

    async function snapshot() {
      const db = server.ctx.store.reader;
      const count = async (table: 'knowledge' | 'operators' | 'sessions') =>
        Number(
          (
            await db
              .selectFrom(table)
              .select((eb) => eb.fn.countAll<string | number>().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        );
      return {
        ...(await storedCounts(db)),
        knowledge: await count('knowledge'),
        operators: await count('operators'),
        sessions: await count('sessions'),
      };
    }

    it('[§7 input] every JSON route, every hostile body: 4xx or a clean success, never a 5xx; refused ones store nothing', async () => {
      const routes: [string, string][] = [
        ['POST', `/api/conversations/${conversationId}/messages`],
        ['POST', `/api/conversations/${conversationId}/takeover`],
        ['POST', '/api/knowledge'],
        ['PUT', '/api/knowledge/kn_nope'],
        ['POST', '/api/auth/login'],
        ['POST', '/api/auth/tokens'],
        ['POST', '/api/operators'],
        ['PUT', '/api/operators/me/status'],
      ];
      const wrong: string[] = [];
      for (const [method, url] of routes) {
        for (const [name, body] of BODIES) {
          const before = await snapshot();
          const res = await server.app.inject({
            method: method as 'POST',
            url,
            payload: body,
            headers: { cookie: admin.credentials.cookie!, 'content-type': 'application/json' },
          });
          if (res.statusCode >= 500) wrong.push(`${method} ${url} ${name}: ${res.statusCode} ${res.body.slice(0, 200)}`);
          if (res.statusCode >= 400) {
            const after = await snapshot();
            // a refused login still records the attempt (the brute-force counter), nothing else
            const { sessions: _s, ...rest } = after;
            const { sessions: _b, ...restBefore } = before;
            if (JSON.stringify(rest) !== JSON.stringify(restBefore))
              wrong.push(`${method} ${url} ${name}: ${res.statusCode} but stored ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
            if (!/^\{"error":\{"code":"[a-z_]+","message":/.test(res.body))
              wrong.push(`${method} ${url} ${name}: body ${res.body.slice(0, 100)}`);
          }
        }
        for (const type of CONTENT_TYPES) {
          const res = await server.app.inject({
            method: method as 'POST',
            url,
            payload: '{"text":"typed"}',
            headers: { cookie: admin.credentials.cookie!, 'content-type': type, 'x-requested-with': 'test' },
          });
          if (res.statusCode >= 500 || res.statusCode < 400) wrong.push(`${method} ${url} as ${type}: ${res.statusCode}`);
        }
      }
      // the login's attempt counter is not what is being probed here
      await server.ctx.committer.run((tx) => tx.db.deleteFrom('login_attempts').execute());
      expect(wrong).toEqual([]);
      expect((await server.app.inject({ url: '/readyz' })).statusCode).toBe(200);
      // the prototype of plain objects was not touched by any `__proto__` key
      expect(({} as Record<string, unknown>).role).toBeUndefined();
      expect((await admin.get('/api/auth/me')).body.operator.role).toBe('admin');
    });

    it('[§7 input] NUL and lone surrogates are refused by the API (400, nothing stored) on both databases; the longest text is stored whole', async () => {
      for (const text of ['a\u0000b', '\ud800 alone \udfff', 'ok \udc00', 'tag\u0000']) {
        const before = await snapshot();
        const res = await admin.post(`/api/conversations/${conversationId}/messages`, { text });
        expect(res.status, JSON.stringify(text)).toBe(400);
        expect(res.body.error.code).toBe('validation_failed');
        expect(await snapshot()).toEqual(before);
      }
      // a well-formed pair (an emoji) is not a lone surrogate
      const emoji = await admin.post(`/api/conversations/${conversationId}/messages`, { text: 'thanks \ud83d\ude00' });
      expect(emoji.status).toBe(201);
      const max = 'x'.repeat(4096);
      const res = await admin.post(`/api/conversations/${conversationId}/messages`, { text: max });
      expect(res.status).toBe(201);
      const id = res.body.message_id ?? res.body.message?.message_id;
      const stored = await server.ctx.store.reader
        .selectFrom('messages')
        .select('text')
        .where('message_id', '=', id)
        .executeTakeFirstOrThrow();
      expect(stored.text).toBe(max);
      expect((await admin.post(`/api/conversations/${conversationId}/messages`, { text: LONG })).status).toBe(400);
    });

    it('[§4 input] webhooks with NUL, lone surrogates, 100,000 characters, numbers for strings and __proto__: 200 or 400, stored whole or not at all', async () => {
      const wrong: string[] = [];
      const hostile = ['"a\\u0000b"', '"\\ud800\\udc00\\ud800"', JSON.stringify(LONG), '12345', '{"__proto__":{"x":1}}', '[1,2]', 'null'];
      for (const h of hostile) {
        const payload = metaTextPayload(`wamid.H${Date.now()}${Math.random()}`, '16505550444', '__TEXT__');
        const body = JSON.stringify(payload).replace('"__TEXT__"', h);
        const before = await storedCounts(server.ctx.store.reader);
        const res = await postMeta(server.url, body);
        if (![200, 400].includes(res.status)) wrong.push(`meta text ${h.slice(0, 20)}: ${res.status}`);
        if (res.status === 400 && JSON.stringify(await storedCounts(server.ctx.store.reader)) !== JSON.stringify(before))
          wrong.push(`meta ${h.slice(0, 20)}: 400 but stored`);
      }
      // numbers where the sender and ids belong; __proto__ as the contact's profile
      const odd = JSON.parse(
        JSON.stringify(metaMessagesPayload('16505550445', 'Odd', [{ id: 'wamid.ODD1', type: 'text', text: { body: 'x' } }])),
      );
      odd.entry[0].changes[0].value.messages[0].from = 16505550445;
      odd.entry[0].changes[0].value.messages[0].id = 77;
      const proto = JSON.stringify(
        metaMessagesPayload('16505550446', 'Proto', [{ id: 'wamid.PROTO1', type: 'text', text: { body: 'p' } }]),
      ).replace('"profile":{"name":"Proto"}', '"profile":{"__proto__":{"name":"polluted"},"name":"Proto"}');
      for (const [name, body] of [
        ['numbers for ids', JSON.stringify(odd)],
        ['__proto__ profile', proto],
      ] as const) {
        const res = await postMeta(server.url, body);
        if (![200, 400].includes(res.status)) wrong.push(`meta ${name}: ${res.status}`);
      }
      for (const text of ['a\u0000b', '\ud800', LONG]) {
        const m = await sendWebhook(server.url, 'montymobile', montyTextPayload(`wamid.MH${Date.now()}${Math.random()}`, text));
        if (![200, 400].includes(m.status)) wrong.push(`monty ${text.slice(0, 10)}: ${m.status} ${m.text.slice(0, 100)}`);
        const q = await sendWebhook(server.url, 'qiscus', qiscusTextPayload(`qh${Date.now()}${Math.random()}`, text));
        if (![200, 400].includes(q.status)) wrong.push(`qiscus ${text.slice(0, 10)}: ${q.status} ${q.text.slice(0, 100)}`);
      }
      expect(wrong).toEqual([]);
      expect(({} as Record<string, unknown>).x).toBeUndefined();
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    });
  });
}

describe('very large headers', () => {
  let server: Running;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  function rawRequest(headers: Record<string, string>): Promise<number> {
    const { port } = new URL(server.url);
    return new Promise((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/api/conversations', headers }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', () => resolve(-1));
      req.end();
    });
  }

  it('[§10 input] a 100 KB cookie, 2,000 headers or a 60 KB authorization header: 431 or 401, the server goes on', async () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 2_000; i++) many[`x-h-${i}`] = 'v';
    const answers = [
      await rawRequest({ cookie: `sb_session=${'a'.repeat(100_000)}` }),
      await rawRequest(many),
      await rawRequest({ authorization: `Bearer ${'b'.repeat(60_000)}` }),
      await rawRequest({ cookie: `${'c=1; '.repeat(3_000)}sb_session=x` }),
    ];
    for (const status of answers) expect([401, 431, -1]).toContain(status);
    expect(answers.filter((s) => s === 431).length).toBeGreaterThan(0);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });
});
