import type { Kysely, Transaction } from 'kysely';
import type { DialectName } from './database.js';
import { PreparedSql } from './prepared-sql.js';
import type { DB, JobRow } from './schema.js';

type Db = Kysely<DB> | Transaction<DB>;

export type JobKind = 'media.download' | 'media.transcribe' | 'ai.reply' | 'outbox.send' | 'outbox.read';

export interface NewJob {
  kind: JobKind;
  /**
   * Jobs with the same (kind, dedupe_key) exist once: a redelivered webhook cannot queue a second
   * one. Null for a job queued only together with a row whose own unique key dedupes it (see
   * InboundJob): null never conflicts.
   */
  dedupe_key: string | null;
  payload: unknown;
  run_at?: Date;
}

/** The columns of a new job, in the order its values are written (here and in inbound.store.ts). */
export const JOB_INSERT_COLUMNS = 'kind, dedupe_key, payload, status, attempts, run_at, locked_until, last_error, created_at, updated_at';

const jobInsert = new PreparedSql(
  `insert into jobs (${JOB_INSERT_COLUMNS}) values (?, ?, ?, 'queued', 0, ?, null, null, ?, ?) on conflict (kind, dedupe_key) do nothing`,
);

/** Queues a job unless one with the same (kind, dedupe_key) exists; true when queued now. */
export async function enqueueJob(db: Db, dialect: DialectName, job: NewJob): Promise<boolean> {
  const now = new Date().toISOString();
  const runAt = (job.run_at ?? new Date()).toISOString();
  return (await jobInsert.run(db, dialect, [job.kind, job.dedupe_key, JSON.stringify(job.payload), runAt, now, now])) > 0;
}

/**
 * Claims up to `limit` due jobs of the given kinds for `lockMs`. A job whose lock expired (its
 * worker died) is due again, so a crash loses no job. The batch is claimed oldest `run_at` first,
 * the order the rows are returned in; pass the dialect so PostgreSQL skips rows another open
 * transaction is claiming.
 */
export async function claimJobs(
  db: Db,
  kinds: JobKind[],
  limit: number,
  lockMs: number,
  now: Date,
  dialect: DialectName,
): Promise<JobRow[]> {
  if (kinds.length === 0 || limit <= 0) return [];
  let rows: JobRow[];
  if (dialect === 'postgres') {
    rows = await claimStatement(kinds.length).all(db, dialect, claimParameters(kinds, limit, lockMs, now));
  } else {
    const nowIso = now.toISOString();
    const picked: { id: number; run_at: string }[] = [];
    for (const kind of kinds) {
      picked.push(
        ...(await pickQueued.all(db, dialect, [kind, nowIso, limit])),
        ...(await pickLapsed.all(db, dialect, [kind, nowIso, limit])),
      );
    }
    if (picked.length === 0) return [];
    const ids = picked
      .sort(byRunAtThenId)
      .slice(0, limit)
      .map((p) => p.id);
    rows = await claimPicked.all(db, dialect, sqliteClaimParameters(ids, lockMs, now));
  }
  return rows.sort(byRunAtThenId);
}

function byRunAtThenId(a: { run_at: string; id: number }, b: { run_at: string; id: number }): number {
  return a.run_at < b.run_at ? -1 : a.run_at > b.run_at ? 1 : a.id - b.id;
}

/**
 * The statements claimJobs runs on `dialect`, with their parameters, for a plan test: on
 * PostgreSQL the one claim statement; on SQLite the two picks of each kind and the update of
 * the chosen ids (`ids`, any will do for a plan).
 */
export function claimJobsStatements(
  kinds: JobKind[],
  limit: number,
  lockMs: number,
  now: Date,
  dialect: DialectName,
  ids: number[] = [1, 2],
): { sql: string; parameters: unknown[] }[] {
  if (dialect === 'postgres')
    return [{ sql: claimStatement(kinds.length).text(dialect), parameters: claimParameters(kinds, limit, lockMs, now) }];
  const nowIso = now.toISOString();
  return [
    ...kinds.flatMap((kind) => [
      { sql: pickQueued.text(dialect), parameters: [kind, nowIso, limit] },
      { sql: pickLapsed.text(dialect), parameters: [kind, nowIso, limit] },
    ]),
    { sql: claimPicked.text(dialect), parameters: sqliteClaimParameters(ids, lockMs, now) },
  ];
}

