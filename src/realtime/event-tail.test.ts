import { afterEach, describe, expect, it } from 'vitest';
import { TEST_POSTGRES_URL, createPostgresDatabase, createSqliteDatabase, type TestDatabase } from '../../test/support/databases.js';
import { openStore, type Store } from '../store/database.js';
import { eventLogOf } from '../store/event-log.js';
import { readEventsAfter, type EventRecord } from '../store/event.store.js';
import { GroupCommitter } from '../store/group-commit.js';
import { EventTail } from './event-tail.js';
import { plumbingEvent } from '../../test/support/store-fixtures.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function database(kind: 'sqlite' | 'postgres'): Promise<TestDatabase> {
  const db = kind === 'sqlite' ? await createSqliteDatabase() : await createPostgresDatabase();
  cleanups.push(() => db.destroy());
  return db;
}

async function open(db: TestDatabase): Promise<Store> {
  const store = await db.open();
  cleanups.push(() => store.close());
  return store;
}

function tailOf(store: Store, pollIntervalMs: number) {
  const delivered: EventRecord[] = [];
  const tail = new EventTail({ log: eventLogOf(store, { reconnectDelayMs: 100 }), pollIntervalMs }, (events) => delivered.push(...events));
  cleanups.push(() => tail.stop());
  return { tail, delivered };
}

/** Emits `count` events from `units` concurrent write units. */
async function emitMany(committer: GroupCommitter, units: number, perUnit: number, tag: string): Promise<void> {
  await Promise.all(
    Array.from({ length: units }, (_, u) =>
      committer.run(async (tx) => {
        for (let i = 0; i < perUnit; i++) tx.emit(plumbingEvent('new_message', `${tag}-${u}`, { u, i }));
      }),
    ),
  );
}

async function until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const ids = (events: readonly EventRecord[]) => events.map((e) => e.id);

describe('EventTail on SQLite with SQLITE_SYNC=offloaded', () => {
  it('[RT1] events another connection committed are delivered only after an fsync of the WAL that covers them', async () => {
    const db = await database('sqlite');
    const store = await openStore(db.url, { sqliteSync: 'offloaded' });
    cleanups.push(() => store.close());
    // The other writer (another process in production): COMMIT without fsync, nobody told.
    const other = await openStore(db.url, { sqliteSync: 'offloaded' });
    cleanups.push(() => other.close());
    const delivered: { ids: number[]; fsyncsBefore: number }[] = [];
    const tail = new EventTail({ log: eventLogOf(store), pollIntervalMs: 20 }, (events) =>
      delivered.push({ ids: ids(events), fsyncsBefore: store.wal!.stats.fsyncs }),
    );
    cleanups.push(() => tail.stop());
    await tail.start();
    expect(store.wal!.stats.fsyncs).toBe(0);
    await other.db
      .insertInto('events')
      .values(
        [1, 2, 3].map((n) => ({
          type: 'new_message',
          conversation_id: 'c-other',
          payload: JSON.stringify({ n }),
          created_at: new Date().toISOString(),
        })),
      )
      .execute();
    await until(() => delivered.length > 0, 5000, "the other connection's events");
    expect(delivered.flatMap((d) => d.ids)).toEqual([1, 2, 3]);
    // This process's WalSync ran an fsync before handing them over.
    expect(delivered[0]!.fsyncsBefore).toBeGreaterThanOrEqual(1);
  });
});

