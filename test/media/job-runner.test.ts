import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { backoffDelay, JobFailure, startJobRunner, type JobHandler, type JobRunner } from '../../src/app/job-runner.js';
import type { Store } from '../../src/store/database.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import { claimJobs, enqueueJob } from '../../src/store/job.store.js';
import { contractDatabases, type TestDatabase } from '../support/databases.js';
import { sleep, waitFor } from './support.js';
import { plumbingEvent } from '../support/store-fixtures.js';

type Payload = { n: number };

describe('backoffDelay', () => {
  it('[OUT1] doubles per attempt from the base, stops at the cap, and jitter only shortens it', () => {
    const b = { baseMs: 100, maxMs: 1000, jitter: 0.5 };
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, b, () => 0))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffDelay(3, b, () => 1)).toBe(200);
    expect(backoffDelay(60, b, () => 0)).toBe(1000);
    for (let a = 1; a < 10; a++) {
      const d = backoffDelay(a, b);
      expect(d).toBeGreaterThanOrEqual(Math.min(1000, 100 * 2 ** (a - 1)) / 2);
      expect(d).toBeLessThanOrEqual(1000);
    }
  });
});

describe.each(contractDatabases())('job runner on $kind', ({ create }) => {
  let database: TestDatabase;
  let store: Store;
  let committer: GroupCommitter;
  const runners: JobRunner[] = [];
  let seq = 0;

  beforeAll(async () => {
    database = await create();
    store = await database.open();
    committer = new GroupCommitter(store, { maxBatch: 64 });
  });
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.stop({ graceMs: 0 })));
  });
  afterAll(async () => {
    await committer.idle();
    await store.close();
    await database.destroy();
  });

  const enqueue = async (n: number) => {
    const key = `job-${++seq}`;
    await committer.run((tx) => enqueueJob(tx.db, tx.dialect, { kind: 'outbox.send', dedupe_key: key, payload: { n } }));
    const row = await store.reader.selectFrom('jobs').selectAll().where('dedupe_key', '=', key).executeTakeFirstOrThrow();
    return row.id;
  };
  const job = (id: number) => store.reader.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const start = (handler: JobHandler<Payload>, options: Partial<Parameters<typeof startJobRunner>[0]> = {}) => {
    const runner = startJobRunner<Payload>({
      committer,
      kinds: ['outbox.send'],
      handler,
      pollMs: 20,
      lockMs: 5_000,
      maxAttempts: 4,
      backoff: { baseMs: 5, maxMs: 20 },
      ...options,
    } as Parameters<typeof startJobRunner<Payload>>[0]);
    runners.push(runner);
    return runner;
  };

  it('[OUT1] retries a failing job with backoff until it succeeds, then completes it once', async () => {
    const id = await enqueue(1);
    const attempts: number[] = [];
    start({
      async run({ job }) {
        if (job.id !== id) return;
        attempts.push(job.attempt);
        if (job.attempt < 3) throw new Error('503 from provider');
      },
    });
    await waitFor(async () => (await job(id)).status === 'done', 'job done');
    expect(attempts).toEqual([1, 2, 3]);
    const row = await job(id);
    expect(row.attempts).toBe(3);
    expect(row.last_error).toContain('503 from provider');
  });

  it('[OUT1] a job that always fails runs exactly maxAttempts times, then giveUp records it in the same unit', async () => {
    const id = await enqueue(2);
    let runs = 0;
    const gaveUp: string[] = [];
    start({
      async run({ job }) {
        if (job.id === id) runs++;
        throw new Error('still down');
      },
      async giveUp(job, failure, tx) {
        if (job.id !== id) return;
        gaveUp.push(failure.reason);
        tx.emit(plumbingEvent('conversation_updated', null, { gave_up: job.id }));
      },
    });
    await waitFor(async () => (await job(id)).status === 'failed', 'job failed');
    await sleep(100);
    expect(runs).toBe(4);
    expect(gaveUp).toEqual(['error']);
    const events = await store.reader.selectFrom('events').selectAll().execute();
    expect(events.filter((e) => JSON.parse(e.payload).gave_up === id)).toHaveLength(1);
  });

  it('[OUT1] a permanent failure is not retried', async () => {
    const id = await enqueue(3);
    let runs = 0;
    let reason = '';
    start({
      async run() {
        runs++;
        throw new JobFailure('too_large', 'over the limit', { permanent: true });
      },
      async giveUp(_job, failure) {
        reason = failure.reason;
      },
    });
    await waitFor(async () => (await job(id)).status === 'failed', 'job failed');
    await sleep(100);
    expect(runs).toBe(1);
    expect(reason).toBe('too_large');
    expect((await job(id)).last_error).toMatch(/^too_large: over the limit/);
  });

  it('[OUT1] complete(tx) commits with the domain change; a unit that throws after it leaves the job to run again', async () => {
    const id = await enqueue(4);
    const seen: number[] = [];
    start({
      async run({ job, complete }) {
        seen.push(job.attempt);
        await committer.run(async (tx) => {
          tx.emit(plumbingEvent('message_updated', null, { job: job.id, attempt: job.attempt }));
          await complete(tx);
          if (job.attempt === 1) throw new Error('rolled back after complete');
        });
      },
    });
    await waitFor(async () => (await job(id)).status === 'done', 'job done');
    expect(seen).toEqual([1, 2]);
    const events = (await store.reader.selectFrom('events').selectAll().execute())
      .map((e) => JSON.parse(e.payload))
      .filter((p) => p.job === id);
    expect(events).toEqual([{ job: id, attempt: 2 }]);
  });

  it('[OUT1] a run that outlives its claim writes nothing: complete(tx) and assertClaim(tx) roll its unit back, the run that claimed the job again owns the outcome', async () => {
    const ids = [await enqueue(41), await enqueue(42)];
    const seen: string[] = [];
    start(
      {
        async run({ job, complete, assertClaim }) {
          seen.push(`${job.payload.n}:${job.attempt}`);
          // The first run stalls past its 300 ms claim (ignoring its signal); meanwhile the job is claimed again.
          if (job.attempt === 1) await sleep(900);
          await committer.run(async (tx) => {
            if (job.payload.n === 42) await assertClaim(tx);
            tx.emit(plumbingEvent('message_updated', null, { job: job.id, attempt: job.attempt }));
            await complete(tx);
          });
        },
      },
      { lockMs: 300, concurrency: 4 },
    );
    for (const id of ids) await waitFor(async () => (await job(id)).status === 'done', 'job done by its second run');
    await sleep(1_000); // the stalled first runs have ended
    expect(seen.sort()).toEqual(['41:1', '41:2', '42:1', '42:2']);
    const events = (await store.reader.selectFrom('events').selectAll().execute())
      .map((e) => JSON.parse(e.payload))
      .filter((p) => ids.includes(p.job));
    expect(events.sort((a, b) => a.job - b.job)).toEqual(ids.map((id) => ({ job: id, attempt: 2 })));
    for (const id of ids) expect(await job(id)).toMatchObject({ status: 'done', attempts: 2 });
  });

  it('[OUT1] a job claimed ahead that waited for a slot past its claim is not run on it: handed back (onClaim undone), then run on a fresh claim', async () => {
    const slow = await enqueue(51);
    const ahead = await enqueue(52);
    const runs: string[] = [];
    const unclaimed: number[] = [];
    start(
      {
        async run({ job, claimed }) {
          runs.push(`${job.payload.n}:${job.attempt}:${String(claimed)}`);
          if (job.payload.n === 51) await sleep(1_000); // the one slot stays busy past the 300 ms claims
        },
      },
      {
        lockMs: 300,
        concurrency: 1,
        prefetch: 1,
        onClaim: async (jobs) => new Map(jobs.map((j) => [j.id, 'marker'])),
        onUnclaim: async (jobs) => {
          unclaimed.push(...jobs.map((j) => j.job.id));
        },
      },
    );
    for (const id of [slow, ahead]) await waitFor(async () => (await job(id)).status === 'done', 'both done');
    expect(runs.filter((r) => r.startsWith('52:'))).toEqual(['52:2:marker']);
    expect(unclaimed).toEqual([ahead]);
  });

  it('[OUT1] a job whose worker died (claim never released) is run again once its lock expires, not before', async () => {
    const id = await enqueue(5);
    // The "dead worker": claims the job for 600 ms and never reports back.
    const claimed = await committer.run((tx) => claimJobs(tx.db, ['outbox.send'], 10, 600, new Date(), tx.dialect));
    expect(claimed.map((j) => j.id)).toContain(id);
    const claimedAt = Date.now();
    let ranAt = 0;
    let attempt = 0;
    start({
      async run({ job }) {
        if (job.id !== id) return;
        ranAt = Date.now();
        attempt = job.attempt;
      },
    });
    await waitFor(async () => (await job(id)).status === 'done', 'job done after lock expiry');
    expect(ranAt - claimedAt).toBeGreaterThanOrEqual(550);
    expect(attempt).toBe(2);
  });

  it('[OUT1] a job claimed more than maxAttempts times without an outcome is given up without running', async () => {
    const id = await enqueue(6);
    for (let i = 0; i < 4; i++)
      await committer.run((tx) => claimJobs(tx.db, ['outbox.send'], 10, 0, new Date(Date.now() + i * 10), tx.dialect));
    let ran = false;
    let reason = '';
    start({
      async run({ job }) {
        if (job.id === id) ran = true;
      },
      async giveUp(job, failure) {
        if (job.id === id) reason = failure.reason;
      },
    });
    await waitFor(async () => (await job(id)).status === 'failed', 'poison job given up');
    expect(ran).toBe(false);
    expect(reason).toBe('attempts_exhausted');
  });

  it('stop() lets a running job finish within the grace period', async () => {
    const id = await enqueue(7);
    let started = false;
    const runner = start({
      async run({ job }) {
        if (job.id !== id) return;
        started = true;
        await sleep(150);
      },
    });
    await waitFor(async () => started, 'job started');
    await runner.stop({ graceMs: 5_000 });
    expect((await job(id)).status).toBe('done');
  });

  it('stop() aborts a job that outlasts the grace period and queues it again at once; the next runner completes it', async () => {
    const id = await enqueue(8);
    let started = false;
    const first = start({
      run: ({ job, signal }) =>
        new Promise<void>((resolve, reject) => {
          if (job.id !== id) return resolve();
          started = true;
          signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
        }),
    });
    await waitFor(async () => started, 'job started');
    await first.stop({ graceMs: 50 });
    const afterStop = await job(id);
    expect(afterStop.status).toBe('queued');
    expect(afterStop.last_error).toContain('shutdown');
    start({ async run() {} });
    await waitFor(async () => (await job(id)).status === 'done', 'job done by the next runner');
  });

  it('wake() runs a newly queued job without waiting for the poll interval', async () => {
    let ran = 0;
    const runner = start(
      {
        async run() {
          ran++;
        },
      },
      { pollMs: 60_000 },
    );
    await runner.idle();
    const id = await enqueue(9);
    runner.wake();
    await waitFor(async () => (await job(id)).status === 'done', 'job done after wake', 5_000);
    expect(ran).toBeGreaterThanOrEqual(1);
  });

  it('a handler that outlives its claim is aborted before the claim lapses and retried', async () => {
    const id = await enqueue(10);
    const reasons: string[] = [];
    start(
      {
        run: ({ job, signal }) =>
          new Promise<void>((resolve, reject) => {
            if (job.id !== id || job.attempt > 1) return resolve();
            signal.addEventListener(
              'abort',
              () => {
                reasons.push((signal.reason as JobFailure).reason);
                reject(signal.reason);
              },
              { once: true },
            );
          }),
      },
      { lockMs: 300 },
    );
    await waitFor(async () => (await job(id)).status === 'done', 'job done on the second attempt');
    expect(reasons).toEqual(['timeout']);
    expect((await job(id)).attempts).toBe(2);
  });

  it('[OUT1] release(): a run that frees its slot lets the next job start while it settles; stop() still waits for it', async () => {
    const first = await enqueue(20);
    const second = await enqueue(21);
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const started: number[] = [];
    let settled = false;
    const runner = start(
      {
        async run({ job, release }) {
          started.push(job.id);
          if (job.id !== first) return;
          release();
          await gate;
          settled = true;
        },
      },
      { concurrency: 1 },
    );
    await waitFor(async () => (await job(second)).status === 'done', 'the second job done while the first settles');
    expect(started.indexOf(second)).toBeGreaterThan(started.indexOf(first));
    expect((await job(first)).status).toBe('running');
    const stopping = runner.stop({ graceMs: 5_000 });
    await sleep(50);
    expect(settled).toBe(false);
    openGate();
    await stopping;
    expect(settled).toBe(true);
    expect((await job(first)).status).toBe('done');
  });

  it('[OUT1] prefetch: jobs are claimed ahead of a free slot (onClaim runs for them); stop() hands the unstarted ones back through onUnclaim, due at once', async () => {
    const ids = [await enqueue(30), await enqueue(31), await enqueue(32)];
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const ran: number[] = [];
    const unclaimed: { id: number; claimed: unknown }[] = [];
    const runner = start(
      {
        async run({ job }) {
          if (!ids.includes(job.id)) return;
          ran.push(job.id);
          await gate;
        },
      },
      {
        concurrency: 1,
        prefetch: 2,
        onClaim: async (jobs: readonly { id: number }[]) => new Map(jobs.map((j) => [j.id, `marker ${j.id}`])),
        onUnclaim: async (jobs: readonly { job: { id: number }; claimed: unknown }[]) => {
          for (const j of jobs) unclaimed.push({ id: j.job.id, claimed: j.claimed });
        },
      },
    );
    await waitFor(async () => (await Promise.all(ids.map(job))).every((r) => r.status === 'running'), 'all three claimed');
    expect(ran).toEqual([ids[0]]);
    const stopping = runner.stop({ graceMs: 5_000 });
    await sleep(50);
    openGate();
    await stopping;
    expect(ran).toEqual([ids[0]]);
    expect(unclaimed).toEqual([
      { id: ids[1], claimed: `marker ${ids[1]}` },
      { id: ids[2], claimed: `marker ${ids[2]}` },
    ]);
    const rows = await Promise.all(ids.map(job));
    expect(rows.map((r) => r.status)).toEqual(['done', 'queued', 'queued']);
    expect(rows.slice(1).every((r) => r.run_at <= new Date().toISOString())).toBe(true);
  });
});
