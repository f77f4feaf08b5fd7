import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompiledQuery, type Compilable } from 'kysely';
import type { Store } from './database.js';
import { findByProviderMessageId, findMessageByClientKey } from './message.store.js';
import { contractDatabases, type TestDatabase } from '../../test/support/databases.js';
import { seedConversation } from '../../test/support/store-fixtures.js';

const INBOUND = 3_000;
const KEYED = 20;

/*
 * Migration 0006: inbound messages (nearly all of them) have neither a client_key nor a
 * provider_message_id, so the two indexes on those columns hold only the rows that have one. The
 * lookups still use them, and the client_key index still refuses a second message with one key.
 */
for (const factory of contractDatabases()) {
  describe(`partial message indexes on ${factory.kind}`, () => {
    let database: TestDatabase;
    let store: Store;
    let conversationId: string;

    beforeAll(async () => {
      database = await factory.create();
      store = await database.open();
      conversationId = await seedConversation(store, 'partial');
      const now = new Date().toISOString();
      const row = (seq: number, keyed: boolean) => ({
        conversation_id: conversationId,
        message_id: `m.${seq}`,
        seq,
        role: keyed ? 'operator' : 'user',
        type: 'text',
        text: `t${seq}`,
        media: null,
        status: keyed ? 'sent' : 'received',
        error: null,
        operator_id: null,
        operator_name: null,
        reply_to: null,
        timestamp: now,
        metadata: '{}',
        provider_message_id: keyed ? `wamid.out${seq}` : null,
        client_key: keyed ? `key-${seq}` : null,
        created_at: now,
        updated_at: now,
      });
      await store.db.transaction().execute(async (trx) => {
        for (let start = 1; start <= INBOUND + KEYED; start += 500) {
          const rows = [];
          for (let seq = start; seq < Math.min(start + 500, INBOUND + KEYED + 1); seq++) rows.push(row(seq, seq > INBOUND));
          await trx.insertInto('messages').values(rows).execute();
        }
      });
      if (store.dialect === 'postgres') await store.db.executeQuery(CompiledQuery.raw('analyze messages'));
    }, 60_000);
    afterAll(async () => {
      if (factory.kind !== 'pglite') await store.close();
      await database.destroy();
    });

    async function indexUsed(query: Compilable<unknown>): Promise<string> {
      const compiled = query.compile();
      if (store.dialect === 'sqlite') {
        const plan = await store.reader.executeQuery<{ detail: string }>(
          CompiledQuery.raw(`explain query plan ${compiled.sql}`, [...compiled.parameters]),
        );
        return plan.rows.map((r) => r.detail).join('\n');
      }
      const plan = await store.reader.executeQuery<{ 'QUERY PLAN': string }>(
        CompiledQuery.raw(`explain ${compiled.sql}`, [...compiled.parameters]),
      );
      return plan.rows.map((r) => r['QUERY PLAN']).join('\n');
    }

    it('the two indexes are partial: rows without the key are not in them', async () => {
      const text =
        store.dialect === 'sqlite'
          ? await store.db.executeQuery<{ name: string; sql: string }>(
              CompiledQuery.raw(
                "select name, sql from sqlite_master where name in ('messages_conversation_client_key_uq', 'messages_provider_message_id_idx') order by name",
              ),
            )
          : await store.db.executeQuery<{ name: string; sql: string }>(
              CompiledQuery.raw(
                "select indexname as name, indexdef as sql from pg_indexes where indexname in ('messages_conversation_client_key_uq', 'messages_provider_message_id_idx') order by indexname",
              ),
            );
      expect(text.rows.map((r) => r.name)).toEqual(['messages_conversation_client_key_uq', 'messages_provider_message_id_idx']);
      expect(text.rows[0]!.sql).toMatch(/unique/i);
      expect(text.rows[0]!.sql).toMatch(/where \(?"?client_key"? is not null\)?/i);
      expect(text.rows[1]!.sql).toMatch(/where \(?"?provider_message_id"? is not null\)?/i);
    });

    it('[OUT2] a lookup by client_key finds its message through the index', async () => {
      expect((await findMessageByClientKey(store.reader, conversationId, `key-${INBOUND + 3}`))?.seq).toBe(INBOUND + 3);
      expect(await findMessageByClientKey(store.reader, conversationId, 'key-unknown')).toBeUndefined();
      const plan = await indexUsed(
        store.reader
          .selectFrom('messages')
          .selectAll()
          .where('conversation_id', '=', conversationId)
          .where('client_key', '=', `key-${INBOUND + 3}`),
      );
      expect(plan).toMatch(/messages_conversation_client_key_uq/);
    });

    it("[ST1] a status webhook's lookup by provider id finds its message through the index", async () => {
      expect((await findByProviderMessageId(store.reader, `wamid.out${INBOUND + 7}`)).map((m) => m.seq)).toEqual([INBOUND + 7]);
      expect(await findByProviderMessageId(store.reader, 'wamid.unknown')).toEqual([]);
      const plan = await indexUsed(
        store.reader
          .selectFrom('messages')
          .selectAll()
          .where('provider_message_id', '=', `wamid.out${INBOUND + 7}`),
      );
      expect(plan).toMatch(/messages_provider_message_id_idx/);
    });

    it('[OUT2] a second message with the same client_key in the conversation is refused; the first stays', async () => {
      const now = new Date().toISOString();
      const again = store.db.insertInto('messages').values({
        conversation_id: conversationId,
        message_id: 'm.again',
        seq: INBOUND + KEYED + 1,
        role: 'operator',
        type: 'text',
        text: 'again',
        media: null,
        status: 'pending',
        error: null,
        operator_id: null,
        operator_name: null,
        reply_to: null,
        timestamp: now,
        metadata: '{}',
        provider_message_id: null,
        client_key: `key-${INBOUND + 1}`,
        created_at: now,
        updated_at: now,
      });
      await expect(again.execute()).rejects.toThrow(/unique|duplicate/i);
      expect((await findMessageByClientKey(store.reader, conversationId, `key-${INBOUND + 1}`))?.message_id).toBe(`m.${INBOUND + 1}`);
      const n = await store.reader
        .selectFrom('messages')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      expect(Number(n.n)).toBe(INBOUND + KEYED);
    });
  });
}
