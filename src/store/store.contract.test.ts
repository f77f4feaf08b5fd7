import { fork, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from './database.js';
import { migrateToLatest } from './migrations.js';
import { appendMessage, findMessage, listMessages } from './message.store.js';
import { GroupCommitter } from './group-commit.js';
import { listConversationPage } from './conversation-query.store.js';
import { updateMessage } from './message.store.js';
import { contractDatabases, sharedDatabases, type TestDatabase } from '../../test/support/databases.js';
import { plumbingEvent, sampleMessage, seedConversation } from '../../test/support/store-fixtures.js';

for (const factory of contractDatabases()) {
  describe(`store contract on ${factory.kind}`, () => {
    let database: TestDatabase;
    let store: Store;

    beforeAll(async () => {
      database = await factory.create();
      store = await database.open();
    });
    afterAll(async () => {
      if (factory.kind !== 'pglite') await store.close();
      await database.destroy();
    });

    it('migrations create every table and a second run changes nothing', async () => {
      const tables = [
        'channels',
        'contacts',
        'conversations',
        'messages',
        'media',
        'media_blobs',
        'events',
        'webhook_journal',
        'jobs',
        'operators',
        'sessions',
        'login_attempts',
      ];
      for (const t of tables) {
        await expect(sql`select count(*) as n from ${sql.table(t)}`.execute(store.db)).resolves.toBeDefined();
      }
      expect(await migrateToLatest(store.db, store.dialect)).toEqual([]);
    });

    if (factory.kind === 'sqlite')
      it('acknowledged means durable: SQLite runs in WAL mode with synchronous=FULL by default', async () => {
        const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(store.db);
        const sync = await sql<{ synchronous: number }>`pragma synchronous`.execute(store.db);
        expect(mode.rows[0]?.journal_mode).toBe('wal');
        expect(sync.rows[0]?.synchronous).toBe(2);
        expect(store.wal).toBeNull();
      });

    if (factory.kind === 'sqlite')
      it('acknowledged means durable with SQLITE_SYNC=offloaded: a write resolves only after an fsync of the WAL begun after its COMMIT', async () => {
        const offloaded = await openStore(`sqlite:${join(mkdtempSync(join(tmpdir(), 'sb-offloaded-')), 'test.db')}`, {
          sqliteSync: 'offloaded',
        });
        try {
          const sync = await sql<{ synchronous: number }>`pragma synchronous`.execute(offloaded.db);
          // NORMAL: COMMIT writes the WAL without an fsync; wal-sync.ts fsyncs it off the event loop.
          expect(sync.rows[0]?.synchronous).toBe(1);
          const wal = offloaded.wal!;
          const conv = await seedConversation(offloaded, 'c-durable');
          const committer = new GroupCommitter(offloaded, { maxBatch: 64, concurrency: 1 });
          const seenInside: number[] = [];
          const n = 100;
          await Promise.all(
            Array.from({ length: n }, (_, i) =>
              committer
                .run(async (tx) => {
                  seenInside[i] = wal.stats.fsyncs;
                  await appendMessage(tx.db, conv, sampleMessage(`durable${i}`));
                })
                .then(() => {
                  // An fsync that began after this unit's COMMIT has completed (the count seen inside the
                  // unit, before COMMIT, could only include fsyncs that began earlier).
                  expect(wal.stats.fsyncs).toBeGreaterThan(seenInside[i]!);
                }),
            ),
          );
          // Group commit: far fewer fsyncs than writes.
          expect(wal.stats.fsyncs).toBeLessThan(n);
        } finally {
          await offloaded.close();
        }
      });

    if (factory.kind === 'sqlite')
      it('the WAL is checkpointed on a worker thread, never inside a COMMIT on the event loop', async () => {
        const auto = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(store.db);
        expect(auto.rows[0]?.wal_autocheckpoint).toBe(0);
        const checkpointer = store.checkpointer!;
        const before = checkpointer.stats.framesCheckpointed;
        const conv = await seedConversation(store, 'c-checkpoint');
        const committer = new GroupCommitter(store, { maxBatch: 64, concurrency: 1 });
        for (let round = 0; round < 5; round++) {
          await Promise.all(
            Array.from({ length: 50 }, (_, i) => committer.run((tx) => appendMessage(tx.db, conv, sampleMessage(`cp${round}_${i}`)))),
          );
        }
        for (let i = 0; i < 100 && checkpointer.stats.framesCheckpointed === before; i++) await new Promise((r) => setTimeout(r, 50));
        expect(checkpointer.stats.framesCheckpointed).toBeGreaterThan(before);
      });

    it('[ID5] a second append of the same message_id returns the existing row, no new seq', async () => {
      const conv = await seedConversation(store, 'c-id5');
      const first = await store.db.transaction().execute((t) => appendMessage(t, conv, sampleMessage('wamid.A')));
      const second = await store.db.transaction().execute((t) => appendMessage(t, conv, sampleMessage('wamid.A', { text: 'changed' })));
      expect(first.created).toBe(true);
      expect(second.created).toBe(false);
      expect(second.row.id).toBe(first.row.id);
      expect(second.row.text).toBe('text of wamid.A');
      const next = await store.db.transaction().execute((t) => appendMessage(t, conv, sampleMessage('wamid.B')));
      expect(next.row.seq).toBe(first.row.seq + 1);
    });

    it('[ID5] the database itself refuses a duplicate (conversation, message_id)', async () => {
      const conv = await seedConversation(store, 'c-unique');
      await store.db.transaction().execute((t) => appendMessage(t, conv, sampleMessage('wamid.U')));
      const now = new Date().toISOString();
      await expect(
        store.db
          .insertInto('messages')
          .values({ ...sampleMessage('wamid.U'), conversation_id: conv, seq: 99, created_at: now, updated_at: now })
          .execute(),
      ).rejects.toThrow();
    });

    it('[ID6] a generated id that collides is regenerated, never overwrites', async () => {
      const conv = await seedConversation(store, 'c-id6');
      await store.db
        .transaction()
        .execute((t) => appendMessage(t, conv, sampleMessage('msg_20260301143022_a1b2c3d4', { role: 'assistant', text: 'original' })));
      const ids = ['msg_20260301143022_0000000f'];
      const r = await store.db.transaction().execute((t) =>
        appendMessage(t, conv, sampleMessage('msg_20260301143022_a1b2c3d4', { role: 'assistant', text: 'second' }), {
          regenerateId: () => ids.shift()!,
        }),
      );
      expect(r.created).toBe(true);
      expect(r.row.message_id).toBe('msg_20260301143022_0000000f');
      expect(JSON.parse(r.row.metadata).message_id).toBe('msg_20260301143022_0000000f');
      const original = await findMessage(store.db, conv, 'msg_20260301143022_a1b2c3d4');
      expect(original?.text).toBe('original');
    });

    it('pages: latest page oldest-first, before_seq and after_seq cursors, has_more', async () => {
      const conv = await seedConversation(store, 'c-pages');
      for (let i = 1; i <= 25; i++) await store.db.transaction().execute((t) => appendMessage(t, conv, sampleMessage(`p${i}`)));
      const latest = await listMessages(store.reader, conv, { limit: 10 });
      expect(latest.rows.map((r) => r.seq)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
      expect(latest.hasMore).toBe(true);
      const older = await listMessages(store.reader, conv, { beforeSeq: 16, limit: 10 });
      expect(older.rows.map((r) => r.seq)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
      const oldest = await listMessages(store.reader, conv, { beforeSeq: 6, limit: 10 });
      expect(oldest.rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(oldest.hasMore).toBe(false);
      const newer = await listMessages(store.reader, conv, { afterSeq: 20, limit: 3 });
      expect(newer.rows.map((r) => r.seq)).toEqual([21, 22, 23]);
      expect(newer.hasMore).toBe(true);
    });

    it('message text search follows inserts, edits and deletes (SQLite: through its trigram index)', async () => {
      const conv = await seedConversation(store, 'c-search');
      const search = async (text: string) =>
        (await listConversationPage(store.reader, store.dialect, { search: text, limit: 10 })).items.map((i) => i.conversation.id);
      const { row } = await store.db
        .transaction()
        .execute((t) => appendMessage(t, conv, sampleMessage('s1', { text: 'Where is my Zanzibarite order?' })));
      expect(await search('zanzibarite')).toEqual([conv]);
      expect(await search('ZANZIBAR')).toEqual([conv]);
      await store.db.transaction().execute((t) => updateMessage(t, row.id, { text: 'voice note transcript: obsidianite' }));
      expect(await search('zanzibarite')).toEqual([]);
      expect(await search('obsidianite')).toEqual([conv]);
      await store.db.transaction().execute((t) => t.deleteFrom('messages').where('id', '=', row.id).execute());
      expect(await search('obsidianite')).toEqual([]);
    });

    it('group commit: N concurrent writes finish in fewer than N transactions, each durable when it resolves', async () => {
      const conv = await seedConversation(store, 'c-gc');
      const committer = new GroupCommitter(store, { maxBatch: 64, concurrency: 1 });
      const n = 200;
      const seen: number[] = [];
      const writes = Array.from({ length: n }, (_, i) =>
        committer
          .run(async (tx) => {
            const r = await appendMessage(tx.db, conv, sampleMessage(`gc${i}`));
            tx.emit(plumbingEvent('new_message', conv, { message_id: `gc${i}` }));
            return r.row;
          })
          .then(async (row) => {
            // Durable when resolved: a fresh read (on SQLite another connection) already sees it.
            const found = await findMessage(store.reader, conv, row.message_id);
            seen.push(found ? 1 : 0);
            return row;
          }),
      );
      const rows = await Promise.all(writes);
      expect(seen.reduce((a, b) => a + b, 0)).toBe(n);
      expect(committer.stats.units).toBe(n);
      expect(committer.stats.batches).toBeLessThan(n);
      expect(new Set(rows.map((r) => r.seq)).size).toBe(n);
      const events = await store.reader.selectFrom('events').select(['id']).where('conversation_id', '=', conv).execute();
      expect(events).toHaveLength(n);
    });

    it('group commit: a failing unit rolls back alone; the rest of its batch commits', async () => {
      const conv = await seedConversation(store, 'c-gc-fail');
      const committer = new GroupCommitter(store, { maxBatch: 64, concurrency: 1 });
      const results = await Promise.allSettled([
        committer.run((tx) => appendMessage(tx.db, conv, sampleMessage('ok1'))),
        committer.run(async (tx) => {
          await appendMessage(tx.db, conv, sampleMessage('doomed'));
          tx.emit(plumbingEvent('new_message', conv, {}));
          throw new Error('unit failed');
        }),
        committer.run((tx) => appendMessage(tx.db, conv, sampleMessage('ok2'))),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(await findMessage(store.reader, conv, 'doomed')).toBeUndefined();
      const page = await listMessages(store.reader, conv, { limit: 10 });
      expect(page.rows.map((r) => [r.message_id, r.seq])).toEqual([
        ['ok1', 1],
        ['ok2', 2],
      ]);
      const events = await store.reader.selectFrom('events').select('id').where('conversation_id', '=', conv).execute();
      expect(events).toHaveLength(0);
    });

    it('group commit: a batch without failures runs once without savepoints; after a failure its units run again isolated, and commit once', async () => {
      const conv = await seedConversation(store, 'c-gc-retry');
      const committer = new GroupCommitter(store, { maxBatch: 64, concurrency: 1 });
      const runs = new Map<string, number>();
      const committed: string[] = [];
      const unit = (id: string, fail = false) =>
        committer.run(async (tx) => {
          runs.set(id, (runs.get(id) ?? 0) + 1);
          const r = await appendMessage(tx.db, conv, sampleMessage(id));
          tx.emit(plumbingEvent('new_message', conv, { message_id: id }));
          tx.journal({
            provider: 'gc-retry',
            received_at: new Date().toISOString(),
            body: JSON.stringify({ id }),
            message_count: 1,
            status_count: 0,
          });
          tx.afterCommit(() => committed.push(id));
          if (fail) throw new Error(`${id} failed`);
          return r.row.seq;
        });
      expect(await Promise.all([unit('a1'), unit('a2'), unit('a3')])).toEqual([1, 2, 3]);
      expect([...runs.values()]).toEqual([1, 1, 1]);

      runs.clear();
      const results = await Promise.allSettled([unit('b1'), unit('b2', true), unit('b3')]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      // The optimistic pass stopped at b2 (b3 never ran in it); the isolated pass ran all three.
      expect(Object.fromEntries(runs)).toEqual({ b1: 2, b2: 2, b3: 1 });
      expect(committed).toEqual(['a1', 'a2', 'a3', 'b1', 'b3']);
      const page = await listMessages(store.reader, conv, { limit: 10 });
      expect(page.rows.map((r) => [r.message_id, r.seq])).toEqual([
        ['a1', 1],
        ['a2', 2],
        ['a3', 3],
        ['b1', 4],
        ['b3', 5],
      ]);
      const events = await store.reader.selectFrom('events').select('payload').where('conversation_id', '=', conv).orderBy('id').execute();
      expect(events.map((e) => JSON.parse(e.payload).message_id)).toEqual(['a1', 'a2', 'a3', 'b1', 'b3']);
      // Journal rows, written with the batch's events, follow the same rule: once per committed unit.
      const journal = await store.reader
        .selectFrom('webhook_journal')
        .select('body')
        .where('provider', '=', 'gc-retry')
        .orderBy('id')
        .execute();
      expect(journal.map((j) => JSON.parse(j.body).id)).toEqual(['a1', 'a2', 'a3', 'b1', 'b3']);
    });
  });
}

for (const factory of sharedDatabases()) {
  describe(`concurrency on ${factory.kind}`, () => {
    let database: TestDatabase;
    let a: Store;
    let b: Store;

    beforeAll(async () => {
      database = await factory.create();
      a = await database.open();
      b = await database.open();
    });
    afterAll(async () => {
      await a.close();
      await b.close();
      await database.destroy();
    });

    it('[ID5] two connections insert the same (conversation, message_id) at once, 100 rounds: one row each, loser gets it back', async () => {
      const conv = await seedConversation(a, 'race-conn');
      for (let round = 0; round < 100; round++) {
        const id = `wamid.race.${round}`;
        const [ra, rb] = await Promise.all([
          a.db.transaction().execute((t) => appendMessage(t, conv, sampleMessage(id))),
          b.db.transaction().execute((t) => appendMessage(t, conv, sampleMessage(id))),
        ]);
        expect([ra.created, rb.created].filter(Boolean)).toHaveLength(1);
        expect(ra.row.id).toBe(rb.row.id);
      }
      const rows = await a.db
        .selectFrom('messages')
        .select(['message_id', 'seq'])
        .where('conversation_id', '=', conv)
        .orderBy('seq')
        .execute();
      expect(rows).toHaveLength(100);
      expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    });

    describe('two OS processes', () => {
      let workers: ChildProcess[] = [];
      const pending = new Map<number, (v: any) => void>();
      let tag = 0;

      function ask(
        w: ChildProcess,
        conversationId: string,
        messageIds: string[],
      ): Promise<{ pk: number; seq: number; created: boolean }[]> {
        return new Promise((resolve, reject) => {
          const t = ++tag;
          pending.set(t, (m) => (m.error ? reject(new Error(m.error)) : resolve(m.results)));
          w.send({ op: 'append', conversationId, messageIds, tag: t });
        });
      }

      beforeAll(async () => {
        workers = [0, 1].map(() =>
          fork(new URL('../../test/support/store-worker.ts', import.meta.url).pathname, [database.url], {
            execArgv: ['--import', 'tsx'],
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          }),
        );
        await Promise.all(
          workers.map(
            (w) =>
              new Promise<void>((resolve) => {
                w.on('message', (m: any) => {
                  if (m.ready) resolve();
                  else pending.get(m.tag)?.(m);
                });
              }),
          ),
        );
      });
      afterAll(async () => {
        await Promise.all(
          workers.map(
            (w) =>
              new Promise<void>((resolve) => {
                w.once('exit', () => resolve());
                w.send({ op: 'close' });
              }),
          ),
        );
      });

      it('[ID5] the same message_id from two processes at once, 100 rounds: exactly one row each round', async () => {
        const conv = await seedConversation(a, 'race-proc');
        for (let round = 0; round < 100; round++) {
          const id = `wamid.proc.${round}`;
          const [ra, rb] = await Promise.all(workers.map((w) => ask(w, conv, [id])));
          expect([ra![0]!.created, rb![0]!.created].filter(Boolean)).toHaveLength(1);
          expect(ra![0]!.pk).toBe(rb![0]!.pk);
        }
        const n = await a.db
          .selectFrom('messages')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('conversation_id', '=', conv)
          .executeTakeFirstOrThrow();
        expect(Number(n.n)).toBe(100);
      });

      it('seq is unique and gap-free when two processes append to one conversation at once', async () => {
        const conv = await seedConversation(a, 'seq-proc');
        const ids = (p: string) => Array.from({ length: 150 }, (_, i) => `${p}${i}`);
        await Promise.all([ask(workers[0]!, conv, ids('x')), ask(workers[1]!, conv, ids('y'))]);
        const rows = await a.db.selectFrom('messages').select('seq').where('conversation_id', '=', conv).orderBy('seq').execute();
        expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
      });
    });
  });
}
