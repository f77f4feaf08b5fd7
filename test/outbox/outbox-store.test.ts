import { CompiledQuery } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/database.js';
import { earlierPendingOutbound, earlierPendingQuery, nextPendingOutbound } from '../../src/store/outbox.store.js';
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
          conversation_id: conversation, message_id: `m.${seq}`, seq, role: seq % 2 ? 'user' : 'assistant', type: 'text', text: null,
          media: null, status, error: null, operator_id: null, operator_name: null, reply_to: null, timestamp: now,
          metadata: '{}', provider_message_id: null, client_key: null, created_at: now, updated_at: now,
        };
      });
      for (let at = 0; at < rows.length; at += 500) await store.db.insertInto('messages').values(rows.slice(at, at + 500)).execute();
      await store.db.updateTable('conversations').set({ last_seq: SIZE }).where('id', '=', conversation).execute();
      if (store.dialect === 'postgres') await store.db.executeQuery(CompiledQuery.raw('analyze messages'));
    }, 60_000);
    afterAll(async () => {
      if (factory.kind !== 'pglite') await store.close();
      await database.destroy();
    });

    it('finds the first earlier pending message and the next one after a seq', async () => {
      expect(await earlierPendingOutbound(store.reader, conversation, 4_000)).toBeUndefined();
      expect(await earlierPendingOutbound(store.reader, conversation, 4_500)).toEqual({ message_id: 'm.4000', seq: 4_000 });
      expect(await earlierPendingOutbound(store.reader, conversation, SIZE)).toEqual({ message_id: 'm.4000', seq: 4_000 });
      expect(await nextPendingOutbound(store.reader, conversation, 4_000)).toEqual({ message_id: 'm.4500', seq: 4_500 });
      expect(await nextPendingOutbound(store.reader, conversation, 4_500)).toBeUndefined();
    });

    it('its plan reads messages_pending_seq_idx, not the conversation', async () => {
      const compiled = earlierPendingQuery(store.reader, conversation, SIZE).compile();
      const explain = store.dialect === 'sqlite' ? 'explain query plan' : 'explain';
      const plan = await store.reader.executeQuery<Record<string, string>>(CompiledQuery.raw(`${explain} ${compiled.sql}`, [...compiled.parameters]));
      expect(JSON.stringify(plan.rows)).toContain('messages_pending_seq_idx');
    });
  });
}
