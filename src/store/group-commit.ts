import { sql, type Transaction } from 'kysely';
import type { DialectName, Store } from './database.js';
import { EVENTS_CHANNEL } from './event-log.js';
import { PreparedSql } from './prepared-sql.js';
import type { WireEvents, WireEventType } from '../api/types.js';
import type { DB } from './schema.js';

export type EventType = WireEventType;

/**
 * An event-log row to be written with the unit that emitted it (and only if that unit commits):
 * its payload is the presented shape its type carries (src/api/types.ts WireEvents).
 */
export type PendingEvent = { [K in WireEventType]: { type: K; conversation_id: string | null; payload: WireEvents[K] } }[WireEventType];

/** A webhook body as received, kept for replays and audits [IN1]. */
export interface JournalEntry {
  provider: string;
  received_at: string;
  body: string;
  message_count: number;
  status_count: number;
}

/** What a write unit sees: the batch's transaction and a way to emit event-log rows. */
export interface WriteTx {
  readonly db: Transaction<DB>;
  readonly dialect: DialectName;
  /** The committer running this unit: one per database, a key for caches of committed rows. */
  readonly owner: object;
  /**
   * Adds an event-log row. A `conversation_updated` replaces the unit's earlier one for the same
   * conversation: a unit that changes a conversation twice (a notice's activity, then the takeover's
   * state) shows clients the committed state once, never the state in between.
   */
  emit(event: PendingEvent): void;
  /**
   * Keeps a webhook body in the journal. Like events, the row is written at the end of the batch,
   * in the same transaction, and only if this unit commits (on PostgreSQL in the same round trip
   * as the batch's events).
   */
  journal(entry: JournalEntry): void;
  /** Runs after the batch has committed (wake a worker, count a metric); never for a rolled-back unit. */
  afterCommit(fn: () => void): void;
}

export type WriteUnit<T> = (tx: WriteTx) => Promise<T>;

interface QueuedUnit {
  unit: WriteUnit<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** What a committed unit leaves for the end of its batch. */
interface UnitRows {
  events: PendingEvent[];
  journal: JournalEntry[];
  after: (() => void)[];
}

type Outcome = ({ ok: true; value: unknown } & UnitRows) | { ok: false; error: unknown };

/** Key of the advisory lock that makes PostgreSQL event ids commit in id order (see runBatch). */
const EVENT_LOG_LOCK = 7_270_001;

export interface GroupCommitOptions {
  maxBatch: number;
  /** Batches in flight at once: 1 on SQLite (one writer); a few on PostgreSQL. */
  concurrency?: number;
  /** Told the highest event id after each commit that wrote events, once it is on disk. */
  onEventsCommitted?: (lastEventId: number) => void;
}

/**
 * Group commit: concurrent write units are queued and run back to back inside ONE transaction (one
 * unit's failure rolls back only that unit, see runBatch). Every caller's promise settles only
 * after the shared COMMIT returned and is on disk (`store.syncCommitted`), so a resolved write is a
 * durable write; if the commit or its fsync fails, every unit of the batch rejects. One fsync
 * serves a whole batch of webhooks, and on SQLite it runs while the next batch does.
 */
export class GroupCommitter {
  readonly stats = { batches: 0, units: 0, failedBatches: 0 };
  private readonly queue: QueuedUnit[] = [];
  /** Batches holding the writer (a transaction open). */
  private active = 0;
  /** Batches not yet settled (holding the writer, or waiting for their fsync). */
  private inFlight = 0;
  private readonly idleWaiters: (() => void)[] = [];
  private readonly concurrency: number;
  private pumpScheduled = false;

  constructor(
    private readonly store: Store,
    private readonly options: GroupCommitOptions,
  ) {
    this.concurrency = options.concurrency ?? (store.dialect === 'sqlite' ? 1 : 4);
  }

