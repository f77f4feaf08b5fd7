import type { Logger } from 'pino';
import type { CommitListener, EventLog } from '../store/event-log.js';
import type { EventRecord } from '../store/event.store.js';

export interface EventTailOptions {
  /** The log it follows (the store's: eventLogOf). */
  log: EventLog;
  logger?: Logger;
  /** Safety poll: a lost wake-up (or a write from another process on SQLite) delays an event by at most this. */
  pollIntervalMs?: number;
  pageSize?: number;
}

/**
 * Follows the durable event log: one per process. Woken by this process's commits
 * (`wake(lastId)`), by the log's word of any process's commit (PostgreSQL NOTIFY [RT3]), and by a
 * poll every second; each wake reads `id > lastSeenId` in id order and hands the rows to
 * `deliver`, in order and each once. Because event ids commit in id order (group-commit.ts),
 * remembering the last id is enough.
 */
export class EventTail {
  private seen = 0;
  private reading: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  private pollTimer: NodeJS.Timeout | null = null;
  private listener: CommitListener | null = null;
  private readonly pollIntervalMs: number;
  private readonly pageSize: number;
  /** Wake-ups that found something to read, for tests and metrics. */
  readonly stats = { reads: 0, events: 0, notifications: 0, listenErrors: 0 };

  constructor(
    private readonly options: EventTailOptions,
    private readonly deliver: (events: readonly EventRecord[]) => void,
  ) {
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    // A page is published to every client at once: its size bounds the burst a client's buffer must absorb.
    this.pageSize = options.pageSize ?? 500;
  }

  /** The newest event id read from the log. */
  get lastSeenId(): number {
    return this.seen;
  }

  /** True while the log's commit listener is open (PostgreSQL LISTEN). */
  get isListening(): boolean {
    return this.listener?.isOpen ?? false;
  }

  /** Starts at the log's current end (history is the catch-up's business, not the tail's). */
  async start(): Promise<number> {
    if (!this.stopped) return this.seen;
    this.stopped = false;
    const { log, logger } = this.options;
    this.seen = await log.latestId();
    this.pollTimer = setInterval(() => this.wake(), this.pollIntervalMs);
    this.pollTimer.unref();
    this.listener =
      log.listen?.({
        notified: (eventId) => {
          this.stats.notifications++;
          this.wake(eventId);
        },
        // Anything committed while no LISTEN was open.
        opened: () => this.wake(),
        lost: (err) => {
          this.stats.listenErrors++;
          logger?.warn({ err }, 'event LISTEN connection lost; reconnecting (the poll covers the gap)');
        },
      }) ?? null;
    await this.listener?.ready;
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
    this.pollTimer = null;
    this.listener?.close();
    this.listener = null;
    await this.idle();
  }

  private async readAll(): Promise<void> {
    try {
      do {
        this.again = false;
        // Bounded per pass; a full last page asks for another pass.
        for (let page = 0; page < 100 && !this.stopped; page++) {
          const rows = await this.options.log.readAfter(this.seen, this.pageSize);
          if (rows.length === 0) break;
          await this.options.log.durable(rows[rows.length - 1]!.id);
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
}
