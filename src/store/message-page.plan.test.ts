import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompiledQuery } from 'kysely';
import type { Store } from './database.js';
import { listMessages, messagePageQuery } from './message.store.js';
import { contractDatabases, type TestDatabase } from '../../test/support/databases.js';
import { seedConversation } from '../../test/support/store-fixtures.js';

const BIG = 100_000;

/** Bulk-fills one conversation with `count` messages, seq 1..count, in large multi-row inserts. */
async function fill(store: Store, conversationId: string, count: number): Promise<void> {
  const now = new Date().toISOString();
  await store.db.transaction().execute(async (trx) => {
    for (let start = 1; start <= count; start += 500) {
      const rows = [];
      for (let seq = start; seq < Math.min(start + 500, count + 1); seq++) {
        rows.push({
          conversation_id: conversationId,
          message_id: `bulk.${seq}`,
          seq,
          role: 'user',
          type: 'text',
          text: `m${seq}`,
          media: null,
          status: 'received',
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
        });
      }
      await trx.insertInto('messages').values(rows).execute();
    }
    await trx.updateTable('conversations').set({ last_seq: count }).where('id', '=', conversationId).execute();
  });
}

for (const factory of contractDatabases()) {
  describe(`conversation details read only the latest page, on ${factory.kind}`, () => {
    let database: TestDatabase;
    let store: Store;
    let big: string;

    beforeAll(async () => {
      database = await factory.create();
      store = await database.open();
      big = await seedConversation(store, 'big');
      await fill(store, big, BIG);
      const small = await seedConversation(store, 'small');
      await fill(store, small, 100);
      if (store.dialect === 'postgres') await store.db.executeQuery(CompiledQuery.raw('analyze messages'));
    }, 180_000);
    afterAll(async () => {
      if (factory.kind !== 'pglite') await store.close();
      await database.destroy();
    });

    it('the latest page of a 100,000-message conversation is its last 50, oldest first', async () => {
      const page = await listMessages(store.reader, big, { limit: 50 });
      expect(page.rows.map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => BIG - 49 + i));
      expect(page.hasMore).toBe(true);
    });

    it('its plan walks the (conversation_id, seq) index and stops after limit + 1 rows: no scan, no sort', async () => {
      const compiled = messagePageQuery(store.reader, big, { limit: 50 }).compile();
      if (store.dialect === 'sqlite') {
        const plan = await store.reader.executeQuery<{ detail: string }>(
          CompiledQuery.raw(`explain query plan ${compiled.sql}`, [...compiled.parameters]),
        );
        const details = plan.rows.map((r) => r.detail).join('\n');
        expect(details).toMatch(/SEARCH messages USING INDEX messages_conversation_seq_uq \(conversation_id=\?\)/);
        expect(details).not.toMatch(/TEMP B-TREE|SCAN messages/);
      } else {
        const plan = await store.reader.executeQuery<{ 'QUERY PLAN': unknown }>(
          CompiledQuery.raw(`explain (analyze, format json) ${compiled.sql}`, [...compiled.parameters]),
        );
        const raw = plan.rows[0]!['QUERY PLAN'];
        const root = (typeof raw === 'string' ? JSON.parse(raw) : raw) as [{ Plan: PgPlan }];
        const nodes = flatten(root[0].Plan);
        const scan = nodes.find((n) => n['Relation Name'] === 'messages')!;
        expect(scan['Node Type']).toMatch(/Index Scan|Index Only Scan/);
        expect(scan['Index Name']).toBe('messages_conversation_seq_uq');
        // Rows actually read from the table: the page and one more, not the conversation.
        expect(scan['Actual Rows']).toBe(51);
        expect(nodes.some((n) => n['Node Type'] === 'Sort')).toBe(false);
      }
    });
  });
}

interface PgPlan {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  Plans?: PgPlan[];
}

function flatten(plan: PgPlan): PgPlan[] {
  return [plan, ...(plan.Plans ?? []).flatMap(flatten)];
}