  /** Queues a unit; resolves with its result once its batch has committed. */
  run<T>(unit: WriteUnit<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ unit, resolve: resolve as (v: unknown) => void, reject });
      this.schedulePump();
    });
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.inFlight === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  get depth(): number {
    return this.queue.length;
  }

  /**
   * Batches start on the next turn of the event loop, never at once: every request that I/O
   * delivered in this turn queues first and joins the same batch. (On SQLite a batch never yields
   * to I/O, so starting at the first unit would commit batches of one or two.)
   */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.active < this.concurrency && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.active++;
      let released = false;
      // The writer is free again once the transaction has ended; the batch then waits for its
      // fsync (SQLite) while the next batch runs.
      const release = () => {
        if (released) return;
        released = true;
        this.active--;
        this.schedulePump();
      };
      this.inFlight++;
      void this.runBatch(batch, release).finally(() => {
        release();
        this.inFlight--;
        if (this.inFlight === 0 && this.queue.length === 0) this.idleWaiters.splice(0).forEach((fn) => fn());
      });
    }
  }

  /**
   * Runs a batch optimistically first: the units back to back without savepoints (two statements
   * less per unit, which on PostgreSQL are two round trips). If any unit fails, that transaction is
   * rolled back whole and the batch runs again with a savepoint per unit, so only the failing unit
   * fails. Units are functions of the database, so running one again after a rollback is running
   * it once.
   */
  private async runBatch(batch: QueuedUnit[], release: () => void): Promise<void> {
    let settled = batch.length > 1 ? await this.attempt(batch, false) : 'retry';
    if (settled === 'retry') settled = await this.attempt(batch, true);
    release();
    if (settled === 'retry' || settled === 'rejected') return;
    const { outcomes, lastEventId } = settled;
    try {
      // Resolved means durable: nobody hears of this batch before its fsync.
      await this.store.syncCommitted(lastEventId);
    } catch (error) {
      this.stats.failedBatches++;
      batch.forEach((item) => item.reject(error));
      return;
    }
    this.stats.batches++;
    this.stats.units += batch.length;
    batch.forEach((item, i) => {
      const o = outcomes[i]!;
      if (o.ok) item.resolve(o.value);
      else item.reject(o.error);
    });
    for (const o of outcomes) if (o.ok) for (const fn of o.after) runSafely(fn);
    if (lastEventId > 0) this.options.onEventsCommitted?.(lastEventId);
  }

  /**
   * One transaction over the batch. Without savepoints (`isolated` false) the first failing unit
   * aborts it: `retry`, the caller runs the batch again isolated. Isolated, a failing unit is rolled
   * back to its savepoint and the others commit. If the transaction itself fails (COMMIT, a broken
   * connection) every unit is rejected here: `rejected`.
   */
  private async attempt(
    batch: QueuedUnit[],
    isolated: boolean,
  ): Promise<{ outcomes: Outcome[]; lastEventId: number } | 'retry' | 'rejected'> {
    const outcomes: Outcome[] = [];
    let lastEventId = 0;
    try {
      await this.store.db.transaction().execute(async (trx) => {
        // A lone unit needs no savepoint: its failure rolls back the whole (one-unit) transaction.
        const savepoints = isolated && batch.length > 1;
        for (const item of batch) {
          const rows: UnitRows = { events: [], journal: [], after: [] };
          const tx: WriteTx = {
            db: trx,
            dialect: this.store.dialect,
            owner: this,
            emit: (e) => emitInto(rows.events, e),
            journal: (entry) => rows.journal.push(entry),
            afterCommit: (fn) => rows.after.push(fn),
          };
          if (!savepoints) {
            try {
              outcomes.push({ ok: true, value: await item.unit(tx), ...rows });
            } catch (error) {
              outcomes.push({ ok: false, error });
              throw isolated ? error : RETRY_ISOLATED;
            }
            continue;
          }
          await sql`savepoint unit`.execute(trx);
          try {
            const value = await item.unit(tx);
            await sql`release savepoint unit`.execute(trx);
            outcomes.push({ ok: true, value, ...rows });
          } catch (error) {
            // If the rollback itself fails the transaction is broken: abort the whole batch.
            await sql`rollback to savepoint unit`.execute(trx);
            await sql`release savepoint unit`.execute(trx);
            outcomes.push({ ok: false, error });
          }
        }
        const events = outcomes.flatMap((o) => (o.ok ? o.events : []));
        const journal = outcomes.flatMap((o) => (o.ok ? o.journal : []));
        lastEventId = await writeBatchRows(trx, this.store.dialect, events, journal);
      });
    } catch (error) {
      if (error === RETRY_ISOLATED) return 'retry';
      this.stats.failedBatches++;
      batch.forEach((item, i) => {
        const o = outcomes[i];
        item.reject(o && !o.ok ? o.error : error);
      });
      return 'rejected';
    }
    return { outcomes, lastEventId };
  }
}

