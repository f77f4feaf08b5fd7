import type { Logger } from 'pino';
import type { AppContext } from './context.js';
import type { GroupCommitter, WriteTx } from '../store/group-commit.js';
import { claimJobs, completeJob, failJob, holdsClaim, type ClaimRef, type JobKind } from '../store/job.store.js';
import type { JobRow } from '../store/schema.js';

/** One claimed job as a handler sees it. */
export interface Job<P = unknown> {
  readonly id: number;
  readonly kind: JobKind;
  readonly payload: P;
  /** 1 on the first run; counts every claim, including claims of a dead worker's job. */
  readonly attempt: number;
}

export interface JobRun<P = unknown> {
  readonly job: Job<P>;
  /**
   * Aborted when the runner stops or the claim is about to expire: the handler stops its I/O and
   * throws. A handler that ignores it may still be running when another worker claims the job.
   */
  readonly signal: AbortSignal;
  /**
   * Marks the job done inside the caller's write unit, so the job's completion and the domain
   * change it made commit together (or not at all). Without it the runner completes the job after
   * the handler returns, in its own unit.
   */
  complete(tx: WriteTx): Promise<void>;
  /**
   * Inside a write unit: throws (rolling the unit back) when this run's claim no longer holds —
   * it lapsed and the job was claimed again or requeued — so a worker that outlived its claim
   * writes nothing. `complete` checks the same; a handler calls this before a write of its own.
   */
  assertClaim(tx: WriteTx): Promise<void>;
  /** What `onClaim` returned for this job in the claim's unit (already committed), or undefined. */
  readonly claimed: unknown;
  /**
   * Frees this run's slot: what is left of it (committing an outcome already known) no longer
   * holds up the next job. The run still counts for `stop()` and `idle()`, and its outcome is
   * recorded as usual. Calling it twice is harmless.
   */
  release(): void;
}

/**
 * What a handler throws to say how it failed. `reason` is a short stable word (`too_large`,
 * `unreachable` …) recorded on the job and handed to `giveUp`. A permanent failure is not retried;
 * `retryAfterMs` overrides the backoff (a provider's Retry-After). Any other exception is retried
 * with reason `error`.
 */
export class JobFailure extends Error {
  override readonly name = 'JobFailure';
  readonly permanent: boolean;
  readonly retryAfterMs: number | null;

