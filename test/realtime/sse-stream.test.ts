import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Running } from '../../src/main.js';
import { readEventsAfter } from '../../src/store/event.store.js';
import { startTestServer } from '../support/app.js';
import { sharedDatabases, type TestDatabase } from '../support/databases.js';
import { SseClient, adminCookie, type SseFrame } from '../support/sse-client.js';
import { postBatch, wamid, type BatchMessage } from './meta-batch.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** A server on a database that survives a restart: SQLite in a temp DATA_DIR, or a throwaway PostgreSQL database. */
async function serverFactory(kind: 'sqlite' | 'postgres', db: TestDatabase | null, env: Record<string, string> = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-rt-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const base =
    kind === 'postgres'
      ? { DATA_DIR: dataDir, DATABASE_URL: db!.url }
      : { DATA_DIR: dataDir, DATABASE_URL: `sqlite:${join(dataDir, 'switchboard.db')}` };
  return async (): Promise<Running> => {
    const running = await startTestServer({ ...base, ...env });
    cleanups.push(() => running.close());
    return running;
  };
}

async function open(running: Running, options: Parameters<typeof SseClient.open>[1] = {}): Promise<SseClient> {
  const client = await SseClient.open(running.url, { cookie: await adminCookie(running.url), ...options });
  cleanups.push(() => client.close());
  expect(client.status).toBe(200);
  return client;
}

function messages(run: string, from: number, count: number, senders = ['96170000001', '96170000002', '96170000003']): BatchMessage[] {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return { id: wamid(run, i), from: senders[i % senders.length]!, body: `message ${i}` };
  });
}

/** Posts messages in webhooks of `perPost`. */
async function post(url: string, list: BatchMessage[], perPost = 10): Promise<void> {
  for (let i = 0; i < list.length; i += perPost) await postBatch(url, list.slice(i, i + perPost));
}

const messageIdOf = (f: SseFrame) => (JSON.parse(f.data) as { message_id: string }).message_id;
const ids = (frames: readonly SseFrame[]) => frames.map((f) => Number(f.id));

/** The event log after `afterId`, as the stream must reproduce it. */
async function logAfter(running: Running, afterId: number, conversationId: string | null = null) {
  return readEventsAfter(running.ctx.store.reader, afterId, 100_000, conversationId);
}

function expectStrictlyIncreasing(values: number[]): void {
  for (let i = 1; i < values.length; i++)
    if (values[i]! <= values[i - 1]!) throw new Error(`id ${values[i]} after ${values[i - 1]} at ${i}`);
}