/*
 * SQLite: each way a job is due — queued and due, or claimed by a worker whose claim lapsed — is
 * one plain walk of the (kind, status, run_at) index per kind, `limit` rows at most; the oldest of
 * them are chosen in JS and claimed by primary key. One statement with the picks as subqueries
 * (PostgreSQL's form below) cost SQLite about 80 µs a claim against about 10 µs for the picks and
 * the update run apart: each subquery is a co-routine of its own, and the runner claims after
 * every job. The update repeats the due condition, so a row another process claimed between pick
 * and update (two processes on one file, the picks outside a write transaction) is left out: never
 * two claims of one job. Unary + keeps the re-check's columns out of index choice.
 */
const pickQueued = new PreparedSql<{ id: number; run_at: string }>(
  "select id, run_at from jobs where kind = ? and status = 'queued' and run_at <= ? order by run_at, id limit ?",
);
const pickLapsed = new PreparedSql<{ id: number; run_at: string }>(
  "select id, run_at from jobs where kind = ? and status = 'running' and locked_until < ? order by run_at, id limit ?",
);
const claimPicked = new PreparedSql<JobRow>(`update jobs set status = 'running', locked_until = ?, attempts = attempts + 1, updated_at = ?
  where id in (select value from json_each(?))
  and ((+status = 'queued' and +run_at <= ?) or (+status = 'running' and +locked_until < ?))
  returning *`);

function sqliteClaimParameters(ids: number[], lockMs: number, now: Date): unknown[] {
  const nowIso = now.toISOString();
  return [new Date(now.getTime() + lockMs).toISOString(), nowIso, JSON.stringify(ids), nowIso, nowIso];
}

function claimParameters(kinds: JobKind[], limit: number, lockMs: number, now: Date): unknown[] {
  const nowIso = now.toISOString();
  const lockedUntil = new Date(now.getTime() + lockMs).toISOString();
  const picks = kinds.flatMap((kind) => [kind, nowIso, limit]);
  return [lockedUntil, nowIso, ...picks, ...picks, limit, nowIso, nowIso];
}

/** One PostgreSQL claim statement per number of kinds (the runners use one or two). */
const claimStatements = new Map<number, PreparedSql<JobRow>>();

/**
 * PostgreSQL: one statement for the whole batch (a round trip per statement costs more than the
 * statement), written as SQL: the runner claims after every job, and building the nested query
 * with Kysely cost more than running it. The choice walks the (kind, status, run_at) index in
 * order for each kind and each way a job is due, `limit` rows at most each, and orders only those:
 * a runner never reads another kind's backlog, and never sorts its own. The chosen ids are an
 * array computed once, then `id = any(…)` on the primary key whatever the planner thinks of the
 * table's size. The due condition is repeated on the update itself, so a row another process
 * claimed between the choice and the update (PostgreSQL re-checks it on the updated version) is
 * left out; the choice skips rows locked by another open claim instead of waiting for it. A job's
 * kind never changes, so the re-check is of the due condition alone.
 * Parameters: lockedUntil, now, then per kind (kind, now, limit) twice, limit, now, now.
 */
function claimStatement(kindCount: number): PreparedSql<JobRow> {
  let statement = claimStatements.get(kindCount);
  if (statement) return statement;
  const pick = (status: string, column: string, op: string) =>
    `select id, run_at from (select id, run_at from jobs where kind = ? and status = '${status}' and ${column} ${op} ? order by run_at, id limit ? for update skip locked) as p`;
  const picks = [
    ...Array.from({ length: kindCount }, () => pick('queued', 'run_at', '<=')),
    ...Array.from({ length: kindCount }, () => pick('running', 'locked_until', '<')),
  ];
  const chosen = `select c.id from (${picks.join(' union all ')}) as c order by c.run_at, c.id limit ?`;
  statement =
    PreparedSql.postgresOnly<JobRow>(`update jobs set status = 'running', locked_until = ?, attempts = attempts + 1, updated_at = ?
      where id = any(array(${chosen}))
      and ((status = 'queued' and run_at <= ?) or (status = 'running' and locked_until < ?))
      returning *`);
  claimStatements.set(kindCount, statement);
  return statement;
}