  constructor(
    readonly reason: string,
    message: string,
    options: { permanent?: boolean; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.permanent = options.permanent ?? false;
    this.retryAfterMs = options.retryAfterMs ?? null;
  }
}

/** This run's claim no longer holds (see JobRun.assertClaim): what it would write is dropped. */
class ClaimLost extends Error {
  override readonly name = 'ClaimLost';
  constructor(job: Job<unknown>) {
    super(`job ${job.id} (${job.kind}) was claimed again or requeued after this run's claim lapsed; this run's outcome is dropped`);
  }
}

export interface JobHandler<P = unknown> {
  /** Does the work. Returning completes the job; throwing retries it or, finally, gives it up. */
  run(run: JobRun<P>): Promise<void>;
  /**
   * Called once when the job fails for good (a permanent failure, or its attempts are used up),
   * inside the write unit that marks the job failed: record the failure on the domain side here.
   */
  giveUp?(job: Job<P>, failure: JobFailure, tx: WriteTx): Promise<void>;
}

export interface Backoff {
  /** Delay before the second attempt; doubles per attempt. */
  baseMs: number;
  maxMs: number;
  /** Fraction of the delay taken off at random (0 … 1), so retries of many jobs spread out. Default 0.5. */
  jitter?: number;
}

export interface JobRunnerOptions<P> {
  /**
   * Every job state change (claim, complete, fail) runs as a unit of the group committer. On
   * SQLite the committer's transaction and any direct statement share one connection, so a
   * statement issued beside an open batch would join (and could roll back with) that batch.
   */
  committer: GroupCommitter;
  kinds: JobKind[];
  handler: JobHandler<P>;
  /** Jobs run at once by this runner (default 1). */
  concurrency?: number;
  /** How often due jobs are looked for when nobody calls wake() (default 1000 ms). */
  pollMs?: number;
  /** How long a claim holds; a job still claimed after it (its worker died) is claimed again (default 5 min). */
  lockMs?: number;
  /** Runs of one job before it is given up (default 6). */
  maxAttempts?: number;
  backoff?: Backoff;
  logger?: Logger;
  /**
   * Runs inside the write unit that claims jobs, with the jobs just claimed that will run (not a
   * job about to be given up, nor one whose payload is not JSON): a handler's first durable step
   * commits with the claim instead of in a unit of its own. What it returns for a job id reaches
   * that job's run as `claimed`. A throw rolls the claim back: the jobs stay due.
   */
  onClaim?(jobs: readonly Job<P>[], tx: WriteTx): Promise<ReadonlyMap<number, unknown> | void>;
  /**
   * Jobs claimed ahead of a free slot (default 0): their claim (and `onClaim`'s step) commits while
   * the slots are busy, so a slot that frees takes the next job without waiting for a commit. On a
   * graceful stop the ones not started are handed back through `onUnclaim`; after a crash they are
   * claimed again when their claim expires, like any job of a dead worker.
   */
  prefetch?: number;
  /** Told of every failed run, retried or final (not a run stopped by shutdown): for a metric. */
  onFailure?(job: Job<P>, failure: JobFailure): void;
  /** Undoes `onClaim`'s step for jobs claimed ahead and never started, in the unit that queues them again. */
  onUnclaim?(jobs: readonly { job: Job<P>; claimed: unknown }[], tx: WriteTx): Promise<void>;
}

export interface JobRunnerStats {
  claimed: number;
  completed: number;
  retried: number;
  failed: number;
}

export interface JobRunner {
  /** Looks for due jobs now instead of at the next poll (e.g. right after one was queued). */
  wake(): void;
  /**
   * Graceful stop: claims nothing more, lets running jobs finish for up to `graceMs` (default
   * 10 s), then aborts them and puts them back in the queue. Resolves when none is running.
   */
  stop(options?: { graceMs?: number }): Promise<void>;
  /** Resolves once nothing is running and no job of these kinds is due now (a retry later is not due). */
  idle(): Promise<void>;
  readonly stats: Readonly<JobRunnerStats>;
}

/**
 * The options every worker of this process shares: its committer, JOB_POLL_MS and JOB_LOCK_MS,
 * its logger, and every failed run counted in `switchboard_job_failures_total` by kind — except
 * those `isFailure` says are not (the outbox's wait for an earlier message).
 */
export function processRunnerOptions(
  ctx: Pick<AppContext, 'config' | 'committer' | 'logger' | 'metrics'>,
  isFailure: (failure: JobFailure) => boolean = () => true,
): Pick<JobRunnerOptions<unknown>, 'committer' | 'pollMs' | 'lockMs' | 'logger' | 'onFailure'> {
  return {
    committer: ctx.committer,
    pollMs: ctx.config.jobs.pollMs,
    lockMs: ctx.config.jobs.lockMs,
    logger: ctx.logger,
    onFailure: (job, failure) => {
      if (isFailure(failure)) ctx.metrics.jobFailures.inc({ kind: job.kind });
    },
  };
}

/** Delay before the attempt after `attempt`: base × 2^(attempt−1), capped at maxMs, minus random jitter. */
export function backoffDelay(attempt: number, backoff: Backoff, random: () => number = Math.random): number {
  const exponential = backoff.baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 40));
  const capped = Math.min(backoff.maxMs, exponential);
  const jitter = Math.min(1, Math.max(0, backoff.jitter ?? 0.5));
  return Math.max(0, Math.round(capped * (1 - jitter * random())));
}

const STOPPED = Symbol('stopped');