describe('GET /api/events (SPEC §8)', () => {
  it('answers 401 without a session', async () => {
    const running = await (await serverFactory('sqlite', null))();
    const client = await SseClient.open(running.url);
    cleanups.push(() => client.close());
    expect(client.status).toBe(401);
  });

  it('sends text/event-stream with `retry: 2000` first and a `: ping` comment on the configured interval', async () => {
    const running = await (await serverFactory('sqlite', null, { SSE_PING_INTERVAL_MS: '200' }))();
    const client = await open(running);
    expect(client.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(client.headers['cache-control']).toContain('no-cache');
    await client.waitFor(() => client.frames.some((f) => f.comments.includes('ping')), 5000, 'a ping');
    expect(client.frames[0]).toMatchObject({ retry: 2000, event: null, id: null });
    expect(client.eventCount).toBe(0);
  });

  it('rejects a Last-Event-ID that is not an event id with 400', async () => {
    const running = await (await serverFactory('sqlite', null))();
    const client = await SseClient.open(running.url, { cookie: await adminCookie(running.url), lastEventId: 'abc' });
    cleanups.push(() => client.close());
    expect(client.status).toBe(400);
  });

  it('[RT1] live events carry the event-log id, name and the presented payload', async () => {
    const running = await (await serverFactory('sqlite', null))();
    const client = await open(running);
    await post(running.url, messages('live', 0, 2, ['96170000009']), 2);
    await client.waitForEvents(3, 5000);
    const log = await logAfter(running, 0);
    expect(client.events.map((f) => [Number(f.id), f.event, f.data])).toEqual(log.map((e) => [e.id, e.type, e.payload]));
    expect(client.events.map((f) => f.event)).toEqual(['new_message', 'new_message', 'conversation_updated']);
    expect(client.events.slice(0, 2).map(messageIdOf)).toEqual([wamid('live', 0), wamid('live', 1)]);
  });

  for (const factory of sharedDatabases()) {
    const kind = factory.kind as 'sqlite' | 'postgres';
    describe(`on ${kind}`, () => {
      it('[RT1] a client that reconnects with Last-Event-ID gets exactly the 200 messages it missed, in order, then live ones', async () => {
        const db = kind === 'postgres' ? await factory.create() : null;
        if (db) cleanups.push(() => db.destroy());
        const running = await (await serverFactory(kind, db))();
        const first = await open(running);
        await post(running.url, messages('rt1', 0, 1));
        await first.waitForEvents(2, 5000);
        const resumeFrom = first.lastEventId!;
        first.close();

        const missed = messages('rt1', 1, 200);
        await post(running.url, missed);
        const expected = await logAfter(running, Number(resumeFrom));

        const again = await open(running, { lastEventId: resumeFrom });
        await again.waitForEvents(expected.length, 10_000);
        expect(ids(again.events)).toEqual(expected.map((e) => e.id));
        expect(again.events.filter((f) => f.event === 'new_message').map(messageIdOf)).toEqual(missed.map((m) => m.id));
        expect(new Set(again.events.map((f) => f.event))).toEqual(new Set(['new_message', 'conversation_updated']));

        const live = messages('rt1', 201, 5);
        await post(running.url, live, 5);
        await again.waitFor(() => again.events.filter((f) => f.event === 'new_message').length === 205, 5000, 'the live messages');
        const all = await logAfter(running, Number(resumeFrom));
        expect(ids(again.events)).toEqual(all.map((e) => e.id));
      });

      it('[RT1] the same across a server restart in between', async () => {
        const db = kind === 'postgres' ? await factory.create() : null;
        if (db) cleanups.push(() => db.destroy());
        const start = await serverFactory(kind, db);
        const first = await start();
        const client = await open(first);
        await post(first.url, messages('restart', 0, 1));
        await client.waitForEvents(2, 5000);
        const resumeFrom = client.lastEventId!;
        client.close();
        const before = messages('restart', 1, 100);
        await post(first.url, before);
        await first.close();

        const second = await start();
        const after = messages('restart', 101, 100);
        await post(second.url, after);
        const expected = await logAfter(second, Number(resumeFrom));
        const again = await open(second, { lastEventId: resumeFrom });
        await again.waitForEvents(expected.length, 10_000);
        expect(ids(again.events)).toEqual(expected.map((e) => e.id));
        expect(again.events.filter((f) => f.event === 'new_message').map(messageIdOf)).toEqual([...before, ...after].map((m) => m.id));

        await post(second.url, messages('restart', 201, 3), 3);
        await again.waitFor(() => again.events.filter((f) => f.event === 'new_message').length === 203, 5000, 'the live messages');
        expectStrictlyIncreasing(ids(again.events));
      });

      it('[RT1] resuming while messages keep arriving: no gap, no duplicate at the switch from catch-up to live', async () => {
        const db = kind === 'postgres' ? await factory.create() : null;
        if (db) cleanups.push(() => db.destroy());
        const running = await (await serverFactory(kind, db))();
        await post(running.url, messages('race', 0, 300), 25);
        const flowing = post(running.url, messages('race', 300, 300), 5);
        // Several clients resume from different points while the webhooks above commit.
        const clients: { from: number; client: SseClient }[] = [];
        for (const from of [0, 50, 200, 400]) {
          clients.push({ from, client: await open(running, { lastEventId: from }) });
          await new Promise((r) => setTimeout(r, 30));
        }
        await flowing;
        const log = await logAfter(running, 0);
        for (const { from, client } of clients) {
          const expected = log.filter((e) => e.id > from).map((e) => e.id);
          await client.waitForEvents(expected.length, 10_000);
          expect(ids(client.events)).toEqual(expected);
        }
      });
    });
  }

  it("?conversation_id= gives one conversation's events, in catch-up and live", async () => {
    const running = await (await serverFactory('sqlite', null))();
    await post(running.url, messages('filter', 0, 30, ['96170000011', '96170000012']));
    const log = await logAfter(running, 0);
    const conversationId = log[0]!.conversation_id!;
    const client = await open(running, { query: { conversation_id: conversationId, last_event_id: '0' } });
    const expectedCatchUp = log.filter((e) => e.conversation_id === conversationId);
    await client.waitForEvents(expectedCatchUp.length, 5000);
    await post(running.url, messages('filter', 30, 10, ['96170000011', '96170000012']));
    const all = await logAfter(running, 0, conversationId);
    await client.waitForEvents(all.length, 5000);
    expect(ids(client.events)).toEqual(all.map((e) => e.id));
    expect(client.events.every((f) => (JSON.parse(f.data) as { conversation_id: string }).conversation_id === conversationId)).toBe(true);
    expect(all.length).toBeLessThan((await logAfter(running, 0)).length);
  });

  it('?last_event_id= resumes like the header; the header wins when both are given', async () => {
    const running = await (await serverFactory('sqlite', null))();
    await post(running.url, messages('query', 0, 20));
    const log = await logAfter(running, 0);
    const byQuery = await open(running, { query: { last_event_id: String(log[4]!.id) } });
    await byQuery.waitForEvents(log.length - 5, 5000);
    expect(ids(byQuery.events)).toEqual(log.slice(5).map((e) => e.id));
    const both = await open(running, { lastEventId: log[10]!.id, query: { last_event_id: String(log[2]!.id) } });
    await both.waitForEvents(log.length - 11, 5000);
    expect(ids(both.events)).toEqual(log.slice(11).map((e) => e.id));
  });

  it('resuming from before the retained log gives `event: reset`, then live events', async () => {
    const running = await (await serverFactory('sqlite', null))();
    await post(running.url, messages('old', 0, 10));
    const log = await logAfter(running, 0);
    // Age every event past EVENT_RETENTION_DAYS (7 by default) and purge.
    await running.ctx.store.db.updateTable('events').set({ created_at: '2000-01-01T00:00:00.000Z' }).execute();
    const deleted = await running.ctx.realtime.retention.purgeNow();
    expect(deleted).toBe(log.length - 1);

    const client = await open(running, { lastEventId: log[0]!.id });
    await client.waitForEvents(1, 5000);
    const reset = client.events[0]!;
    expect(reset.event).toBe('reset');
    expect(JSON.parse(reset.data)).toMatchObject({ reason: 'expired' });
    expect(Number(reset.id)).toBe(log[log.length - 1]!.id);

    await post(running.url, messages('old', 10, 1), 1);
    await client.waitForEvents(3, 5000);
    expect(client.events.slice(1).map((f) => f.event)).toEqual(['new_message', 'conversation_updated']);
    expect(ids(client.events.slice(1))).toEqual((await logAfter(running, log[log.length - 1]!.id)).map((e) => e.id));

    // Resuming exactly at the oldest retained event's predecessor is not a reset.
    const exact = await open(running, { lastEventId: log[log.length - 2]!.id });
    const retained = await logAfter(running, log[log.length - 2]!.id);
    await exact.waitForEvents(retained.length, 5000);
    expect(ids(exact.events)).toEqual(retained.map((e) => e.id));
    expect(exact.events.map((f) => f.event)).not.toContain('reset');
  });

  it('a resume point the log never had (another database) gives `event: reset`', async () => {
    const running = await (await serverFactory('sqlite', null))();
    await post(running.url, messages('ahead', 0, 1));
    const client = await open(running, { lastEventId: 999_999 });
    await client.waitForEvents(1, 5000);
    expect(client.events[0]!.event).toBe('reset');
    expect(JSON.parse(client.events[0]!.data)).toMatchObject({ reason: 'unknown_position' });
  });

  it('/metrics counts open SSE clients and delivered events', async () => {
    const running = await (await serverFactory('sqlite', null))();
    const metric = async (name: string) => {
      const text = await (await fetch(`${running.url}/metrics`)).text();
      return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    };
    const client = await open(running);
    await post(running.url, messages('metrics', 0, 2), 2);
    const log = await logAfter(running, 0);
    await client.waitForEvents(log.length, 5000);
    expect(await metric('switchboard_sse_clients')).toBe(1);
    expect(await metric('switchboard_sse_events_delivered_total')).toBe(log.length);
    client.close();
    await client.waitFor(() => running.ctx.realtime.hub.stats().clients === 0, 5000, 'the server to see the disconnect');
    expect(await metric('switchboard_sse_clients')).toBe(0);
  });

  it('closing the server ends open streams instead of waiting for them', async () => {
    const running = await (await serverFactory('sqlite', null))();
    const clients = [await open(running), await open(running, { lastEventId: 0 })];
    await Promise.all(clients.map((c) => c.waitFor(() => c.frames.length >= 1, 5000, 'retry frame')));
    const started = performance.now();
    await running.close();
    await Promise.all(clients.map((c) => c.waitFor(() => c.isEnded, 10_000, 'the stream to end')));
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(running.ctx.realtime.hub.stats().clients).toBe(0);
  });
});
