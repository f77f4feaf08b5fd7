import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { Logger } from 'pino';
import { latestEventId, readEventsAfter, type EventRecord } from '../store/event.store.js';
import type { DB } from '../store/schema.js';

/** The channel group-commit.ts notifies with the newest committed event id. */
export const EVENTS_CHANNEL = 'switchboard_events';

export interface EventTailOptions {
  /** Reads of the log (the reader connection). */
  db: Kysely<DB>;
  /** Resolves once the events up to an id are on disk: what a read found is delivered only then. */
  eventsDurable?: (eventId: number) => Promise<void>;
  /** PostgreSQL: LISTEN on a dedicated connection from this pool [RT3]. Null on SQLite. */
  pgPool?: pg.Pool | null;
  logger?: Logger;
  /** Safety poll: a lost wake-up (or a write from another process on SQLite) delays an event by at most this. */
  pollIntervalMs?: number;
  pageSize?: number;
  /** Wait before reopening a broken LISTEN connection. */
  reconnectDelayMs?: number;
}

/**
 * Follows the durable event log: one per process. Woken by this process's commits
 * (`wake(lastId)`), by PostgreSQL NOTIFY from any process, and by a poll every second; each wake
 * reads `id > lastSeenId` in id order and hands the rows to `deliver`, in order and each once.
 * Because event ids commit in id order (group-commit.ts), remembering the last id is enough.
 */
export class EventTail {
  private seen = 0;
  private reading: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  private pollTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private listener: pg.PoolClient | null = null;
  private readonly pollIntervalMs: number;
  private readonly pageSize: number;
  private readonly reconnectDelayMs: number;
  /** Wake-ups that found something to read, for tests and metrics. */
  readonly stats = { reads: 0, events: 0, notifications: 0, listenErrors: 0 };

  constructor(
    private readonly options: EventTailOptions,
    private readonly deliver: (events: readonly EventRecord[]) => void,
  ) {
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    // A page is published to every client at once: its size bounds the burst a client's buffer must absorb.
    this.pageSize = options.pageSize ?? 500;
    this.reconnectDelayMs = options.reconnectDelayMs ?? 1000;
  }

  /** The newest event id read from the log. */
  get lastSeenId(): number {
    return this.seen;
  }

  /** True while a LISTEN connection is open (PostgreSQL). */
  get isListening(): boolean {
    return this.listener !== null;
  }

  /** Starts at the log's current end (history is the catch-up's business, not the tail's). */
  async start(): Promise<number> {
    if (!this.stopped) return this.seen;
    this.stopped = false;
    this.seen = await latestEventId(this.options.db);
    this.pollTimer = setInterval(() => this.wake(), this.pollIntervalMs);
    this.pollTimer.unref();
    if (this.options.pgPool) await this.listen();
    return this.seen;
  }

  /** Asks for a read; `committedId` (when known) skips the read if already seen. Coalesces. */
  wake(committedId?: number): void {
    if (this.stopped) return;
    if (committedId !== undefined && committedId <= this.seen) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.readAll().finally(() => {
      this.reading = null;
    });
  }

  /** Resolves when no read is in flight. */
  async idle(): Promise<void> {
    // Bounded: each pass waits for one read; a new one starts only on a wake.
    for (let i = 0; i < 100 && this.reading; i++) await this.reading;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.pollTimer = this.reconnectTimer = null;
    const listener = this.listener;
    this.listener = null;
    listener?.release(true);
    await this.idle();
  }

  private async readAll(): Promise<void> {
    try {
      do {
        this.again = false;
        // Bounded per pass; a full last page asks for another pass.
        for (let page = 0; page < 100 && !this.stopped; page++) {
          const rows = await readEventsAfter(this.options.db, this.seen, this.pageSize);
          if (rows.length === 0) break;
          await this.options.eventsDurable?.(rows[rows.length - 1]!.id);
          this.seen = rows[rows.length - 1]!.id;
          this.stats.reads++;
          this.stats.events += rows.length;
          try {
            this.deliver(rows);
          } catch (err) {
            this.options.logger?.error({ err }, 'event delivery failed');
          }
          if (rows.length < this.pageSize) break;
          if (page === 99) this.again = true;
        }
      } while (this.again && !this.stopped);
    } catch (err) {
      // The database is unreachable or busy: the next poll retries from the same position.
      if (!this.stopped) this.options.logger?.warn({ err }, 'event log read failed; retrying on the next poll');
    }
  }

  private async listen(): Promise<void> {
    const pool = this.options.pgPool;
    if (!pool || this.stopped || this.listener) return;
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      this.listenFailed(null, err);
      return;
    }
    if (this.stopped) {
      client.release(true);
      return;
    }
    let failed = false;
    const onError = (err: unknown) => {
      if (failed) return;
      failed = true;
      this.listenFailed(client, err);
    };
    client.on('error', onError);
    client.on('end', () => onError(new Error('LISTEN connection ended')));
    client.on('notification', (msg) => {
      if (msg.channel !== EVENTS_CHANNEL) return;
      this.stats.notifications++;
      const id = Number(msg.payload);
      this.wake(Number.isSafeInteger(id) ? id : undefined);
    });
    try {
      await client.query(`LISTEN ${EVENTS_CHANNEL}`);
    } catch (err) {
      onError(err);
      return;
    }
    if (failed) return;
    if (this.stopped) {
      client.release(true);
      return;
    }
    this.listener = client;
    // Anything committed while no LISTEN was open.
    this.wake();
  }

  private listenFailed(client: pg.PoolClient | null, err: unknown): void {
    if (client) {
      if (this.listener === client) this.listener = null;
      client.removeAllListeners('notification');
      try {
        client.release(err instanceof Error ? err : true);
      } catch {
        // already released
      }
    }
    if (this.stopped) return;
    this.stats.listenErrors++;
    this.options.logger?.warn({ err }, 'event LISTEN connection lost; reconnecting (the poll covers the gap)');
    if (this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.listen();
    }, this.reconnectDelayMs);
    this.reconnectTimer.unref();
  }
}
