import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { contractDatabases, type TestDatabase } from '../../test/support/databases.js';
import type { Store } from './database.js';
import { latestEventId, oldestEventId, purgeEventsBefore, readEventsAfter } from './event.store.js';
import { GroupCommitter, type EventType } from './group-commit.js';
import { plumbingEvent } from '../../test/support/store-fixtures.js';

for (const factory of contractDatabases()) {
  describe(`event log store on ${factory.kind}`, () => {
    let database: TestDatabase;
    let store: Store;
    let committer: GroupCommitter;

    beforeAll(async () => {
      database = await factory.create();
      store = await database.open();
      committer = new GroupCommitter(store, { maxBatch: 64 });
    });
    afterAll(async () => {
      await committer.idle();
      if (factory.kind !== 'pglite') await store.close();
      await database.destroy();
    });
    beforeEach(async () => {
      await store.db.deleteFrom('events').execute();
    });

    /** Writes events the way the application does: emitted by a unit, through group commit. */
    async function emit(list: { conversation: string; type?: EventType }[]): Promise<number[]> {
      const before = await latestEventId(store.reader);
      await committer.run(async (tx) => {
        for (const e of list) tx.emit(plumbingEvent(e.type ?? 'new_message', e.conversation, { c: e.conversation }));
      });
      return (await readEventsAfter(store.reader, before, 10_000)).map((e) => e.id);
    }

    async function setCreatedAt(ids: number[], at: string): Promise<void> {
      await store.db.updateTable('events').set({ created_at: at }).where('id', 'in', ids).execute();
    }

    it('an empty log has latest id 0 and no oldest id', async () => {
      expect(await latestEventId(store.reader)).toBe(0);
      expect(await oldestEventId(store.reader)).toBeNull();
      expect(await readEventsAfter(store.reader, 0, 10)).toEqual([]);
    });

    it('[RT1] reads after an id in id order, paged, optionally for one conversation', async () => {
      const ids = await emit([
        { conversation: 'c1' },
        { conversation: 'c2' },
        { conversation: 'c1', type: 'conversation_updated' },
        { conversation: 'c2' },
      ]);
      expect(ids).toHaveLength(4);
      const page = await readEventsAfter(store.reader, ids[0]!, 2);
      expect(page.map((e) => e.id)).toEqual(ids.slice(1, 3));
      expect(page[1]).toMatchObject({ type: 'conversation_updated', conversation_id: 'c1', payload: '{"c":"c1"}' });
      expect((await readEventsAfter(store.reader, 0, 10, 'c2')).map((e) => e.id)).toEqual([ids[1], ids[3]]);
      expect(await latestEventId(store.reader)).toBe(ids[3]);
      expect(await oldestEventId(store.reader)).toBe(ids[0]);
    });

    it('purge deletes a prefix of the log in id order, even when created_at is not monotonic', async () => {
      const ids = await emit(Array.from({ length: 6 }, () => ({ conversation: 'c' })));
      await setCreatedAt(ids, '2030-01-01T00:00:00.000Z');
      // Id 3 looks old (another process's clock behind); 1 and 2 are old; 4 is new, 5 is old again.
      await setCreatedAt([ids[0]!, ids[1]!, ids[2]!, ids[4]!], '2000-01-01T00:00:00.000Z');
      const deleted = await committer.run((tx) => purgeEventsBefore(tx.db, '2020-01-01T00:00:00.000Z', 100));
      // Everything up to the newest expired id (5) goes, including 4: what remains is a suffix.
      expect(deleted).toBe(5);
      expect((await readEventsAfter(store.reader, 0, 10)).map((e) => e.id)).toEqual([ids[5]]);
    });

    it('purge keeps the newest event, so an emptied log still tells where it ended', async () => {
      const ids = await emit(Array.from({ length: 3 }, () => ({ conversation: 'c' })));
      await setCreatedAt(ids, '2000-01-01T00:00:00.000Z');
      expect(await committer.run((tx) => purgeEventsBefore(tx.db, '2020-01-01T00:00:00.000Z', 100))).toBe(2);
      expect(await oldestEventId(store.reader)).toBe(ids[2]);
      expect(await latestEventId(store.reader)).toBe(ids[2]);
      expect(await committer.run((tx) => purgeEventsBefore(tx.db, '2020-01-01T00:00:00.000Z', 100))).toBe(0);
    });

    it('purge deletes at most maxRows per call, oldest first', async () => {
      const ids = await emit(Array.from({ length: 10 }, () => ({ conversation: 'c' })));
      await setCreatedAt(ids, '2000-01-01T00:00:00.000Z');
      expect(await committer.run((tx) => purgeEventsBefore(tx.db, '2020-01-01T00:00:00.000Z', 4))).toBe(4);
      expect(await oldestEventId(store.reader)).toBe(ids[4]);
      expect(await committer.run((tx) => purgeEventsBefore(tx.db, '2020-01-01T00:00:00.000Z', 4))).toBe(4);
      expect(await committer.run((tx) => purgeEventsBefore(tx.db, '2020-01-01T00:00:00.000Z', 4))).toBe(1);
      expect(await oldestEventId(store.reader)).toBe(ids[9]);
    });

    it('purge leaves events newer than the cutoff alone', async () => {
      await emit(Array.from({ length: 3 }, () => ({ conversation: 'c' })));
      expect(await committer.run((tx) => purgeEventsBefore(tx.db, '2000-01-01T00:00:00.000Z', 100))).toBe(0);
      expect(await readEventsAfter(store.reader, 0, 10)).toHaveLength(3);
    });
  });
}
