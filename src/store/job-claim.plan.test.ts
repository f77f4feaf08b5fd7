import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompiledQuery } from 'kysely';
import type { Store } from './database.js';
import { claimJobs, claimJobsStatements, countJobs, type JobKind } from './job.store.js';
import { contractDatabases, type TestDatabase } from '../../test/support/databases.js';

/** The outbox's backlog in the bench's order of magnitude: due jobs of another kind than the claimer's. */
const BACKLOG = 20_000;
const MEDIA = 12;

/** Bulk-inserts `count` queued jobs of `kind`, due one millisecond apart from `from`. */
async function fillJobs(store: Store, kind: JobKind, count: number, from: number): Promise<void> {
  const created = new Date(from).toISOString();
  await store.db.transaction().execute(async (trx) => {
    for (let start = 0; start < count; start += 500) {
      const rows = [];
      for (let n = start; n < Math.min(start + 500, count); n++) {
        rows.push({
          kind,
          dedupe_key: `${kind}:${n}`,
          payload: JSON.stringify({ n }),
          status: 'queued',
          attempts: 0,
          run_at: new Date(from + n).toISOString(),
          locked_until: null,
          last_error: null,
          created_at: created,
          updated_at: created,
        });
      }
      await trx.insertInto('jobs').values(rows).execute();
    }
  });
}

async function planOf(store: Store, kinds: JobKind[]): Promise<string> {
  const plans: string[] = [];
  for (const { sql, parameters } of claimJobsStatements(kinds, 8, 60_000, new Date(), store.dialect)) {
    if (store.dialect === 'sqlite') {
      const plan = await store.db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${sql}`, parameters));
      plans.push(...plan.rows.map((r) => r.detail));
    } else {
      const plan = await store.db.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`explain ${sql}`, parameters));
      plans.push(...plan.rows.map((r) => r['QUERY PLAN']));
    }
  }
  return plans.join('\n');
}

for (const factory of contractDatabases()) {
  describe(`a job runner claims its own kinds without reading another kind's backlog, on ${factory.kind}`, () => {
    let database: TestDatabase;
    let store: Store;
    const t0 = Date.now() - 3_600_000;

    beforeAll(async () => {
      database = await factory.create();
      store = await database.open();
      // The outbox's backlog is older than the media jobs: in one (status, run_at) order the media
      // runner would walk all of it first.
      await fillJobs(store, 'outbox.send', BACKLOG, t0);
      await fillJobs(store, 'media.download', MEDIA, t0 + BACKLOG + 1000);
      if (store.dialect === 'postgres') await store.db.executeQuery(CompiledQuery.raw('analyze jobs'));
    }, 180_000);
    afterAll(async () => {
      if (factory.kind !== 'pglite') await store.close();
      await database.destroy();
    });

    it('the claim looks the chosen jobs up by key and walks (kind, status, run_at) per kind: no scan of the backlog, no MULTI-INDEX OR', async () => {
      for (const kinds of [['media.download'], ['outbox.send', 'outbox.read']] as JobKind[][]) {
        const plan = await planOf(store, kinds);
        if (store.dialect === 'sqlite') {
          expect(plan).toMatch(/SEARCH jobs USING INTEGER PRIMARY KEY \(rowid=\?\)/);
          expect(plan).not.toMatch(/MULTI-INDEX OR/);
          expect(plan).not.toMatch(/SCAN jobs/);
          expect(plan).not.toMatch(/jobs_status_run_at_idx/);
          // The picks read the index in (run_at, id) order: nothing is sorted.
          expect(plan).not.toMatch(/TEMP B-TREE/);
          // Each of the picks (queued and lapsed, per kind) is one search of the kind's index range.
          const searches = plan
            .split('\n')
            .filter((line) => /USING (COVERING )?INDEX jobs_kind_status_run_at_idx \(kind=\? AND status=\?/.test(line));
          expect(searches).toHaveLength(2 * kinds.length);
        } else {
          // The update finds its rows by primary key from the chosen ids; the picks read the kind's index range.
          expect(plan).toMatch(/Index Scan using jobs_pkey on jobs\s+\(.*\)\n\s+Index Cond: \(id = ANY \(/);
          expect(plan).toMatch(/jobs_kind_status_run_at_idx/);
          expect(plan).not.toMatch(/Seq Scan on jobs/);
        }
      }
    });

    it('claims come back oldest first, of the asked kinds only, and the rest stays queued', async () => {
      const media = await store.db.transaction().execute((trx) => claimJobs(trx, ['media.download'], 5, 60_000, new Date(), store.dialect));
      expect(media.map((j) => j.kind)).toEqual(Array(5).fill('media.download'));
      expect(media.map((j) => j.dedupe_key)).toEqual([0, 1, 2, 3, 4].map((n) => `media.download:${n}`));
      const outbox = await store.db
        .transaction()
        .execute((trx) => claimJobs(trx, ['outbox.send', 'outbox.read'], 3, 60_000, new Date(), store.dialect));
      expect(outbox.map((j) => j.dedupe_key)).toEqual([0, 1, 2].map((n) => `outbox.send:${n}`));
      expect(outbox.every((j) => j.status === 'running' && j.attempts === 1)).toBe(true);
      expect(await countJobs(store.db, 'outbox.send', 'queued')).toBe(BACKLOG - 3);
      expect(await countJobs(store.db, 'media.download', 'queued')).toBe(MEDIA - 5);
    });

    it('a job whose claim lapsed is claimed again before younger queued ones, once', async () => {
      // The three outbox jobs claimed above: their claims lapse one minute later.
      const later = new Date(Date.now() + 120_000);
      const again = await store.db
        .transaction()
        .execute((trx) => claimJobs(trx, ['outbox.send', 'outbox.read'], 4, 60_000, later, store.dialect));
      expect(again.map((j) => j.dedupe_key)).toEqual([0, 1, 2, 3].map((n) => `outbox.send:${n}`));
      expect(again.map((j) => j.attempts)).toEqual([2, 2, 2, 1]);
    });
  });
}
