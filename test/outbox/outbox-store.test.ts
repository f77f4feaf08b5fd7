import { CompiledQuery } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/database.js';
import { enqueueJob } from '../../src/store/job.store.js';
import { earlierPending, earlierPendingSend, runNextSendNow } from '../../src/store/outbox.store.js';
import { contractDatabases, type TestDatabase } from '../support/databases.js';
import { seedConversation } from '../support/store-fixtures.js';

/*
 * The outbox's order check: the earliest pending message of ours before a seq, through the partial
 * index of pending messages (migration 0008), whatever the conversation's length.
 */

const SIZE = 5_000;

for (const factory of contractDatabases()) {
  describe(`outbox order queries on ${factory.kind}`, () => {
    let database: TestDatabase;
    let store: Store;
    let conversation: string;
    beforeAll(async () => {
      database = await factory.create();
      store = await database.open();
      conversation = await seedConversation(store, 'busy');
      const now = new Date().toISOString();
      const rows = Array.from({ length: SIZE }, (_, i) => {
        const seq = i + 1;
        const status = seq === 4_000 || seq === 4_500 ? 'pending' : seq % 2 ? 'received' : 'sent';
        return {
          conversation_id: conversation,
          message_id: `m.${seq}`,
          seq,
          role: seq % 2 ? 'user' : 'assistant',
          type: 'text',
          text: null,
          media: null,
          status,
          error: null,
          operator_id: null,
          operator_name: null,
          reply_to: null,
          timestamp: now,
          metadata: '{}',
          provider_message_id: null,
          client_key: null,
          created_at: now,
          updated_at: now,
        };
      });
      for (let at = 0; at < rows.length; at += 500)
        await store.db
          .insertInto('messages')
          .values(rows.slice(at, at + 500))
          .execute();
      await store.db.updateTable('conversations').set({ last_seq: SIZE }).where('id', '=', conversation).execute();
      if (store.dialect === 'postgres') await store.db.executeQuery(CompiledQuery.raw('analyze messages'));
    }, 60_000);
    afterAll(async () => {
      if (factory.kind !== 'pglite') await store.close();
      await database.destroy();
    });

    it('finds the first earlier pending message before a seq', async () => {
      const earlier = (seq: number) => earlierPendingSend(store.reader, store.dialect, conversation, seq);
      expect(await earlier(4_000)).toBeUndefined();
      expect(await earlier(4_500)).toEqual({ message_id: 'm.4000', seq: 4_000 });
      expect(await earlier(SIZE)).toEqual({ message_id: 'm.4000', seq: 4_000 });
    });

    it("[OUT1] a finished send makes the next pending message's job due now, and only that job, only earlier", async () => {
      const later = new Date(Date.now() + 60_000);
      const key = (seq: number) => `${conversation}:m.${seq}`;
      for (const seq of [4_000, 4_500]) {
        await enqueueJob(store.db, store.dialect, {
          kind: 'outbox.send',
          dedupe_key: key(seq),
          payload: { conversation_id: conversation, message_id: `m.${seq}` },
          run_at: later,
        });
      }
      const runAt = async (seq: number) =>
        (await store.db.selectFrom('jobs').select('run_at').where('dedupe_key', '=', key(seq)).executeTakeFirstOrThrow()).run_at;
      const now = new Date();
      // After m.4500 nothing is pending: no job moves.
      await runNextSendNow(store.db, store.dialect, conversation, 4_500, now);
      expect(await runAt(4_000)).toBe(later.toISOString());
      expect(await runAt(4_500)).toBe(later.toISOString());
      // After m.4000 (or anything between) the next pending is m.4500: its job is due now.
      await runNextSendNow(store.db, store.dialect, conversation, 4_000, now);
      expect(await runAt(4_500)).toBe(now.toISOString());
      expect(await runAt(4_000)).toBe(later.toISOString());
      // Never later: a second call with a later clock leaves it.
      await runNextSendNow(store.db, store.dialect, conversation, 4_000, new Date(now.getTime() + 5_000));
      expect(await runAt(4_500)).toBe(now.toISOString());
    });

    it('its plan reads messages_pending_seq_idx, not the conversation', async () => {
      const explain = store.dialect === 'sqlite' ? 'explain query plan' : 'explain';
      const plan = await store.reader.executeQuery<Record<string, string>>(
        CompiledQuery.raw(`${explain} ${earlierPending.text(store.dialect)}`, [conversation, SIZE]),
      );
      expect(JSON.stringify(plan.rows)).toContain('messages_pending_seq_idx');
    });
  });
}
