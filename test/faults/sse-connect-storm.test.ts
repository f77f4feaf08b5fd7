import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/database.js';
import { readEventsAfter } from '../../src/store/event.store.js';
import { metaTextPayload } from '../support/app.js';
import { captureOutput } from '../support/child-output.js';
import { startChildServer, type ChildServer } from '../support/child-server.js';
import { SseClient, adminCookie } from '../support/sse-client.js';
import { deliverMeta, sleep, type Delivery, type WebhookItem } from '../support/webhook-stream.js';

const CLIENTS = 1000;
const SEEDED = 30;
const DURING = 30;
/** Sent after every client is connected, so even the last live-only client has events to receive. */
const AFTER = 5;
const SENDERS = ['96170100001', '96170100002', '96170100003'];

/** One client of the storm: where it resumed from and the event ids it received, in order. */
interface StormClient {
  readonly resumeAfter: number | null;
  readonly ids: number[];
  client: SseClient | null;
  openMs: number | null;
  error: string | null;
}

/**
 * 1,000 SSE clients connecting at once to a server in its own process (issue 5), most of them
 * resuming with Last-Event-ID (a catch-up read each) while webhooks keep arriving.
 */
describe('fault: 1,000 SSE clients connecting at once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-fault-sse-'));
  const dbUrl = `sqlite:${join(dir, 'switchboard.db')}`;
  let server: ChildServer | null = null;
  const storm: StormClient[] = [];
  afterAll(async () => {
    for (const s of storm) s.client?.close();
    await server?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('[RT1] every client is served, each gets exactly the log after its resume point in order, webhooks keep being acknowledged, and nothing stays subscribed after they leave', async () => {
    server = await startChildServer({ DATA_DIR: dir, DATABASE_URL: dbUrl });
    const log = captureOutput(server);
    const url = server.url;
    const cookie = await adminCookie(url);
    const item = (n: number): WebhookItem => {
      const id = `wamid.STORM.${n}`;
      return { ids: [id], body: JSON.stringify(metaTextPayload(id, SENDERS[n % SENDERS.length], `storm ${n}`)) };
    };
    for (let n = 0; n < SEEDED; n++) expect((await deliverMeta(url, item(n))).outcome).toBe(200);
    const seededIds = await eventIds(dbUrl);

    // A quarter live-only; the rest resume from spread points of the existing log (0 = from the start).
    for (let i = 0; i < CLIENTS; i++) {
      const resumeAfter = i % 4 === 0 ? null : i % 4 === 1 ? 0 : seededIds[(i * 7) % seededIds.length]!;
      storm.push({ resumeAfter, ids: [], client: null, openMs: null, error: null });
    }
    const t0 = performance.now();
    const opens = storm.map(async (s) => {
      try {
        s.client = await SseClient.open(url, {
          cookie,
          keepFrames: false,
          ...(s.resumeAfter === null ? {} : { lastEventId: s.resumeAfter }),
          onFrame: (f) => {
            if (f.event !== null) s.ids.push(Number(f.id));
          },
        });
        s.openMs = performance.now() - t0;
      } catch (err) {
        s.error = (err as Error).message;
      }
    });
    // Webhooks and a health probe while the storm is connecting.
    const during: Delivery[] = [];
    const sending = (async () => {
      for (let n = SEEDED; n < SEEDED + DURING; n++) {
        during.push(await deliverMeta(url, item(n)));
        await sleep(20);
      }
    })();
    const healthStart = performance.now();
    const health = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) }).then(
      (r) => r.status,
      () => 'no answer',
    );
    const healthMs = performance.now() - healthStart;
    await Promise.race([Promise.all(opens), sleep(60_000)]);
    await sending;
    for (let n = SEEDED + DURING; n < SEEDED + DURING + AFTER; n++) expect((await deliverMeta(url, item(n))).outcome).toBe(200);

    const allIds = await eventIds(dbUrl);
    const last = allIds.at(-1)!;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && storm.some((s) => s.client && !s.client.isEnded && s.ids.at(-1) !== last)) await sleep(50);

    const openTimes = storm
      .map((s) => s.openMs)
      .filter((v): v is number => v !== null)
      .sort((a, b) => a - b);
    console.log(
      '[fault: SSE connect storm]',
      JSON.stringify({
        clients: CLIENTS,
        opened: openTimes.length,
        'open ms p50/p99/max': [
          openTimes[Math.floor(openTimes.length / 2)],
          openTimes[Math.floor(openTimes.length * 0.99)],
          openTimes.at(-1),
        ].map((v) => Math.round(v ?? -1)),
        'webhooks during the storm': during
          .map((d) => d.outcome)
          .reduce<Record<string, number>>((acc, o) => ({ ...acc, [o]: (acc[o] ?? 0) + 1 }), {}),
        'webhook max ms during the storm': Math.max(...during.map((d) => d.endedAt - d.startedAt)),
        '/healthz during the storm': { status: health, ms: Math.round(healthMs) },
        'events in the log': allIds.length,
        'events delivered': storm.reduce((sum, s) => sum + s.ids.length, 0),
      }),
    );

    expect(server.process.exitCode, log()).toBeNull();
    expect(storm.filter((s) => s.error !== null).map((s) => s.error)).toEqual([]);
    expect(storm.filter((s) => s.client?.status !== 200).length).toBe(0);
    expect(health).toBe(200);
    expect(during.map((d) => d.outcome)).toEqual(during.map(() => 200));
    expect(storm.filter((s) => s.client!.isEnded).length, 'streams the server ended').toBe(0);
    for (const [i, s] of storm.entries()) {
      if (s.resumeAfter !== null) {
        // Resumed: exactly the log after the resume point, in order — catch-up then live, no gap, no duplicate.
        expect(s.ids, `client ${i} resumed after ${s.resumeAfter}`).toEqual(allIds.filter((id) => id > s.resumeAfter!));
      } else {
        // Live only: from whatever it joined at, a gap-free, duplicate-free run to the end.
        expect(s.ids.at(-1), `live client ${i} reached the last event`).toBe(last);
        expect(s.ids, `live client ${i}`).toEqual(allIds.filter((id) => id >= s.ids[0]!));
      }
    }

    // Everyone leaves: the server holds no subscription afterwards.
    for (const s of storm) s.client?.close();
    let gauge = Number.NaN;
    for (const end = Date.now() + 15_000; Date.now() < end; await sleep(100)) {
      gauge = await sseClientsGauge(url);
      if (gauge === 0) break;
    }
    expect(gauge).toBe(0);
  }, 150_000);
});

async function eventIds(dbUrl: string): Promise<number[]> {
  const store = await openStore(dbUrl, { migrate: false });
  try {
    return (await readEventsAfter(store.reader, 0, 100_000)).map((e) => e.id);
  } finally {
    await store.close();
  }
}

async function sseClientsGauge(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const line = text.split('\n').find((l) => l.startsWith('switchboard_sse_clients '));
  return line ? Number(line.split(' ')[1]) : Number.NaN;
}
