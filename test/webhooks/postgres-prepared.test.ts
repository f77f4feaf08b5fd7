import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompiledQuery } from 'kysely';
import pg from 'pg';
import { receiveWebhook } from '../../src/app/receive-webhook.js';
import { parseMetaWebhook } from '../../src/providers/meta/meta.webhook.js';
import { openStore, type Store } from '../../src/store/database.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import { metaTextPayload } from '../support/app.js';
import { createPostgresDatabase, TEST_POSTGRES_URL, type TestDatabase } from '../support/databases.js';

/*
 * On PostgreSQL the webhook path's statements run as named prepared statements (parsed and planned
 * once per connection). A migration made meanwhile by another process — a rolling deploy — changes
 * what `select *` returns, which PostgreSQL refuses for a plan it has cached: that one attempt
 * fails (the provider retries a 503) and the connection prepares its statements afresh.
 */
describe.runIf(TEST_POSTGRES_URL)('webhook statements prepared once per PostgreSQL connection', () => {
  let database: TestDatabase;
  let store: Store;
  let committer: GroupCommitter;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    // One connection: every statement below, and the checks of pg_prepared_statements, share it.
    store = await openStore(database.url, { poolSize: 1 });
    committer = new GroupCommitter(store, { maxBatch: 16 });
  });
  afterAll(async () => {
    await store?.close();
    await database?.destroy();
  });

  const deliver = (id: string, from: string) => {
    const raw = JSON.stringify(metaTextPayload(id, from, `text of ${id}`));
    return receiveWebhook(committer, 'meta', raw, parseMetaWebhook(JSON.parse(raw), new Date()), { responder: 'faq' });
  };

  async function preparedNames(): Promise<string[]> {
    const result = await store.db.executeQuery<{ name: string }>(
      CompiledQuery.raw("select name from pg_prepared_statements where name like 'sb\\_%' order by name"),
    );
    return result.rows.map((r) => r.name);
  }

  async function storedIds(): Promise<string[]> {
    return (await store.db.selectFrom('messages').select('message_id').orderBy('message_id').execute()).map((r) => r.message_id);
  }

  it('[IN1] the per-message statements are named prepared statements of the connection, and stay so', async () => {
    await deliver('wamid.PREP.1', '16505550101');
    await deliver('wamid.PREP.2', '16505550101');
    const names = await preparedNames();
    // The sender's thread, the conversation + message + job statement, the journal, the batch's events, the job claim …
    expect(names.length).toBeGreaterThanOrEqual(4);
    expect(names.every((n) => /^sb_\d+_0$/.test(n))).toBe(true);
    await deliver('wamid.PREP.3', '16505550101');
    expect(await preparedNames()).toEqual(names);
    expect(await storedIds()).toEqual(['wamid.PREP.1', 'wamid.PREP.2', 'wamid.PREP.3']);
  });

  it('[ID5][IN1] a column added by another process: one attempt fails, the retry and every webhook after it are stored once', async () => {
    const other = new pg.Client({ connectionString: database.url });
    await other.connect();
    try {
      await other.query('alter table conversations add column added_by_a_later_version text');
    } finally {
      await other.end();
    }
    let failures = 0;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await deliver('wamid.PREP.4', '16505550101');
        break;
      } catch (err) {
        failures++;
        expect(String((err as Error).message)).toMatch(/cached plan must not change result type/);
      }
    }
    expect(failures).toBeLessThanOrEqual(1);
    await Promise.all([5, 6, 7, 8].map((n) => deliver(`wamid.PREP.${n}`, `1650555010${n}`)));
    // A redelivery of an acknowledged message stays a no-op under the new statements.
    expect(await deliver('wamid.PREP.4', '16505550101')).toMatchObject({ created: 0, duplicates: 1 });
    expect(await storedIds()).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((n) => `wamid.PREP.${n}`));
    const names = await preparedNames();
    expect(names.some((n) => /^sb_\d+_1$/.test(n))).toBe(true);
    const jobs = await store.db.selectFrom('jobs').select('payload').where('kind', '=', 'ai.reply').execute();
    expect(jobs.map((j) => JSON.parse(j.payload).message_id).sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((n) => `wamid.PREP.${n}`));
  });
});

describe.runIf(TEST_POSTGRES_URL)('PG_PREPARED_STATEMENTS=off (behind a transaction-mode pooler)', () => {
  it('[IN1] the webhook path prepares no named statement and stores as before', async () => {
    const database = await createPostgresDatabase();
    const store = await openStore(database.url, { poolSize: 1, pgPreparedStatements: false });
    try {
      const committer = new GroupCommitter(store, { maxBatch: 16 });
      for (const n of [1, 2, 3]) {
        const raw = JSON.stringify(metaTextPayload(`wamid.UNPREP.${n}`, '16505550199', `text ${n}`));
        await receiveWebhook(committer, 'meta', raw, parseMetaWebhook(JSON.parse(raw), new Date()), { responder: 'faq' });
      }
      const prepared = await store.db.executeQuery<{ n: number }>(
        CompiledQuery.raw('select count(*)::int as n from pg_prepared_statements'),
      );
      expect(prepared.rows[0]!.n).toBe(0);
      const ids = await store.db.selectFrom('messages').select('message_id').orderBy('message_id').execute();
      expect(ids.map((r) => r.message_id)).toEqual(['wamid.UNPREP.1', 'wamid.UNPREP.2', 'wamid.UNPREP.3']);
    } finally {
      await store.close();
      await database.destroy();
    }
  });
});
