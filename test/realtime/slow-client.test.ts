import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import type { Running } from '../../src/main.js';
import { SSE_DEFAULTS } from '../../src/realtime/sse-hub.js';
import { readEventsAfter } from '../../src/store/event.store.js';
import { startTestServer } from '../support/app.js';
import { SseClient, adminCookie } from '../support/sse-client.js';
import { postBatch, wamid, type BatchMessage } from './meta-batch.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const POSTS = 10;
const PER_POST = 1000;
/** ~2 KB texts: 10,000 events are ~25 MB, more than the stalled client's cap and the kernel's socket buffers together. */
const BODY = 'x'.repeat(2000);

interface ReaderResult {
  ids: number[];
  /** [message_id, absolute ms] */
  arrivals: [string, number][];
  ended: boolean;
}

/** Two healthy readers on a worker thread: they read at their own pace, not the server's loop's. */
async function startReaders(url: string, cookie: string) {
  const worker = new Worker(new URL('./sse-readers.worker.mjs', import.meta.url), { workerData: { url, cookie, readers: 2 } });
  cleanups.push(() => worker.terminate());
  const messages: { type: string; [k: string]: unknown }[] = [];
  const waiters: (() => void)[] = [];
  worker.on('message', (m) => {
    messages.push(m);
    waiters.splice(0).forEach((fn) => fn());
  });
  let failure: unknown = null;
  worker.on('error', (err) => {
    failure = err;
    waiters.splice(0).forEach((fn) => fn());
  });
  const next = async (type: string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (failure) throw failure;
      const found = messages.find((m) => m.type === type);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`reader thread: no ${type} in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  };
  await next('ready', 30_000);
  return {
    async collect(count: number): Promise<{ errors: (string | null)[]; readers: ReaderResult[] }> {
      worker.postMessage({ type: 'collect', count, timeoutMs: 30_000 });
      return (await next('result', 60_000)) as unknown as { errors: (string | null)[]; readers: ReaderResult[] };
    },
  };
}

describe('[RT2] a client that never reads', () => {
  it('[RT2] does not slow the others, stays within its buffer cap, is closed, and resumes with Last-Event-ID', async () => {
    const running: Running = await startTestServer();
    cleanups.push(() => running.close());
    const cookie = await adminCookie(running.url);
    const hub = running.ctx.realtime.hub;
    const startPosition = hub.position;

    const readers = await startReaders(running.url, cookie);
    const stalled = await SseClient.open(running.url, { cookie, paused: true });
    cleanups.push(() => stalled.close());
    expect(stalled.status).toBe(200);
    await stalled.waitFor(() => hub.stats().clients === 3, 5000, 'three subscribers');
    const stalledId = Math.max(...hub.clientStats().map((c) => c.id));

    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    let stalledPeakBytes = 0;
    let stalledPeakEvents = 0;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      const s = hub.clientStats().find((c) => c.id === stalledId);
      if (s) {
        stalledPeakBytes = Math.max(stalledPeakBytes, s.peakBufferedBytes);
        stalledPeakEvents = Math.max(stalledPeakEvents, s.peakBufferedEvents);
      }
    }, 50);
    cleanups.push(() => clearInterval(sampler));

    /** Absolute ms (comparable across threads) when each webhook was sent. */
    const postStartedAt = new Map<number, number>();
    const batchOf = (messageId: string) => Math.floor(Number(messageId.split('.').pop()) / PER_POST);
    const postSeconds: number[] = [];
    for (let b = 0; b < POSTS; b++) {
      const batch: BatchMessage[] = Array.from({ length: PER_POST }, (_, k) => ({
        id: wamid('slow', b * PER_POST + k),
        from: `9617100000${b % 10}`,
        body: `${b}.${k} ${BODY}`,
      }));
      const t0 = performance.now();
      postStartedAt.set(b, performance.timeOrigin + t0);
      await postBatch(running.url, batch);
      postSeconds.push((performance.now() - t0) / 1000);
    }
    const log = await readEventsAfter(running.ctx.store.reader, startPosition, 100_000);
    expect(log.length).toBeGreaterThanOrEqual(POSTS * PER_POST);
    const expectedIds = log.map((e) => e.id);

    const collected = await readers.collect(expectedIds.length);
    expect(collected.errors, `hub ${JSON.stringify(hub.stats())}`).toEqual([null, null]);
    clearInterval(sampler);
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);

    // Other clients: everything, in order, once, with bounded latency.
    for (const r of collected.readers) {
      expect(r.ids).toEqual(expectedIds);
      expect(r.arrivals).toHaveLength(POSTS * PER_POST);
    }
    const latencies = collected.readers
      .flatMap((r) => r.arrivals.map(([messageId, at]) => at - postStartedAt.get(batchOf(messageId))!))
      .sort((a, b) => a - b);
    const maxLatency = latencies[latencies.length - 1]!;
    const stats = hub.stats();
    expect(stalledPeakEvents).toBeLessThanOrEqual(stats.peakBufferedEvents);
    console.log(
      `[RT2] ${expectedIds.length} events (~${Math.round(log.reduce((n, e) => n + e.payload.length, 0) / 1e6)} MB); ` +
        `webhook POSTs of ${PER_POST}: ${postSeconds.map((s) => s.toFixed(2)).join(' ')} s; ` +
        `latency from POST start p50 ${latencies[latencies.length >> 1]!.toFixed(0)} ms, max ${maxLatency.toFixed(0)} ms; ` +
        `largest client buffer ${stats.peakBufferedEvents} events / ${(stats.peakBufferedBytes / 1e6).toFixed(2)} MB ` +
        `(cap ${SSE_DEFAULTS.maxBufferedEvents} / ${(SSE_DEFAULTS.maxBufferedBytes / 1e6).toFixed(2)} MB); ` +
        `RSS growth ${((rssPeak - rssBefore) / 1e6).toFixed(0)} MB; overflow closes ${stats.overflowClosed}`,
    );
    expect(maxLatency).toBeLessThan(5000);

    // The stalled stream: its buffer never went past the cap, it was closed, only it.
    expect(stats.overflowClosed).toBe(1);
    expect(stats.clients).toBe(2);
    // The cap, plus the one frame that overflowed it and the socket's own 16 KiB high-water mark.
    expect(stats.peakBufferedBytes).toBeLessThanOrEqual(SSE_DEFAULTS.maxBufferedBytes + 64 * 1024);
    expect(stats.peakBufferedEvents).toBeLessThanOrEqual(SSE_DEFAULTS.maxBufferedEvents + 1);
    expect(stalledPeakBytes).toBeGreaterThan(0);
    expect(rssPeak - rssBefore).toBeLessThan(600 * 1024 * 1024);

    // It reads what reached it before the cut, sees the end, and resumes from its last id.
    stalled.resume();
    await stalled.waitFor(() => stalled.isEnded, 30_000, 'the end of the cut stream');
    const firstPart = stalled.events.map((f) => Number(f.id));
    expect(firstPart.length).toBeGreaterThan(0);
    expect(firstPart.length).toBeLessThan(expectedIds.length);
    expect(firstPart).toEqual(expectedIds.slice(0, firstPart.length));

    const resumed = await SseClient.open(running.url, { cookie, lastEventId: stalled.lastEventId! });
    cleanups.push(() => resumed.close());
    const rest = expectedIds.length - firstPart.length;
    await resumed.waitForEvents(rest, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}; hub ${JSON.stringify(hub.stats())} ${JSON.stringify(hub.clientStats())}`);
    });
    expect([...firstPart, ...resumed.events.map((f) => Number(f.id))]).toEqual(expectedIds);
  }, 180_000);
});