/** Thrown inside an optimistic batch's transaction when a unit failed: roll back, run it isolated. */
const RETRY_ISOLATED = new Error('a unit of an optimistic batch failed');

/**
 * Appends the batch's journal rows and events; returns the last event id (0 for none). Before any
 * event, PostgreSQL takes a transaction-scoped advisory lock held until COMMIT, so event ids become
 * visible in id order across processes: a reader tailing `id > last` can never see id N+1
 * committed while id N is still in flight [RT1][RT3].
 */
async function writeBatchRows(
  trx: Transaction<DB>,
  dialect: DialectName,
  events: PendingEvent[],
  journal: JournalEntry[],
): Promise<number> {
  if (events.length === 0 && journal.length === 0) return 0;
  const now = new Date().toISOString();
  if (dialect === 'sqlite') {
    // One prepared statement per row: cheaper in-process than building a many-row insert.
    for (const j of journal) await journalInsert.run(trx, dialect, [j.provider, j.received_at, j.body, j.message_count, j.status_count]);
    let last = 0;
    for (const e of events) {
      const row = await eventInsert.first(trx, dialect, [e.type, e.conversation_id, JSON.stringify(e.payload), now]);
      last = Math.max(last, Number(row!.id));
    }
    return last;
  }
  if (events.length > 0) await sql`select pg_advisory_xact_lock(${EVENT_LOG_LOCK})`.execute(trx);
  // One round trip for the batch's journal rows, its events and the wake-up of every process's event tail.
  const row = await batchRowsInsertPg.first(trx, dialect, [
    journal.map((j) => j.provider),
    journal.map((j) => j.received_at),
    journal.map((j) => j.body),
    journal.map((j) => j.message_count),
    journal.map((j) => j.status_count),
    now,
    events.map((e) => e.type),
    events.map((e) => e.conversation_id),
    events.map((e) => JSON.stringify(e.payload)),
  ]);
  return Number(row?.last ?? 0);
}

const journalInsert = new PreparedSql(
  'insert into webhook_journal (provider, received_at, body, message_count, status_count) values (?, ?, ?, ?, ?)',
);

const eventInsert = new PreparedSql<{ id: number }>(
  'insert into events (type, conversation_id, payload, created_at) values (?, ?, ?, ?) returning id',
);

/** The batch's rows as arrays (one text whatever the batch's size); event ids are assigned in array order. */
const batchRowsInsertPg = PreparedSql.postgresOnly<{ last: number | null }>(`
  with journal as (
    insert into webhook_journal (provider, received_at, body, message_count, status_count)
    select * from unnest(?::text[], ?::text[], ?::text[], ?::int[], ?::int[])
  ),
  inserted as (
    insert into events (type, conversation_id, payload, created_at)
    select e.type, e.conversation_id, e.payload, ? from unnest(?::text[], ?::text[], ?::text[]) with ordinality as e(type, conversation_id, payload, n)
    order by e.n
    returning id
  )
  select max(id) as last, case when max(id) is not null then pg_notify('${EVENTS_CHANNEL}', max(id)::text) end as notified from inserted`);

function runSafely(fn: () => void): void {
  try {
    fn();
  } catch {
    // after-commit hooks are notifications; their failure must not undo an acknowledged write
  }
}

/** `WriteTx.emit`: appends, a conversation's later `conversation_updated` replacing its earlier one. */
function emitInto(events: PendingEvent[], event: PendingEvent): void {
  if (event.type === 'conversation_updated') {
    const earlier = events.findIndex((e) => e.type === 'conversation_updated' && e.conversation_id === event.conversation_id);
    if (earlier !== -1) events.splice(earlier, 1);
  }
  events.push(event);
}
