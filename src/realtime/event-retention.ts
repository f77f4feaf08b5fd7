import type { Logger } from 'pino';
import { purgeEventsBefore } from '../store/event.store.js';
import type { GroupCommitter } from '../store/group-commit.js';

export interface EventRetentionOptions {
  committer: GroupCommitter;
  retentionDays: number;
  logger?: Logger;
  /** How often the purge runs (default hourly; the first run is shortly after start). */
  intervalMs?: number;
  /** Rows per delete; each is its own write unit so webhooks are never held up for long. */
  chunkSize?: number;
}

/**
 * Deletes event-log rows older than EVENT_RETENTION_DAYS. A client resuming from before the
 * retained log gets `event: reset` (see SseHub). Every process may run it: the deletes are
 * idempotent.
 */
export class EventRetention {
  private timer: NodeJS.Timeout | null = null;
  private firstRun: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  private readonly chunkSize: number;

  constructor(private readonly options: EventRetentionOptions) {
    this.chunkSize = options.chunkSize ?? 5000;
  }

  start(): void {
    if (this.timer) return;
    const interval = this.options.intervalMs ?? 3_600_000;
    const first = setTimeout(() => void this.purgeNow(), Math.min(interval, 10_000));
    first.unref();
    this.timer = setInterval(() => void this.purgeNow(), interval);
    this.timer.unref();
    this.firstRun = first;
  }

  /** Purges now (waits for a purge already running); resolves with the number of rows deleted. */
  purgeNow(now: Date = new Date()): Promise<number> {
    this.running ??= this.purge(now).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.firstRun) clearTimeout(this.firstRun);
    this.timer = this.firstRun = null;
    await this.running?.catch(() => 0);
  }

  private async purge(now: Date): Promise<number> {
    const cutoff = new Date(now.getTime() - this.options.retentionDays * 86_400_000).toISOString();
    let total = 0;
    try {
      // Bounded: at most 1000 chunks per run; the next run continues.
      for (let i = 0; i < 1000; i++) {
        const deleted = await this.options.committer.run((tx) => purgeEventsBefore(tx.db, cutoff, this.chunkSize));
        total += deleted;
        if (deleted < this.chunkSize) break;
      }
    } catch (err) {
      this.options.logger?.warn({ err }, 'event log purge failed; retrying on the next run');
    }
    if (total > 0) this.options.logger?.info({ deleted: total, cutoff }, 'event log purged');
    return total;
  }
}