describe('EventTail on SQLite', () => {
  it('[RT1] starts at the end of the log: history is not re-delivered', async () => {
    const store = await open(await database('sqlite'));
    const committer = new GroupCommitter(store, { maxBatch: 16 });
    await emitMany(committer, 3, 2, 'old');
    const { tail, delivered } = tailOf(store, 50);
    expect(await tail.start()).toBe(6);
    await new Promise((r) => setTimeout(r, 150));
    expect(delivered).toEqual([]);
  });

  it('[RT1] an in-process wake delivers every committed event once, in id order', async () => {
    const store = await open(await database('sqlite'));
    let wake: (id: number) => void = () => {};
    const committer = new GroupCommitter(store, { maxBatch: 16, onEventsCommitted: (id) => wake(id) });
    // No poll to speak of: only the wake can deliver within the test.
    const { tail, delivered } = tailOf(store, 600_000);
    await tail.start();
    wake = (id) => tail.wake(id);
    await emitMany(committer, 50, 30, 'w');
    await until(() => delivered.length >= 1500, 5000, '1500 events');
    expect(ids(delivered)).toEqual(ids(await readEventsAfter(store.reader, 0, 10_000)));
    expect(tail.lastSeenId).toBe(1500);
  });

  it('a write from another connection (another process) is picked up by the safety poll', async () => {
    const db = await database('sqlite');
    const store = await open(db);
    const other = await open(db);
    const { tail, delivered } = tailOf(store, 100);
    await tail.start();
    await emitMany(new GroupCommitter(other, { maxBatch: 16 }), 2, 5, 'other');
    await until(() => delivered.length >= 10, 5000, 'the polled events');
    expect(ids(delivered)).toEqual(ids(await readEventsAfter(store.reader, 0, 100)));
  });
});

describe.skipIf(!TEST_POSTGRES_URL)('EventTail on PostgreSQL', () => {
  it('[RT3] NOTIFY from another pool (another process) wakes the tail without waiting for the poll', async () => {
    const db = await database('postgres');
    const store = await open(db);
    const other = await open(db);
    const { tail, delivered } = tailOf(store, 600_000);
    await tail.start();
    expect(tail.isListening).toBe(true);
    await emitMany(new GroupCommitter(other, { maxBatch: 16 }), 5, 4, 'n');
    await until(() => delivered.length >= 20, 5000, '20 notified events');
    expect(tail.stats.notifications).toBeGreaterThan(0);
    expect(ids(delivered)).toEqual(ids(await readEventsAfter(store.reader, 0, 100)));
  });

  it('[RT1][RT3] concurrent batches from two pools still reach the tail gap-free, each once, in id order', async () => {
    const db = await database('postgres');
    const store = await open(db);
    const writerA = await open(db);
    const writerB = await open(db);
    const { tail, delivered } = tailOf(store, 600_000);
    await tail.start();
    const a = new GroupCommitter(writerA, { maxBatch: 8, concurrency: 4 });
    const b = new GroupCommitter(writerB, { maxBatch: 8, concurrency: 4 });
    await Promise.all([emitMany(a, 80, 5, 'a'), emitMany(b, 80, 5, 'b')]);
    await until(() => delivered.length >= 800, 10_000, '800 events');
    const log = ids(await readEventsAfter(store.reader, 0, 10_000));
    expect(log).toHaveLength(800);
    expect(ids(delivered)).toEqual(log);
  });

  it('[RT3] a killed LISTEN connection is reopened, and events in between are not lost', async () => {
    const db = await database('postgres');
    const store = await open(db);
    const other = await open(db);
    const { tail, delivered } = tailOf(store, 600_000);
    await tail.start();
    await other.pgPool!.query(
      `select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query ilike 'LISTEN%'`,
    );
    await until(() => tail.stats.listenErrors > 0, 5000, 'the LISTEN connection to fail');
    await emitMany(new GroupCommitter(other, { maxBatch: 16 }), 3, 3, 'gap');
    // Reconnecting reads what was committed meanwhile, without any poll.
    await until(() => delivered.length >= 9, 5000, 'the events committed while not listening');
    await until(() => tail.isListening, 5000, 'LISTEN again');
    await emitMany(new GroupCommitter(other, { maxBatch: 16 }), 1, 1, 'after');
    await until(() => delivered.length >= 10, 5000, 'an event after reconnecting');
    expect(ids(delivered)).toEqual(ids(await readEventsAfter(store.reader, 0, 100)));
  });
});