/**
 * Starts a durable job loop over the `jobs` table: claims due jobs of `kinds` (also those whose
 * claim expired, so a crashed worker's jobs run again), runs up to `concurrency` at once, retries
 * failures with exponential backoff and jitter, and gives a job up after `maxAttempts` runs or a
 * permanent failure. Each handler run is aborted shortly before its claim expires.
 */
export function startJobRunner<P>(options: JobRunnerOptions<P>): JobRunner {
  const { committer, kinds, handler } = options;
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const pollMs = Math.max(1, options.pollMs ?? 1000);
  const prefetch = Math.max(0, options.prefetch ?? 0);
  const lockMs = Math.max(10, options.lockMs ?? 300_000);
  /** How long a run may use its claim: it is stopped a little before the claim lapses. */
  const runForMs = Math.floor(lockMs * 0.9);
  const maxAttempts = Math.max(1, options.maxAttempts ?? 6);
  const backoff = options.backoff ?? { baseMs: 1000, maxMs: 300_000 };
  const log = options.logger;
  const stats: JobRunnerStats = { claimed: 0, completed: 0, retried: 0, failed: 0 };

  const running = new Set<Promise<void>>();
  /** Runs holding a slot: `running` minus those that called release(). */
  let busy = 0;
  /** Released runs still committing their outcome are bounded too, so a slow disk slows claiming. */
  const maxRunning = concurrency * 4 + prefetch;
  /** Jobs claimed ahead (`prefetch`), oldest first, each with the time its claim began. */
  const ready: Claim[] = [];
  const stopController = new AbortController();
  const idleWaiters: (() => void)[] = [];
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let timerAt = Infinity;
  let ticking: Promise<void> | null = null;
  let again = false;

  function schedule(ms: number): void {
    if (stopped) return;
    const at = Date.now() + ms;
    if (timer && timerAt <= at) return;
    if (timer) clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(() => {
      timer = null;
      timerAt = Infinity;
      tick();
    }, ms);
    timer.unref();
  }

  function tick(): void {
    if (ticking) {
      again = true;
      return;
    }
    ticking = (async () => {
      do {
        again = false;
        await claimRound();
      } while (again && !stopped);
    })().finally(() => {
      ticking = null;
      schedule(pollMs);
    });
  }

  async function claimRound(): Promise<void> {
    let exhausted = false;
    try {
      // Bounded: slots plus the jobs claimed ahead, and the runs still settling.
      for (let round = 0; round < concurrency && !stopped; round++) {
        const wanted = Math.min(concurrency + prefetch - busy - ready.length, maxRunning - running.size - ready.length);
        if (wanted <= 0) break;
        const claims = await committer.run(async (tx) => {
          const claimedRows = await claimJobs(tx.db, kinds, wanted, lockMs, new Date(), tx.dialect);
          const list = claimedRows.map(toClaim);
          const runnable = list.flatMap((c) => (c.job && c.job.attempt <= maxAttempts ? [c.job] : []));
          const extra = options.onClaim && runnable.length > 0 ? await options.onClaim(runnable, tx) : undefined;
          if (extra) for (const c of list) if (c.job) c.claimed = extra.get(c.job.id);
          return list;
        });
        stats.claimed += claims.length;
        ready.push(...claims);
        drain();
        if (claims.length < wanted) {
          exhausted = true;
          break;
        }
      }
    } catch (err) {
      log?.error({ err, kinds }, 'claiming jobs failed');
      return;
    }
    if (exhausted && running.size === 0 && ready.length === 0) idleWaiters.splice(0).forEach((fn) => fn());
  }

  interface Claim {
    row: JobRow;
    /** Null when the payload is not JSON. */
    job: Job<P> | null;
    parseError?: unknown;
    claimed?: unknown;
    /** Date.now() when the claim was taken: its lock runs from then. */
    at: number;
  }

  /** Starts claimed jobs while slots are free. */
  function drain(): void {
    while (!stopped && busy < concurrency && ready.length > 0) start(ready.shift()!);
  }

  function toClaim(row: JobRow): Claim {
    try {
      return {
        row,
        job: { id: row.id, kind: row.kind as JobKind, payload: JSON.parse(row.payload) as P, attempt: row.attempts },
        at: Date.now(),
      };
    } catch (err) {
      return { row, job: null, parseError: err, at: Date.now() };
    }
  }

  function start(claim: Claim): void {
    const { row } = claim;
    busy++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      busy--;
      drain();
      schedule(0);
    };
    const p = execute(claim, release)
      .catch((err: unknown) => {
        log?.error({ err, jobId: row.id, kind: row.kind }, 'recording a job outcome failed; the claim will expire and the job run again');
      })
      .finally(() => {
        release();
        running.delete(p);
        schedule(0);
      });
    running.add(p);
  }

  async function execute(claim: Claim, release: () => void): Promise<void> {
    const { row } = claim;
    if (Date.now() - claim.at >= runForMs) {
      // Claimed ahead and kept waiting for a slot until its claim ran out: not run on a claim
      // that another worker may take any moment (its onClaim step is undone, as at shutdown).
      release();
      return handBack([claim], 'claimed ahead; its claim ran out before a slot was free');
    }
    if (!claim.job) {
      const job: Job<P> = { id: row.id, kind: row.kind as JobKind, payload: null as P, attempt: row.attempts };
      return failedBeforeRun(
        row,
        job,
        new JobFailure('bad_payload', 'job payload is not JSON', { permanent: true, cause: claim.parseError }),
      );
    }
    const job = claim.job;
    // A job claimed again and again without an outcome (its worker keeps dying) is not run forever.
    if (job.attempt > maxAttempts) {
      return failedBeforeRun(
        row,
        job,
        new JobFailure('attempts_exhausted', `claimed ${job.attempt} times without an outcome`, { permanent: true }),
      );
    }

    const controller = new AbortController();
    const onStop = () => controller.abort(STOPPED);
    stopController.signal.addEventListener('abort', onStop, { once: true });
    // Stop before the claim lapses, so no second worker ever runs this job beside us.
    const deadline = setTimeout(
      () => controller.abort(new JobFailure('timeout', `job ran longer than its ${lockMs} ms claim`)),
      Math.max(0, runForMs - (Date.now() - claim.at)),
    );
    deadline.unref();
    let completed = false;
    try {
      await handler.run({
        job,
        signal: controller.signal,
        claimed: claim.claimed,
        release,
        complete: async (tx) => {
          if (!(await completeJob(tx.db, tx.dialect, row))) throw new ClaimLost(job);
          tx.afterCommit(() => {
            completed = true;
          });
        },
        assertClaim: async (tx) => {
          if (!(await holdsClaim(tx.db, tx.dialect, row))) throw new ClaimLost(job);
        },
      });
      if (!completed && !(await committer.run((tx) => completeJob(tx.db, tx.dialect, row)))) throw new ClaimLost(job);
      stats.completed++;
    } catch (err) {
      if (completed) {
        log?.error({ err, jobId: job.id, kind: job.kind }, 'job handler threw after its completion committed');
        return;
      }
      if (err instanceof ClaimLost) {
        // Another worker (or a requeue) has the job now: its outcome is theirs to write.
        log?.warn({ jobId: job.id, kind: job.kind }, err.message);
        return;
      }
      if (controller.signal.reason === STOPPED) {
        // Interrupted by shutdown, not failed: queue it again at once for the next worker.
        await committer.run((tx) => failJob(tx.db, tx.dialect, row, 'interrupted by shutdown', new Date()));
        return;
      }
      const failure = toFailure(err, controller.signal);
      options.onFailure?.(job, failure);
      if (failure.permanent || job.attempt >= maxAttempts) return giveUp(row, job, failure);
      const delay = failure.retryAfterMs ?? backoffDelay(job.attempt, backoff);
      log?.warn(
        { jobId: job.id, kind: job.kind, attempt: job.attempt, reason: failure.reason, err: failure.message, delayMs: delay },
        'job failed; retrying',
      );
      await committer.run((tx) => failJob(tx.db, tx.dialect, row, describe(failure), new Date(Date.now() + delay)));
      stats.retried++;
      schedule(delay);
    } finally {
      clearTimeout(deadline);
      stopController.signal.removeEventListener('abort', onStop);
    }
  }

  function failedBeforeRun(claim: ClaimRef, job: Job<P>, failure: JobFailure): Promise<void> {
    options.onFailure?.(job, failure);
    return giveUp(claim, job, failure);
  }

  async function giveUp(claim: ClaimRef, job: Job<P>, failure: JobFailure): Promise<void> {
    log?.warn({ jobId: job.id, kind: job.kind, attempt: job.attempt, reason: failure.reason, err: failure.message }, 'job failed for good');
    try {
      await committer.run(async (tx) => {
        if (!(await failJob(tx.db, tx.dialect, claim, describe(failure), null))) throw new ClaimLost(job);
        await handler.giveUp?.(job, failure, tx);
      });
    } catch (err) {
      if (err instanceof ClaimLost) {
        log?.warn({ jobId: job.id, kind: job.kind }, err.message);
        return;
      }
      // The domain side could not record it; still end the job, or it would come back forever.
      log?.error({ err, jobId: job.id, kind: job.kind }, 'recording a job failure failed; marking the job failed alone');
      await committer.run((tx) => failJob(tx.db, tx.dialect, claim, `${describe(failure)}; giveUp failed`, null));
    }
    stats.failed++;
  }

  /**
   * Jobs claimed ahead and never started: due again at once, their `onClaim` step undone — only
   * those whose claim still holds (a lapsed one may be another worker's by now).
   */
  async function handBack(claims: Claim[], why: string): Promise<void> {
    if (claims.length === 0) return;
    try {
      await committer.run(async (tx) => {
        const held: Claim[] = [];
        for (const c of claims) if (await holdsClaim(tx.db, tx.dialect, c.row)) held.push(c);
        const started = held.flatMap((c) => (c.job ? [{ job: c.job, claimed: c.claimed }] : []));
        if (options.onUnclaim && started.length > 0) await options.onUnclaim(started, tx);
        for (const c of held) await failJob(tx.db, tx.dialect, c.row, why, new Date());
      });
    } catch (err) {
      log?.error(
        { err, kinds, jobs: claims.length },
        'handing back jobs claimed ahead failed; their claims will expire and they run again',
      );
    }
  }

  schedule(0);

  return {
    wake: () => schedule(0),
    stats,
    idle: () =>
      new Promise<void>((resolve) => {
        if (stopped) return resolve();
        idleWaiters.push(resolve);
        schedule(0);
      }),
    async stop({ graceMs = 10_000 } = {}) {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await ticking;
      await handBack(ready.splice(0), 'claimed ahead; handed back at shutdown');
      if (running.size > 0) {
        let graceTimer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.allSettled([...running]),
          new Promise<void>((resolve) => {
            graceTimer = setTimeout(resolve, graceMs);
          }),
        ]);
        clearTimeout(graceTimer);
      }
      if (running.size > 0) {
        stopController.abort();
        await Promise.allSettled([...running]);
      }
      idleWaiters.splice(0).forEach((fn) => fn());
    },
  };
}

function toFailure(err: unknown, signal: AbortSignal): JobFailure {
  if (err instanceof JobFailure) return err;
  if (signal.aborted && signal.reason instanceof JobFailure) return signal.reason;
  const message = err instanceof Error ? err.message : String(err);
  return new JobFailure('error', message, { cause: err });
}

function describe(failure: JobFailure): string {
  return `${failure.reason}: ${failure.message}`;
}
