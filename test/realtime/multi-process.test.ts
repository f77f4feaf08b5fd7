import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { readEventsAfter } from '../../src/store/event.store.js';
import { openStore } from '../../src/store/database.js';
import { startChildServer, type ChildServer } from '../support/child-server.js';
import { TEST_POSTGRES_URL, createPostgresDatabase } from '../support/databases.js';
import { SseClient, adminCookie, type SseFrame } from '../support/sse-client.js';
import { postBatch, wamid } from './meta-batch.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const MESSAGES = 500;
/** Webhooks in flight at once: small groups, like a provider's parallel deliveries. */
const GROUP = 5;

interface Watch {
  client: SseClient;
  /** message_id → how many times it arrived, and when (first). */
  arrivals: Map<string, { count: number; at: number }>;
  ids: number[];
}

async function watch(server: ChildServer): Promise<Watch> {
  const w: Watch = { client: null!, arrivals: new Map(), ids: [] };
  w.client = await SseClient.open(server.url, {
    cookie: await adminCookie(server.url),
    keepFrames: false,
    onFrame: (f: SseFrame) => {
      if (f.id === null || f.event === null) return;
      w.ids.push(Number(f.id));
      if (f.event !== 'new_message') return;
      const messageId = (JSON.parse(f.data) as { message_id: string }).message_id;
      const seen = w.arrivals.get(messageId);
      if (seen) seen.count++;
      else w.arrivals.set(messageId, { count: 1, at: performance.now() });
    },
  });
  cleanups.push(() => w.client.close());
  expect(w.client.status).toBe(200);
  return w;
}

/** Two server processes on one throwaway PostgreSQL database (cleaned up after the suite). */
async function startTwoProcesses() {
  const db = await createPostgresDatabase();
  cleanups.push(() => db.destroy());
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-rt3-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = { DATABASE_URL: db.url, DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
  const a = await startChildServer(env);
  cleanups.push(() => a.stop());
  const b = await startChildServer(env);
  cleanups.push(() => b.stop());
  return { db, a, b };
}

describe.skipIf(!TEST_POSTGRES_URL)('[RT3] several server processes on one PostgreSQL', () => {
  it('[RT3] a webhook to process A reaches an SSE client of process B within a second, every time, exactly once', async () => {
    const { db, a, b } = await startTwoProcesses();
    const onB = await watch(b);
    const onA = await watch(a);

    const sentAt = new Map<string, number>();
    for (let i = 0; i < MESSAGES; i += GROUP) {
      await Promise.all(
        Array.from({ length: Math.min(GROUP, MESSAGES - i) }, (_, k) => {
          const id = wamid('rt3', i + k);
          sentAt.set(id, performance.now());
          return postBatch(a.url, [{ id, from: `96172${String((i + k) % 7).padStart(6, '0')}`, body: `message ${i + k}` }]);
        }),
      );
    }
    await onB.client.waitFor(() => onB.arrivals.size >= MESSAGES, 10_000, `${MESSAGES} messages on B`);
    await onA.client.waitFor(() => onA.arrivals.size >= MESSAGES, 10_000, `${MESSAGES} messages on A`);

    const latencies = [...sentAt]
      .map(([id, at]) => {
        const arrival = onB.arrivals.get(id);
        expect(arrival, id).toBeDefined();
        expect(arrival!.count, id).toBe(1);
        return arrival!.at - at;
      })
      .sort((x, y) => x - y);
    const pick = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
    console.log(
      `[RT3] webhook to A → SSE on B over ${MESSAGES} messages: p50 ${pick(0.5).toFixed(1)} ms, p99 ${pick(0.99).toFixed(1)} ms, max ${pick(1).toFixed(1)} ms`,
    );
    expect(pick(1)).toBeLessThan(1000);

    // Both processes' streams are the event log itself: every id once, in order.
    const store = await openStore(db.url, { migrate: false, poolSize: 1 });
    cleanups.push(() => store.close());
    const log = (await readEventsAfter(store.reader, 0, 100_000)).map((e) => e.id);
    await onB.client.waitFor(() => onB.ids.length >= log.length, 5000, 'every event on B');
    await onA.client.waitFor(() => onA.ids.length >= log.length, 5000, 'every event on A');
    expect(onB.ids).toEqual(log);
    expect(onA.ids).toEqual(log);
    expect([...onA.arrivals.values()].every((x) => x.count === 1)).toBe(true);
  }, 120_000);

  it('[RT3] a lost notification (LISTEN connection killed) delays delivery but loses nothing', async () => {
    const { db, a, b } = await startTwoProcesses();
    const onA = await watch(a);

    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    cleanups.push(() => admin.end());
    const killed = await admin.query(
      `select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query ilike 'LISTEN%' and pid <> pg_backend_pid()`,
    );
    expect(killed.rowCount).toBe(2);

    // Posted to B while neither process is listening: A's poll (and reconnected LISTEN) still delivers.
    const ids = Array.from({ length: 20 }, (_, i) => wamid('lost', i));
    for (const id of ids) await postBatch(b.url, [{ id, from: '96173000001', body: id }]);
    await onA.client.waitFor(() => ids.every((id) => onA.arrivals.has(id)), 10_000, 'the messages posted without LISTEN');
    expect(ids.map((id) => onA.arrivals.get(id)!.count)).toEqual(ids.map(() => 1));

    // LISTEN comes back on both processes.
    const deadline = Date.now() + 10_000;
    let listening = 0;
    while (Date.now() < deadline) {
      const r = await admin.query(
        `select count(*)::int as n from pg_stat_activity where datname = current_database() and query ilike 'LISTEN%'`,
      );
      listening = r.rows[0].n;
      if (listening === 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(listening).toBe(2);
  }, 120_000);
});
