import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Running } from '../../src/main.js';
import { countJobs } from '../../src/store/job.store.js';
import { updateConversation } from '../../src/store/conversation.store.js';
import { createPostgresDatabase, TEST_POSTGRES_URL, type TestDatabase } from '../support/databases.js';
import { metaTextPayload, postMeta, startTestServer } from '../support/app.js';
import { ApiClient, createOperator, loginAdmin } from './api-client.js';

interface Target {
  kind: 'sqlite' | 'postgres';
  start(): Promise<{ server: Running; cleanup(): Promise<void> }>;
}

/** REST alone: the AI worker's replies (debounced 3 s) would add messages and outbox jobs whenever a test runs slowly. */
const REST_ONLY = { AI_DEBOUNCE_MS: '600000' };

const targets: Target[] = [
  {
    kind: 'sqlite',
    start: async () => {
      const server = await startTestServer(REST_ONLY);
      return { server, cleanup: () => server.close() };
    },
  },
];
if (TEST_POSTGRES_URL) {
  targets.push({
    kind: 'postgres',
    start: async () => {
      const db: TestDatabase = await createPostgresDatabase();
      const server = await startTestServer({ ...REST_ONLY, DATABASE_URL: db.url });
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

const BASE = Date.parse('2026-03-01T10:00:00.000Z');

/** One webhook carrying `count` text messages from one contact, ids `${prefix}.1` … */
function metaBatch(prefix: string, from: string, count: number, timestamp = Math.floor(Date.now() / 1000)) {
  const payload = metaTextPayload(`${prefix}.1`, from, 'x', timestamp);
  payload.entry[0]!.changes[0]!.value.messages = Array.from({ length: count }, (_, i) => ({
    from,
    id: `${prefix}.${i + 1}`,
    timestamp: String(timestamp),
    type: 'text',
    text: { body: `message ${i + 1}` },
  }));
  return payload;
}

function withName(payload: ReturnType<typeof metaTextPayload>, name: string) {
  payload.entry[0]!.changes[0]!.value.contacts[0]!.profile.name = name;
  return payload;
}

describe.each(targets)('conversations REST on $kind (SPEC §7)', (target) => {
  let server: Running;
  let cleanup: () => Promise<void>;
  let admin: ApiClient;
  let olga: { client: ApiClient; id: string };
  let omar: { client: ApiClient; id: string };

  beforeAll(async () => {
    ({ server, cleanup } = await target.start());
    admin = await loginAdmin(server.url);
    olga = await createOperator(admin, 'olga@example.test', 'Olga');
    omar = await createOperator(admin, 'omar@example.test', 'Omar');
  });
  afterAll(() => cleanup());

  /** Ingests a one-message conversation and returns its id. */
  async function ingest(wamid: string, from: string, text = `hello ${wamid}`, name = 'Sheena Nelson', timestamp?: number): Promise<string> {
    const res = await postMeta(server.url, withName(metaTextPayload(wamid, from, text, timestamp), name));
    expect(res.status).toBe(200);
    const list = await admin.get(`/api/conversations?q=${from}`);
    expect(list.body.conversations).toHaveLength(1);
    return list.body.conversations[0].conversation_id;
  }

  const messageCount = async (conversationId: string) =>
    (
      await server.ctx.store.reader
        .selectFrom('messages')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('conversation_id', '=', conversationId)
        .executeTakeFirstOrThrow()
    ).n;
  const eventsOf = (conversationId: string) =>
    server.ctx.store.reader.selectFrom('events').selectAll().where('conversation_id', '=', conversationId).orderBy('id').execute();

  describe('list, cursors, filters and search', () => {
    interface Model {
      id: string;
      at: string;
      state: string;
      reason: string | null;
      operator: string | null;
      name: string;
      wa: string;
      text: string;
    }
    const model: Model[] = [];

    beforeAll(async () => {
      for (let i = 0; i < 24; i++) {
        const wa = `9617100${String(i).padStart(4, '0')}`;
        const name = i % 3 === 0 ? 'Rana Haddad' : `Customer ${i}`;
        const text = i % 4 === 0 ? `I want a REFUND please (${i})` : `hello there ${i}`;
        const id = await ingest(`wamid.list.${i}`, wa, text, name);
        model.push({ id, at: '', state: 'ai', reason: null, operator: null, name, wa, text });
      }
      for (const [i, m] of model.entries()) {
        if (i % 6 === 0) {
          expect((await olga.client.post(`/api/conversations/${m.id}/takeover`)).status).toBe(200);
          m.state = 'operator';
          m.operator = olga.id;
        } else if (i % 5 === 1 || i % 5 === 2) {
          m.state = 'waiting';
          m.reason = i % 5 === 1 ? 'ai_requested' : 'user_requested';
        }
        // Eight distinct instants, three conversations on each: ties are ordered by id.
        m.at = new Date(BASE + (i % 8) * 60_000).toISOString();
        const handover = m.reason ? JSON.stringify({ reason: m.reason, at: m.at, note: null }) : null;
        await server.ctx.committer.run((tx) =>
          updateConversation(
            tx.db,
            m.id,
            {
              last_activity_at: m.at,
              ...(m.reason ? { state: 'waiting', handover } : {}),
            },
            new Date().toISOString(),
          ),
        );
      }
    });

    const expected = (keep: (m: Model) => boolean) =>
      model
        .filter(keep)
        .sort((a, b) => (a.at === b.at ? (a.id < b.id ? 1 : -1) : a.at < b.at ? 1 : -1))
        .map((m) => m.id);

    /** Follows next_cursor to the end (bounded), checking page sizes. */
    async function walk(client: ApiClient, query: string, limit: number): Promise<string[]> {
      const ids: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 50; page++) {
        const res: { status: number; body: any } = await client.get(
          `/api/conversations?${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        expect(res.status).toBe(200);
        expect(res.body.conversations.length).toBeLessThanOrEqual(limit);
        ids.push(...res.body.conversations.map((c: any) => c.conversation_id));
        cursor = res.body.next_cursor;
        if (cursor === null) return ids;
        expect(res.body.conversations).toHaveLength(limit);
      }
      throw new Error('cursor walk did not end');
    }

    const mine = (m: Model) => model.includes(m);

    it('[§7 list] newest activity first (ties by id), every row exactly once across cursor pages', async () => {
      const all = await walk(admin, 'q=96171', 5);
      expect(all).toEqual(expected(mine));
      expect(new Set(all).size).toBe(24);
      const first = await admin.get('/api/conversations?q=96171&limit=100');
      expect(first.body.next_cursor).toBeNull();
      expect(first.body.conversations[0]).toMatchObject({
        conversation_id: expected(mine)[0],
        channel: { provider: 'meta' },
        contact: { wa_id: expect.stringMatching(/^96171/) },
        last_message: { role: 'user', type: 'text' },
        unread_count: 1,
      });
    });

    it('[§7 list] filters: state, hand-over reason, operator (id and `me`)', async () => {
      expect(await walk(admin, 'q=96171&state=waiting', 4)).toEqual(expected((m) => m.state === 'waiting'));
      expect(await walk(admin, 'q=96171&state=waiting,operator', 4)).toEqual(
        expected((m) => m.state === 'waiting' || m.state === 'operator'),
      );
      expect(await walk(admin, 'q=96171&reason=ai_requested', 2)).toEqual(expected((m) => m.reason === 'ai_requested'));
      expect(await walk(admin, 'q=96171&reason=user_requested&state=waiting', 3)).toEqual(expected((m) => m.reason === 'user_requested'));
      expect(await walk(olga.client, 'operator=me', 3)).toEqual(expected((m) => m.operator === olga.id));
      expect(await walk(admin, `operator=${olga.id}`, 3)).toEqual(expected((m) => m.operator === olga.id));
      expect(await walk(omar.client, 'operator=me', 3)).toEqual([]);
    });

    it('[§7 search] case-insensitive over contact name, number and message text', async () => {
      expect(await walk(admin, 'q=refund', 3)).toEqual(expected((m) => /refund/i.test(m.text)));
      expect(await walk(admin, 'q=rAnA%20hAdDaD', 3)).toEqual(expected((m) => m.name === 'Rana Haddad'));
      expect(await walk(admin, 'q=96171000013', 3)).toEqual(expected((m) => m.wa === '96171000013'));
      expect(await walk(admin, 'q=there%2011', 3)).toEqual(expected((m) => m.text.includes('there 11')));
      expect(await walk(admin, 'q=refund&state=operator', 3)).toEqual(expected((m) => /refund/i.test(m.text) && m.state === 'operator'));
      // LIKE wildcards in the query match themselves.
      expect(await walk(admin, 'q=%25', 3)).toEqual([]);
      expect(await walk(admin, 'q=_', 3)).toEqual([]);
    });

    it('[§7 list] bad query input is 400 validation_failed', async () => {
      for (const query of [
        'state=bogus',
        'limit=0',
        'limit=101',
        'limit=ten',
        'reason=angry',
        'cursor=garbage',
        'cursor=' + Buffer.from('[1,2]').toString('base64url'),
        // SPEC §4: no input is a 500 — PostgreSQL refuses NUL in a text parameter, SQLite's FTS5 query ends at it.
        'q=%00abc',
        'operator=%00',
        'state=ai%00',
        'cursor=' + Buffer.from(JSON.stringify(['2026-01-01T00:00:00.000Z', '\u0000'])).toString('base64url'),
        'cursor=' + Buffer.from(JSON.stringify(['\ud800', 'c_1'])).toString('base64url'),
      ]) {
        const res = await admin.get(`/api/conversations?${query}`);
        expect(res.status, query).toBe(400);
        expect(res.body.error.code).toBe('validation_failed');
      }
    });
  });

  describe('details and message pages', () => {
    let id: string;
    beforeAll(async () => {
      expect((await postMeta(server.url, metaBatch('wamid.pages', '96172000001', 120))).status).toBe(200);
      id = (await admin.get('/api/conversations?q=96172000001')).body.conversations[0].conversation_id;
    });

    it('[§7 details] the Conversation fields plus its latest page, oldest first, and has_more', async () => {
      const res = await admin.get(`/api/conversations/${id}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ conversation_id: id, state: 'ai', unread_count: 120, has_more: true });
      expect(res.body.messages.map((m: any) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 71 + i));
      expect(res.body.messages.at(-1)).toMatchObject({ message_id: 'wamid.pages.120', text: 'message 120', role: 'user' });
      expect(res.body.last_message.message_id).toBe('wamid.pages.120');
      const small = await admin.get(`/api/conversations/${id}?limit=200`);
      expect(small.status).toBe(400);
    });

    it('[§7 pages] before_seq pages back, after_seq reads forward, limit caps', async () => {
      const back = await admin.get(`/api/conversations/${id}/messages?before_seq=71&limit=50`);
      expect(back.body.messages.map((m: any) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 21 + i));
      expect(back.body.has_more).toBe(true);
      const oldest = await admin.get(`/api/conversations/${id}/messages?before_seq=21&limit=50`);
      expect(oldest.body.messages.map((m: any) => m.seq)).toEqual(Array.from({ length: 20 }, (_, i) => 1 + i));
      expect(oldest.body.has_more).toBe(false);
      const forward = await admin.get(`/api/conversations/${id}/messages?after_seq=100&limit=15`);
      expect(forward.body.messages.map((m: any) => m.seq)).toEqual(Array.from({ length: 15 }, (_, i) => 101 + i));
      expect(forward.body.has_more).toBe(true);
      const tail = await admin.get(`/api/conversations/${id}/messages?after_seq=115`);
      expect(tail.body.messages.map((m: any) => m.seq)).toEqual([116, 117, 118, 119, 120]);
      expect(tail.body.has_more).toBe(false);
      const latest = await admin.get(`/api/conversations/${id}/messages?limit=3`);
      expect(latest.body.messages.map((m: any) => m.message_id)).toEqual(['wamid.pages.118', 'wamid.pages.119', 'wamid.pages.120']);
      // seq is a 32-bit column: a larger position names no message and is refused, not a 500 (SPEC §4).
      for (const q of ['before_seq=-1', 'after_seq=x', 'limit=101', 'limit=0', 'before_seq=9999999999', 'after_seq=3000000000']) {
        expect((await admin.get(`/api/conversations/${id}/messages?${q}`)).status, q).toBe(400);
      }
      expect((await admin.get('/api/conversations/c_missing/messages')).body.error.code).toBe('conversation_not_found');
      expect((await admin.get('/api/conversations/c_missing')).status).toBe(404);
    });
  });

  describe('takeover, release, resolve, read', () => {
    it('[§7 takeover] owned_by_other for another operator, forced only by an admin; each change emits conversation_updated', async () => {
      const id = await ingest('wamid.take.1', '96173000001');
      const taken = await olga.client.post(`/api/conversations/${id}/takeover`);
      expect(taken.status).toBe(200);
      expect(taken.body).toMatchObject({ conversation_id: id, state: 'operator', operator: { id: olga.id, name: 'Olga' } });
      // Taking over one's own conversation again is a no-op.
      expect((await olga.client.post(`/api/conversations/${id}/takeover`)).body.operator.id).toBe(olga.id);

      const refused = await omar.client.post(`/api/conversations/${id}/takeover`);
      expect(refused.status).toBe(409);
      expect(refused.body.error.code).toBe('owned_by_other');
      const notAdmin = await omar.client.post(`/api/conversations/${id}/takeover`, { force: true });
      expect(notAdmin.body.error.code).toBe('owned_by_other');
      expect((await admin.post(`/api/conversations/${id}/takeover`)).body.error.code).toBe('owned_by_other');
      const forced = await admin.post(`/api/conversations/${id}/takeover`, { force: true });
      expect(forced.status).toBe(200);
      expect(forced.body.operator.name).toBe('Administrator');

      const updates = (await eventsOf(id)).filter((e) => e.type === 'conversation_updated').map((e) => JSON.parse(e.payload));
      // One conversation_updated per takeover, with the committed state: the notice [AI6] the unit
      // appends first moves the activity too, but that state in between is never shown.
      const sinceFirst = updates.slice(updates.findIndex((u) => u.operator !== null));
      expect(sinceFirst.map((u) => [u.state, u.operator?.name ?? null])).toEqual([
        ['operator', 'Olga'],
        ['operator', 'Administrator'],
      ]);
      const notices = (await admin.get(`/api/conversations/${id}`)).body.messages.filter((m: any) => m.metadata.notice);
      expect(notices.map((m: any) => [m.role, m.status, m.metadata.notice])).toEqual([
        ['system', 'pending', 'operator_joined'],
        ['system', 'pending', 'operator_joined'],
      ]);
      expect(notices[0].text).toContain('Olga');
      expect(notices[1].text).toContain('Administrator');
    });

    it('[AI5] release hands back to the AI and writes a system event message marking the end of the human stretch', async () => {
      const id = await ingest('wamid.release.1', '96173000002');
      await olga.client.post(`/api/conversations/${id}/takeover`);
      expect((await omar.client.post(`/api/conversations/${id}/release`)).body.error.code).toBe('owned_by_other');
      const released = await olga.client.post(`/api/conversations/${id}/release`);
      expect(released.status).toBe(200);
      expect(released.body).toMatchObject({ state: 'ai', operator: null });
      const details = await admin.get(`/api/conversations/${id}`);
      // seq 2 is the "Olga joined" notice; the marker is followed by the "back with the assistant" notice [AI6].
      const [marker, notice] = details.body.messages.slice(-2);
      expect(marker).toMatchObject({
        role: 'system',
        type: 'event',
        seq: 3,
        status: 'received',
        metadata: { event: 'released' },
        operator: { id: olga.id },
      });
      expect(marker.message_id).toMatch(/^msg_\d{14}_[0-9a-f]{8}$/);
      expect(marker.metadata.message_id).toBe(marker.message_id);
      expect(notice).toMatchObject({ role: 'system', type: 'text', seq: 4, status: 'pending', metadata: { notice: 'handed_back' } });
      expect(released.body.last_message.message_id).toBe(notice.message_id);
      const events = await eventsOf(id);
      expect(events.filter((e) => e.type === 'new_message').map((e) => JSON.parse(e.payload).message_id)).toContain(marker.message_id);
      expect(JSON.parse(events.at(-1)!.payload)).toMatchObject({ state: 'ai', operator: null });
      // Releasing an `ai` conversation is not a transition.
      expect((await olga.client.post(`/api/conversations/${id}/release`)).body.error.code).toBe('invalid_transition');
    });

    it('[§7 resolve] resolve ends the conversation; a resolved one cannot be taken over', async () => {
      const id = await ingest('wamid.resolve.1', '96173000003');
      await olga.client.post(`/api/conversations/${id}/takeover`);
      expect((await omar.client.post(`/api/conversations/${id}/resolve`)).status).toBe(409);
      const resolved = await olga.client.post(`/api/conversations/${id}/resolve`);
      expect(resolved.status).toBe(200);
      expect(resolved.body).toMatchObject({
        state: 'resolved',
        operator: null,
        last_message: { role: 'system', metadata: { notice: 'conversation_ended' } },
      });
      const [marker] = (await admin.get(`/api/conversations/${id}`)).body.messages.slice(-2);
      expect(marker).toMatchObject({ type: 'event', metadata: { event: 'resolved' } });
      expect((await omar.client.post(`/api/conversations/${id}/takeover`)).body.error.code).toBe('invalid_transition');
    });

    it('[§7 read] read sets unread_count to 0 and emits conversation_updated', async () => {
      const id = await ingest('wamid.read.1', '96173000004');
      await postMeta(server.url, metaTextPayload('wamid.read.2', '96173000004'));
      expect((await admin.get(`/api/conversations/${id}`)).body.unread_count).toBe(2);
      const before = (await eventsOf(id)).length;
      const read = await omar.client.post(`/api/conversations/${id}/read`);
      expect(read.status).toBe(200);
      expect(read.body.unread_count).toBe(0);
      const events = await eventsOf(id);
      expect(events).toHaveLength(before + 1);
      expect(JSON.parse(events.at(-1)!.payload)).toMatchObject({ conversation_id: id, unread_count: 0 });
    });

    it('[§7 validation] bad input is 400 and changes nothing', async () => {
      const id = await ingest('wamid.bad.1', '96173000005');
      const before = await eventsOf(id);
      expect((await olga.client.post(`/api/conversations/${id}/takeover`, { force: 'yes' })).status).toBe(400);
      expect((await olga.client.post(`/api/conversations/${id}/takeover`, '{"force":')).status).toBe(400);
      expect((await admin.get(`/api/conversations/${id}`)).body).toMatchObject({ state: 'ai', operator: null });
      expect(await eventsOf(id)).toEqual(before);
      expect((await olga.client.post('/api/conversations/c_missing/takeover')).body.error.code).toBe('conversation_not_found');
    });

    it('[§7 validation] a NUL in a path segment is 400 on every route, and changes nothing (SPEC §4)', async () => {
      const id = await ingest('wamid.bad.nul', '96173000006');
      const before = await eventsOf(id);
      await olga.client.post(`/api/conversations/${id}/takeover`);
      const afterTakeover = await eventsOf(id);
      expect(afterTakeover.length).toBeGreaterThan(before.length);
      const refused = [
        await admin.get('/api/conversations/%00'),
        await admin.get(`/api/conversations/${id}%00`),
        await admin.get(`/api/conversations/${id}/messages?before_seq=5%00`),
        await olga.client.post(`/api/conversations/${id}%00/release`),
        await olga.client.post(`/api/conversations/${id}/messages/%00/retry`),
        await olga.client.post(`/api/conversations/${id}%00/messages`, { text: 'hello' }),
      ];
      for (const res of refused) {
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('validation_failed');
      }
      expect((await admin.get(`/api/conversations/${id}`)).body).toMatchObject({ state: 'operator', operator: { name: 'Olga' } });
      expect(await eventsOf(id)).toEqual(afterTakeover);
    });
  });

  describe('operator send [OUT1][OUT2]', () => {
    it('[OUT1] the owner stores a pending message with a generated id and exactly one outbox job, in one unit', async () => {
      const id = await ingest('wamid.send.1', '96174000001');
      await olga.client.post(`/api/conversations/${id}/takeover`);
      const jobsBefore = await countJobs(server.ctx.store.reader, 'outbox.send');
      const sent = await olga.client.post(`/api/conversations/${id}/messages`, { text: 'Hello, Olga here' });
      expect(sent.status).toBe(201);
      expect(sent.body).toMatchObject({
        conversation_id: id,
        seq: 3,
        role: 'operator',
        type: 'text',
        text: 'Hello, Olga here',
        status: 'pending',
        operator: { id: olga.id, name: 'Olga' },
      });
      expect(sent.body.message_id).toMatch(/^msg_\d{14}_[0-9a-f]{8}$/);
      expect(sent.body.metadata.message_id).toBe(sent.body.message_id);
      expect(await countJobs(server.ctx.store.reader, 'outbox.send')).toBe(jobsBefore + 1);
      const job = await server.ctx.store.reader
        .selectFrom('jobs')
        .selectAll()
        .where('kind', '=', 'outbox.send')
        .orderBy('id', 'desc')
        .executeTakeFirstOrThrow();
      expect(JSON.parse(job.payload)).toEqual({ conversation_id: id, message_id: sent.body.message_id });
      const events = (await eventsOf(id)).map((e) => [e.type, JSON.parse(e.payload).message_id ?? null]);
      expect(events).toContainEqual(['new_message', sent.body.message_id]);
    });

    it('[OUT2] the same Idempotency-Key returns the same message and never a second job, also when repeats race', async () => {
      const id = await ingest('wamid.send.2', '96174000002');
      await olga.client.post(`/api/conversations/${id}/takeover`);
      const jobsBefore = await countJobs(server.ctx.store.reader, 'outbox.send');
      const headers = { 'idempotency-key': 'key-123' };
      const first = await olga.client.post(`/api/conversations/${id}/messages`, { text: 'once' }, headers);
      const second = await olga.client.post(`/api/conversations/${id}/messages`, { text: 'once' }, headers);
      expect(first.status).toBe(201);
      expect(second.status).toBe(200);
      expect(second.body).toEqual(first.body);
      const racing = await Promise.all(
        Array.from({ length: 8 }, () =>
          olga.client.post(`/api/conversations/${id}/messages`, { text: 'raced' }, { 'idempotency-key': 'key-race' }),
        ),
      );
      expect(racing.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
      expect(new Set(racing.map((r) => r.body.message_id)).size).toBe(1);
      // client_message_id in the body works the same way.
      const a = await olga.client.post(`/api/conversations/${id}/messages`, { text: 'body key', client_message_id: 'cm-1' });
      const b = await olga.client.post(`/api/conversations/${id}/messages`, { text: 'body key', client_message_id: 'cm-1' });
      expect(b.body.message_id).toBe(a.body.message_id);
      // Reusing a key for different text is refused, not silently answered with the other message.
      const reused = await olga.client.post(`/api/conversations/${id}/messages`, { text: 'different' }, headers);
      expect(reused.status).toBe(409);
      expect(reused.body.error.code).toBe('conflict');
      expect(await countJobs(server.ctx.store.reader, 'outbox.send')).toBe(jobsBefore + 3);
      // The customer's message, the "Olga joined" notice and the three operator messages.
      expect(await messageCount(id)).toBe(5);
    });

    it('[§3 window] outside the 24 h window the send is refused with window_closed and nothing is stored', async () => {
      const twoDaysAgo = Math.floor(Date.now() / 1000) - 2 * 86_400;
      const id = await ingest('wamid.window.1', '96174000003', 'old message', 'Late', twoDaysAgo);
      const taken = await olga.client.post(`/api/conversations/${id}/takeover`);
      expect(Date.parse(taken.body.window_expires_at)).toBeLessThan(Date.now());
      const jobsBefore = await countJobs(server.ctx.store.reader, 'outbox.send');
      const eventsBefore = (await eventsOf(id)).length;
      const res = await olga.client.post(`/api/conversations/${id}/messages`, { text: 'too late' }, { 'idempotency-key': 'late-1' });
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('window_closed');
      expect(await messageCount(id)).toBe(1);
      expect(await countJobs(server.ctx.store.reader, 'outbox.send')).toBe(jobsBefore);
      expect((await eventsOf(id)).length).toBe(eventsBefore);
    });

    it('[§7 send] only the owning operator in `operator` state may send (not_owner); bad bodies are 400; nothing stored', async () => {
      const id = await ingest('wamid.send.4', '96174000004');
      const jobsBefore = await countJobs(server.ctx.store.reader, 'outbox.send');
      expect((await olga.client.post(`/api/conversations/${id}/messages`, { text: 'AI still owns it' })).body.error.code).toBe('not_owner');
      await olga.client.post(`/api/conversations/${id}/takeover`);
      const other = await omar.client.post(`/api/conversations/${id}/messages`, { text: 'not mine' });
      expect(other.status).toBe(403);
      expect(other.body.error.code).toBe('not_owner');
      const adminTry = await admin.post(`/api/conversations/${id}/messages`, { text: 'admin without takeover' });
      expect(adminTry.body.error.code).toBe('not_owner');
      for (const body of [
        {},
        { text: '' },
        { text: '   ' },
        { text: 42 },
        { text: 'x'.repeat(4097) },
        { text: 'ok', client_message_id: '' },
      ]) {
        const res = await olga.client.post(`/api/conversations/${id}/messages`, body);
        expect(res.status, JSON.stringify(body).slice(0, 40)).toBe(400);
        expect(res.body.error.code).toBe('validation_failed');
      }
      expect(
        (await olga.client.post(`/api/conversations/${id}/messages`, { text: 'ok' }, { 'idempotency-key': 'k'.repeat(201) })).status,
      ).toBe(400);
      // Only the customer's message and the takeover's "Olga joined" notice (with its outbox job) [AI6].
      expect(await messageCount(id)).toBe(2);
      expect(await countJobs(server.ctx.store.reader, 'outbox.send')).toBe(jobsBefore + 1);
      expect((await olga.client.post('/api/conversations/c_missing/messages', { text: 'hi' })).status).toBe(404);
    });
  });
});
