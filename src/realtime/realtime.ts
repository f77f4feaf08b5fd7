import type { Logger } from 'pino';
import type { Store } from '../store/database.js';
import { eventLogOf } from '../store/event-log.js';
import type { GroupCommitter } from '../store/group-commit.js';
import { EventRetention } from './event-retention.js';
import { EventTail } from './event-tail.js';
import { SseHub, type SseHubOptions, type SseObserver } from './sse-hub.js';

export interface RealtimeOptions {
  store: Store;
  committer: GroupCommitter;
  logger?: Logger;
  /** SSE client and delivery metrics. */
  observer?: SseObserver;
  retentionDays: number;
  pingIntervalMs?: number;
  pollIntervalMs?: number;
  purgeIntervalMs?: number;
  /** Per-client buffer bounds (defaults in SSE_DEFAULTS). */
  buffer?: Pick<SseHubOptions, 'maxBufferedEvents' | 'maxBufferedBytes'>;
}

/**
 * The realtime engine of one process: the event-log tail feeding the SSE hub, and the retention
 * purge. Built by main.ts; the committer's `onEventsCommitted` goes to `wake`.
 */
export class Realtime {
  readonly hub: SseHub;
  readonly tail: EventTail;
  readonly retention: EventRetention;

  constructor(options: RealtimeOptions) {
    const { store, logger } = options;
    const log = eventLogOf(store);
    this.hub = new SseHub({ log, logger, observer: options.observer, pingIntervalMs: options.pingIntervalMs, ...options.buffer });
    this.tail = new EventTail({ log, logger, pollIntervalMs: options.pollIntervalMs }, (events) => this.hub.publish(events));
    this.retention = new EventRetention({
      committer: options.committer,
      retentionDays: options.retentionDays,
      logger,
      intervalMs: options.purgeIntervalMs,
    });
  }

  /** Reads the log's end, opens LISTEN (PostgreSQL), starts pings, polls and the purge. */
  async start(): Promise<void> {
    const position = await this.tail.start();
    this.hub.start(position);
    this.retention.start();
  }

  /** This process committed events up to `lastEventId`. */
  wake(lastEventId?: number): void {
    this.tail.wake(lastEventId);
  }

  /** Ends every stream (graceful shutdown); call before the HTTP server closes. */
  closeStreams(): Promise<void> {
    return this.hub.closeAll();
  }

  /** Stops the tail and the purge; streams are closed first. */
  async stop(): Promise<void> {
    await this.closeStreams();
    await this.tail.stop();
    await this.retention.stop();
  }
}
