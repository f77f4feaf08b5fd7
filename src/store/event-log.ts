import type pg from 'pg';
import type { Store } from './database.js';
import { latestEventId, oldestEventId, readEventsAfter, type EventRecord } from './event.store.js';

/** The channel a batch with events notifies, with its newest event id (group-commit.ts) [RT3]. */
export const EVENTS_CHANNEL = 'switchboard_events';

/**
 * The durable event log as src/realtime/ reads it: reads after a position, the log's two ends,
 * durability, and word of other processes' commits. The store provides it (eventLogOf), so the
 * realtime engine knows no query builder and no database driver.
 */
export interface EventLog {
  /** Events after `afterId` in id order, at most `limit`; only one conversation's when given. */
  readAfter(afterId: number, limit: number, conversationId?: string | null): Promise<EventRecord[]>;
  /** The highest event id, 0 for an empty log. */
  latestId(): Promise<number>;
  /** The lowest retained event id, null for an empty log. */
  oldestId(): Promise<number | null>;
  /** Resolves once the events up to `eventId` are on disk: what a read found is delivered only then. */
  durable(eventId: number): Promise<void>;
  /**
   * Hears the commits of every process, where the database can tell (PostgreSQL: LISTEN on
   * EVENTS_CHANNEL on a connection of its own, reopened after `reconnectDelayMs` when lost). Null
   * where it cannot: on SQLite a reader polls for other processes' writes.
   */
  listen: ((handlers: CommitHandlers) => CommitListener) | null;
}

export interface CommitHandlers {
  /** A process committed events up to `eventId` (undefined when the notice carried no id). */
  notified(eventId: number | undefined): void;
  /** The listener is (again) open: commits made while it was not may have gone unheard. */
  opened(): void;
  /** The listener's connection failed or could not be opened; it reopens by itself. */
  lost(err: unknown): void;
}

export interface CommitListener {
  /** True while a LISTEN connection is open. */
  readonly isOpen: boolean;
  /** Settles once the first attempt to open is over: open, or lost and to be retried. */
  readonly ready: Promise<void>;
  close(): void;
}

export interface EventLogOptions {
  /** Wait before reopening a lost LISTEN connection (default 1000 ms). */
  reconnectDelayMs?: number;
}

/** The store's event log: reads on the reader connection (never queued behind a write transaction). */
export function eventLogOf(store: Pick<Store, 'reader' | 'eventsDurable' | 'pgPool'>, options: EventLogOptions = {}): EventLog {
  const { reader, pgPool } = store;
  const reconnectDelayMs = options.reconnectDelayMs ?? 1000;
  return {
    readAfter: (afterId, limit, conversationId = null) => readEventsAfter(reader, afterId, limit, conversationId),
    latestId: () => latestEventId(reader),
    oldestId: () => oldestEventId(reader),
    durable: (eventId) => store.eventsDurable(eventId),
    listen: pgPool ? (handlers) => new PgCommitListener(pgPool, handlers, reconnectDelayMs) : null,
  };
}

/** LISTEN on EVENTS_CHANNEL from a dedicated pool connection, reopened whenever it is lost. */
class PgCommitListener implements CommitListener {
  private client: pg.PoolClient | null = null;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  readonly ready: Promise<void>;

  constructor(
    private readonly pool: pg.Pool,
    private readonly handlers: CommitHandlers,
    private readonly reconnectDelayMs: number,
  ) {
    this.ready = this.open();
  }

  get isOpen(): boolean {
    return this.client !== null;
  }

  close(): void {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const client = this.client;
    this.client = null;
    client?.release(true);
  }

  private async open(): Promise<void> {
    if (this.closed || this.client) return;
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      this.failed(null, err);
      return;
    }
    if (this.closed) {
      client.release(true);
      return;
    }
    let failed = false;
    const onError = (err: unknown) => {
      if (failed) return;
      failed = true;
      this.failed(client, err);
    };
    client.on('error', onError);
    client.on('end', () => onError(new Error('LISTEN connection ended')));
    client.on('notification', (msg) => {
      if (msg.channel !== EVENTS_CHANNEL) return;
      const id = Number(msg.payload);
      this.handlers.notified(Number.isSafeInteger(id) ? id : undefined);
    });
    try {
      await client.query(`LISTEN ${EVENTS_CHANNEL}`);
    } catch (err) {
      onError(err);
      return;
    }
    if (failed) return;
    if (this.closed) {
      client.release(true);
      return;
    }
    this.client = client;
    this.handlers.opened();
  }

  private failed(client: pg.PoolClient | null, err: unknown): void {
    if (client) {
      if (this.client === client) this.client = null;
      client.removeAllListeners('notification');
      try {
        client.release(err instanceof Error ? err : true);
      } catch {
        // already released
      }
    }
    if (this.closed) return;
    this.handlers.lost(err);
    if (this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.open();
    }, this.reconnectDelayMs);
    this.reconnectTimer.unref();
  }
}
