import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteDatabase } from '../../test/support/databases.js';
import type { Store } from '../store/database.js';
import { eventLogOf } from '../store/event-log.js';
import { readEventsAfter, type EventRecord } from '../store/event.store.js';
import { GroupCommitter } from '../store/group-commit.js';
import { SseHub, type SseHubOptions } from './sse-hub.js';
import { plumbingEvent } from '../../test/support/store-fixtures.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** A real node Writable standing in for a socket; `stalled` holds every write until released. */
class TestSink extends Writable {
  text = '';
  stalled = false;
  private held: (() => void)[] = [];

  constructor(highWaterMark = 1024) {
    super({
      highWaterMark,
      decodeStrings: false,
      write: (chunk: string, _enc, done) => {
        const accept = () => {
          this.text += chunk;
          done();
        };
        if (this.stalled) this.held.push(accept);
        else accept();
      },
    });
  }

  release(): void {
    this.stalled = false;
    for (const fn of this.held.splice(0)) fn();
  }

  get eventIds(): number[] {
    return [...this.text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
  }
}

async function setup(events: number, options: Partial<SseHubOptions> = {}) {
  const database = await createSqliteDatabase();
  const store: Store = await database.open();
  cleanups.push(
    () => database.destroy(),
    () => store.close(),
  );
  const committer = new GroupCommitter(store, { maxBatch: 64 });
  await committer.run(async (tx) => {
    for (let i = 0; i < events; i++) tx.emit(plumbingEvent('new_message', i % 2 ? 'odd' : 'even', { i, pad: 'p'.repeat(200) }));
  });
  const log = await readEventsAfter(store.reader, 0, 100_000);
  const hub = new SseHub({ log: eventLogOf(store), pingIntervalMs: 60_000, ...options });
  cleanups.push(() => hub.closeAll());
  return { hub, log, store };
}

function sinkFor(stalled = false): TestSink {
  const sink = new TestSink();
  sink.stalled = stalled;
  return sink;
}

const range = (log: readonly EventRecord[], after: number, upTo = Infinity) => log.filter((e) => e.id > after && e.id <= upTo);

describe('SseHub', () => {
  it('[RT1] live events published while the catch-up reads are held back, then sent once: no gap, no duplicate', async () => {
    const { hub, log } = await setup(40, { catchUpPageSize: 7 });
    // The tail has published up to 20 so far; the log already holds 40.
    hub.start(20);
    const sink = sinkFor();
    const subscribed = hub.subscribe(sink, { resumeAfter: 3 });
    // The tail catches up while the client's catch-up is between reads.
    hub.publish(range(log, 20, 30));
    await new Promise((r) => setImmediate(r));
    hub.publish(range(log, 30));
    await subscribed;
    expect(sink.eventIds).toEqual(range(log, 3).map((e) => e.id));
    expect(hub.clientStats()[0]).toMatchObject({ live: true, lastEventId: 40 });
  });

  it('[RT1] a client without a resume point starts at the current tail', async () => {
    const { hub, log } = await setup(10);
    hub.start(6);
    const sink = sinkFor();
    await hub.subscribe(sink);
    hub.publish(log);
    expect(sink.eventIds).toEqual(range(log, 6).map((e) => e.id));
    expect(sink.text.startsWith('retry: 2000\n\n')).toBe(true);
  });

  it('[RT1] filters by conversation in catch-up and live alike', async () => {
    const { hub, log } = await setup(20, { catchUpPageSize: 3 });
    hub.start(10);
    const sink = sinkFor();
    await hub.subscribe(sink, { resumeAfter: 0, conversationId: 'odd' });
    hub.publish(range(log, 10));
    expect(sink.eventIds).toEqual(log.filter((e) => e.conversation_id === 'odd').map((e) => e.id));
  });

  it('[RT2] a stalled stream overflowing its bound is closed; publishing goes on for the others', async () => {
    const { hub, log } = await setup(300, { maxBufferedEvents: 50, maxBufferedBytes: 1_000_000 });
    hub.start(0);
    const healthy = sinkFor();
    const stalled = sinkFor(true);
    await hub.subscribe(healthy);
    await hub.subscribe(stalled);
    const closed = new Promise((resolve) => stalled.once('close', resolve));
    hub.publish(log);
    await closed;
    expect(healthy.eventIds).toEqual(log.map((e) => e.id));
    const stats = hub.stats();
    expect(stats).toMatchObject({ clients: 1, overflowClosed: 1 });
    // The healthy stream's 300, plus the few frames the stalled socket took before it filled.
    expect(stats.eventsDelivered).toBeGreaterThanOrEqual(300);
    expect(stats.eventsDelivered).toBeLessThan(310);
    expect(stats.peakBufferedEvents).toBe(51);
  });

  it('[RT2] the byte bound applies too', async () => {
    const { hub, log } = await setup(300, { maxBufferedEvents: 10_000, maxBufferedBytes: 10_000 });
    hub.start(0);
    const stalled = sinkFor(true);
    await hub.subscribe(stalled);
    hub.publish(log);
    expect(hub.stats()).toMatchObject({ clients: 0, overflowClosed: 1 });
    // Queue bytes stop at the bound; the socket itself holds at most its high-water mark and one frame.
    expect(hub.stats().peakBufferedBytes).toBeLessThan(10_000 + 1024 + 2 * 400);
  });

  it('[RT2] a client stalled during its catch-up is closed when the live events held back for it overflow', async () => {
    const { hub, log } = await setup(100, { maxBufferedEvents: 30, catchUpPageSize: 10 });
    hub.start(50);
    const stalled = sinkFor(true);
    const subscribed = hub.subscribe(stalled, { resumeAfter: 0 });
    const closed = new Promise((resolve) => stalled.once('close', resolve));
    hub.publish(range(log, 50));
    await closed;
    await subscribed;
    expect(hub.stats()).toMatchObject({ clients: 0, overflowClosed: 1 });
  });

  it('a slow but draining stream gets everything once it drains', async () => {
    const { hub, log } = await setup(200, { maxBufferedEvents: 1000 });
    hub.start(0);
    const slow = sinkFor(true);
    await hub.subscribe(slow);
    hub.publish(log);
    expect(hub.clientStats()[0]!.bufferedEvents).toBeGreaterThan(0);
    slow.release();
    await new Promise((r) => setTimeout(r, 20));
    expect(slow.eventIds).toEqual(log.map((e) => e.id));
    expect(hub.clientStats()[0]!.bufferedEvents).toBe(0);
  });

  it('pings only idle streams', async () => {
    const { hub, log } = await setup(50, { pingIntervalMs: 20, maxBufferedEvents: 1000 });
    hub.start(0);
    const idle = sinkFor();
    const busy = sinkFor(true);
    await hub.subscribe(idle);
    await hub.subscribe(busy);
    hub.publish(log);
    await new Promise((r) => setTimeout(r, 100));
    expect(idle.text).toContain(': ping\n\n');
    busy.release();
    expect(busy.text).not.toContain(': ping');
  });

  it('closeAll ends every stream and refuses new ones', async () => {
    const { hub } = await setup(1);
    hub.start(1);
    const a = sinkFor();
    const b = sinkFor(true);
    await hub.subscribe(a);
    await hub.subscribe(b);
    await hub.closeAll();
    expect(a.writableEnded).toBe(true);
    expect(b.destroyed).toBe(true);
    expect(hub.stats().clients).toBe(0);
    const late = sinkFor();
    await hub.subscribe(late);
    expect(late.writableEnded).toBe(true);
  });
});