/*
 * A run's outcome is written only while its claim still holds (`status = 'running'` with the
 * `locked_until` the claim set): a worker that outlived its claim — stalled past it, while another
 * worker claimed the job again or an operator requeued it — changes nothing. The functions answer
 * whether the claim held.
 */
const CLAIM_HELD = "id = ? and status = 'running' and locked_until = ?";
const jobDone = new PreparedSql(`update jobs set status = 'done', locked_until = null, updated_at = ? where ${CLAIM_HELD}`);
const jobRetry = new PreparedSql(
  `update jobs set status = 'queued', run_at = ?, locked_until = null, last_error = ?, updated_at = ? where ${CLAIM_HELD}`,
);
const jobFailed = new PreparedSql(
  `update jobs set status = 'failed', locked_until = null, last_error = ?, updated_at = ? where ${CLAIM_HELD}`,
);
const jobHeld = new PreparedSql(`update jobs set updated_at = ? where ${CLAIM_HELD}`);

/** A claim as `claimJobs` returned it: the job's id and the `locked_until` the claim set. */
export interface ClaimRef {
  id: number;
  locked_until: string | null;
}

export async function completeJob(db: Db, dialect: DialectName, claim: ClaimRef): Promise<boolean> {
  return (await jobDone.run(db, dialect, [new Date().toISOString(), claim.id, claim.locked_until])) > 0;
}

/** Schedules another attempt at `runAt`, or marks the job failed for good when `runAt` is null. */
export async function failJob(db: Db, dialect: DialectName, claim: ClaimRef, error: string, runAt: Date | null): Promise<boolean> {
  const now = new Date().toISOString();
  const changed = runAt
    ? await jobRetry.run(db, dialect, [runAt.toISOString(), error.slice(0, 2000), now, claim.id, claim.locked_until])
    : await jobFailed.run(db, dialect, [error.slice(0, 2000), now, claim.id, claim.locked_until]);
  return changed > 0;
}

/**
 * Whether the claim still holds, inside a write unit; it also locks the job's row until the unit
 * commits (PostgreSQL), so no claim of it can commit in between.
 */
export async function holdsClaim(db: Db, dialect: DialectName, claim: ClaimRef): Promise<boolean> {
  return (await jobHeld.run(db, dialect, [new Date().toISOString(), claim.id, claim.locked_until])) > 0;
}

export async function countJobs(db: Db, kind: JobKind, status?: string): Promise<number> {
  let q = db
    .selectFrom('jobs')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('kind', '=', kind);
  if (status) q = q.where('status', '=', status);
  const r = await q.executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Creation time of the oldest job of `kind` not yet done (queued or running), or null. */
export async function oldestOpenJobAt(db: Db, kind: JobKind): Promise<string | null> {
  const r = await db
    .selectFrom('jobs')
    .select((eb) => eb.fn.min('created_at').as('at'))
    .where('status', 'in', ['queued', 'running'])
    .where('kind', '=', kind)
    .executeTakeFirst();
  return (r?.at as string | null | undefined) ?? null;
}

/**
 * Puts a job back in the queue as new: due now, no attempts, no error, created now (its age in the
 * outbox metric counts from the retry). Done, failed and queued jobs move, and a running one whose
 * claim lapsed (its worker died). `running`: a worker holds it now, nothing changed; `missing`: no
 * such job.
 */
export async function requeueJob(db: Db, kind: JobKind, dedupeKey: string, now = new Date()): Promise<'requeued' | 'running' | 'missing'> {
  const nowIso = now.toISOString();
  const r = await db
    .updateTable('jobs')
    .set({ status: 'queued', attempts: 0, run_at: nowIso, locked_until: null, last_error: null, created_at: nowIso, updated_at: nowIso })
    .where('kind', '=', kind)
    .where('dedupe_key', '=', dedupeKey)
    .where((eb) =>
      eb.or([eb('status', 'in', ['done', 'failed', 'queued']), eb.and([eb('status', '=', 'running'), eb('locked_until', '<', nowIso)])]),
    )
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) > 0) return 'requeued';
  const held = await db.selectFrom('jobs').select('id').where('kind', '=', kind).where('dedupe_key', '=', dedupeKey).executeTakeFirst();
  return held ? 'running' : 'missing';
}
