import type { Logger } from 'pino';
import type { EventLog } from '../store/event-log.js';
import type { EventRecord } from '../store/event.store.js';
import { sseComment, sseEvent, sseRetry } from './sse-frames.js';

/**
 * Where a stream's bytes go. Node's `http.ServerResponse` satisfies it as it is; the hub knows no
 * HTTP framework. `write` returning false means "buffer full, wait for 'drain'".
 */
export interface SseSink {
  write(chunk: string): boolean;
  end(callback?: () => void): unknown;
  destroy(): unknown;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  readonly writableLength: number;
  /** True once the connection is gone (its 'close' may already have fired). */
  readonly destroyed: boolean;
}

export interface SubscribeOptions {
  /** Only this conversation's events. */
  conversationId?: string | null;
  /** Resume after this event id (Last-Event-ID); null starts at the current tail, live only. */
  resumeAfter?: number | null;
}

/** Told of stream opens and closes and of delivered events (metrics). */
export interface SseObserver {
  clientOpened(): void;
  clientClosed(): void;
  eventsDelivered(count: number): void;
}

export interface SseHubOptions {
  /** The log the catch-up reads (a read is sent once the log says it is durable). */
  log: EventLog;
  logger?: Logger;
  observer?: SseObserver;
  retryMs?: number;
  pingIntervalMs?: number;
  /** A client's bounded buffer: events queued and not yet accepted by its socket [RT2]. */
  maxBufferedEvents?: number;
  maxBufferedBytes?: number;
  catchUpPageSize?: number;
}

/** Why a client was told to reload (`event: reset`). */
export type ResetReason = 'expired' | 'unknown_position';

export interface SseClientStats {
  readonly id: number;
  readonly conversationId: string | null;
  readonly live: boolean;
  readonly bufferedEvents: number;
  readonly bufferedBytes: number;
  readonly peakBufferedEvents: number;
  readonly peakBufferedBytes: number;
  readonly lastEventId: number;
}

export interface SseHubStats {
  /** Open streams now. */
  readonly clients: number;
  /** Event frames handed to sockets, all clients together, since start. */
  readonly eventsDelivered: number;
  /** Streams closed because their buffer overflowed [RT2]. */
  readonly overflowClosed: number;
  /** Resets sent (resume point older than retention, or unknown). */
  readonly resets: number;
  /** The largest buffer any client (also a closed one) ever held: events queued, and bytes queued plus in its socket. */
  readonly peakBufferedBytes: number;
  readonly peakBufferedEvents: number;
  /** The newest event id handed to the hub. */
  readonly position: number;
}

/**
 * The per-client bounds hold several of the tail's pages (500 events each; a page of WhatsApp's
 * largest texts is ~2.5 MB), so a healthy client absorbs a burst; a client that stops reading costs
 * at most ~8 MB before it is cut [RT2].
 */
export const SSE_DEFAULTS = {
  retryMs: 2000,
  pingIntervalMs: 15_000,
  maxBufferedEvents: 5000,
  maxBufferedBytes: 8 * 1024 * 1024,
  catchUpPageSize: 500,
} as const;

/** A close that waits this long for a stream to flush before cutting it. */
const CLOSE_GRACE_MS = 1000;

interface Frame {
  readonly id: number | null;
  readonly text: string;
}

/**
 * Fans events from the tail out to SSE streams.
 *
 * Gap-free resume [RT1]: a resuming client is registered first (live events for it are held back),
 * then the log after its position is read from the database in pages, then the held-back events
 * with an id above the last one sent follow. Every event committed before registration is in the
 * database, every one published after it is held back, so the union is complete; ids never go
 * backwards on a stream, so nothing is sent twice.
 *
 * Slow clients [RT2]: frames are written only while the socket accepts them (`write` → false stops
 * until 'drain'); the rest wait in the client's own queue, bounded in events and bytes. Overflow
 * destroys that one stream; publishing never waits for any client.
 */
export class SseHub {
  private readonly clients = new Set<SseClient>();
  private readonly options: Required<Omit<SseHubOptions, 'logger' | 'observer'>> & { logger: Logger | null; observer: SseObserver | null };
  private readonly counters = { eventsDelivered: 0, overflowClosed: 0, resets: 0, peakBufferedBytes: 0, peakBufferedEvents: 0 };
  private nextClientId = 1;
  private latestId = 0;
  private pingTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(options: SseHubOptions) {
    this.options = {
      log: options.log,
      logger: options.logger ?? null,
      observer: options.observer ?? null,
      retryMs: options.retryMs ?? SSE_DEFAULTS.retryMs,
      pingIntervalMs: options.pingIntervalMs ?? SSE_DEFAULTS.pingIntervalMs,
      maxBufferedEvents: options.maxBufferedEvents ?? SSE_DEFAULTS.maxBufferedEvents,
      maxBufferedBytes: options.maxBufferedBytes ?? SSE_DEFAULTS.maxBufferedBytes,
      catchUpPageSize: options.catchUpPageSize ?? SSE_DEFAULTS.catchUpPageSize,
    };
  }

  /** Sets the starting position (the log's newest id when the tail starts) and starts pings. */
  start(position: number): void {
    this.latestId = Math.max(this.latestId, position);
    if (this.pingTimer) return;
    this.pingTimer = setInterval(() => this.ping(), this.options.pingIntervalMs);
    this.pingTimer.unref();
  }

  /** The newest event id handed to the hub: where a client without a resume point starts. */
  get position(): number {
    return this.latestId;
  }

  /** Hands committed events (in id order) to every matching client. Never blocks, never throws. */
  publish(events: readonly EventRecord[]): void {
    const frames = new Map<number, Frame>();
    const frameOf = (e: EventRecord): Frame => {
      let f = frames.get(e.id);
      if (!f) frames.set(e.id, (f = { id: e.id, text: sseEvent(e.id, e.type, e.payload) }));
      return f;
    };
    for (const e of events) {
      if (e.id <= this.latestId) continue;
      this.latestId = e.id;
      for (const client of this.clients) {
        if (client.matches(e)) client.offerLive(frameOf(e));
      }
    }
  }

  /**
   * Opens a stream on `sink`: `retry:` first, then (with a resume point) the catch-up from the log,
   * then live events. Resolves when the stream is live (or closed); rejects if the log cannot be
   * read, after closing the stream (the client retries).
   */
  async subscribe(sink: SseSink, options: SubscribeOptions = {}): Promise<void> {
    if (sink.destroyed) return;
    if (this.closed) {
      sink.end();
      return;
    }
    const resumeAfter = options.resumeAfter ?? null;
    const client = new SseClient(this.nextClientId++, sink, options.conversationId ?? null, this);
    this.clients.add(client);
    this.options.observer?.clientOpened();
    client.send({ id: null, text: sseRetry(this.options.retryMs) });
    if (resumeAfter === null) {
      client.goLive(this.latestId);
      return;
    }
    try {
      await this.catchUp(client, resumeAfter);
    } catch (err) {
      this.options.logger?.warn({ err }, 'sse catch-up failed; closing the stream');
      client.close('destroy');
      throw err;
    }
  }

  /** Open streams' buffers and positions. */
  clientStats(): SseClientStats[] {
    return [...this.clients].map((c) => c.stats());
  }

  stats(): SseHubStats {
    return { clients: this.clients.size, position: this.latestId, ...this.counters };
  }

  /** Ends every stream (graceful shutdown): flushed ones end cleanly, stuck ones are cut after a grace period. */
  async closeAll(): Promise<void> {
    this.closed = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    await Promise.all([...this.clients].map((c) => c.close('end')));
  }

  private async catchUp(client: SseClient, resumeAfter: number): Promise<void> {
    const { log, catchUpPageSize } = this.options;
    if (resumeAfter > this.latestId && resumeAfter > (await log.latestId())) {
      return this.reset(client, 'unknown_position', `event ${resumeAfter} is not in this event log`);
    }
    let cursor = resumeAfter;
    // Bounded by the log: the cursor only moves forward.
    for (;;) {
      if (client.isClosed) return;
      const rows = await log.readAfter(cursor, catchUpPageSize, client.conversationId);
      // Retention deletes a prefix of the log; if it reached past the cursor, something after it is gone.
      const oldest = await log.oldestId();
      if (oldest !== null && oldest > cursor + 1) {
        return this.reset(client, 'expired', `events after ${cursor} are no longer retained; reload`);
      }
      if (rows.length > 0) await log.durable(rows[rows.length - 1]!.id);
      if (client.isClosed) return;
      for (const e of rows) client.send({ id: e.id, text: sseEvent(e.id, e.type, e.payload) });
      if (rows.length < catchUpPageSize) break;
      cursor = rows[rows.length - 1]!.id;
      await client.drained();
    }
    client.goLive(null);
  }

  private reset(client: SseClient, reason: ResetReason, message: string): void {
    this.counters.resets++;
    const position = Math.max(this.latestId, client.lastEventId);
    client.send({ id: position, text: sseEvent(position, 'reset', JSON.stringify({ reason, message, last_event_id: position })) });
    client.goLive(position);
  }

  private ping(): void {
    const frame = { id: null, text: sseComment('ping') };
    for (const client of this.clients) client.sendIfIdle(frame);
  }

  /** @internal client → hub bookkeeping */
  recordDelivered(count: number): void {
    this.counters.eventsDelivered += count;
    this.options.observer?.eventsDelivered(count);
  }

  /** @internal */
  recordPeak(events: number, bytes: number): void {
    if (events > this.counters.peakBufferedEvents) this.counters.peakBufferedEvents = events;
    if (bytes > this.counters.peakBufferedBytes) this.counters.peakBufferedBytes = bytes;
  }

  /** @internal */
  overflowed(client: SseClient): void {
    this.counters.overflowClosed++;
    this.options.logger?.info({ client: client.id, conversationId: client.conversationId }, 'sse client buffer overflowed; stream closed');
  }

  /** @internal */
  removed(client: SseClient): void {
    if (this.clients.delete(client)) this.options.observer?.clientClosed();
  }

  /** @internal */
  get limits(): { maxBufferedEvents: number; maxBufferedBytes: number } {
    return this.options;
  }
}

/** One stream. Frames are queued, then written while the socket accepts them. */
class SseClient {
  private readonly queue: Frame[] = [];
  private head = 0;
  private queuedBytes = 0;
  /** Live events held back while catching up. */
  private heldBack: Frame[] | null = [];
  private heldBackBytes = 0;
  private waitingForDrain = false;
  private lastSentId = 0;
  private closed = false;
  private drainWaiters: (() => void)[] = [];
  private peakEvents = 0;
  private peakBytes = 0;

  constructor(
    readonly id: number,
    private readonly sink: SseSink,
    readonly conversationId: string | null,
    private readonly hub: SseHub,
  ) {
    sink.once('close', () => this.dispose());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The newest event id queued on this stream. */
  get lastEventId(): number {
    return this.lastSentId;
  }

  matches(e: EventRecord): boolean {
    return this.conversationId === null || e.conversation_id === this.conversationId;
  }

  /** A live event: held back during catch-up, else queued; ids at or below the last sent are dropped. */
  offerLive(frame: Frame): void {
    if (this.closed) return;
    if (this.heldBack) {
      this.heldBack.push(frame);
      this.heldBackBytes += frame.text.length;
      this.checkBounds();
      return;
    }
    if (frame.id !== null && frame.id <= this.lastSentId) return;
    this.send(frame);
  }

  /** Ends the catch-up: from here live events flow. `position` (no resume point, or reset) skips everything up to it. */
  goLive(position: number | null): void {
    if (position !== null) this.lastSentId = Math.max(this.lastSentId, position);
    const held = this.heldBack ?? [];
    this.heldBack = null;
    this.heldBackBytes = 0;
    for (const frame of held) this.offerLive(frame);
  }

  send(frame: Frame): void {
    if (this.closed) return;
    if (frame.id !== null) this.lastSentId = Math.max(this.lastSentId, frame.id);
    this.queue.push(frame);
    this.queuedBytes += frame.text.length;
    if (this.checkBounds()) this.flush();
  }

  /** Pings only an idle stream: a busy one is not idle for any proxy. */
  sendIfIdle(frame: Frame): void {
    if (!this.closed && !this.waitingForDrain && this.head === this.queue.length) this.send(frame);
  }

  /** Resolves once everything queued has been accepted by the socket, or the stream closed. */
  drained(): Promise<void> {
    if (this.closed || (!this.waitingForDrain && this.head === this.queue.length)) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** 'end' flushes then closes (cut after a grace period); 'destroy' cuts at once. */
  close(how: 'end' | 'destroy'): Promise<void> {
    if (this.closed) return Promise.resolve();
    const stuck = this.waitingForDrain || this.head < this.queue.length;
    this.dispose();
    if (how === 'destroy' || stuck) {
      this.sink.destroy();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.sink.destroy();
        resolve();
      }, CLOSE_GRACE_MS);
      timer.unref();
      this.sink.end(() => {
        clearTimeout(timer);
        this.sink.destroy();
        resolve();
      });
    });
  }

  stats(): SseClientStats {
    return {
      id: this.id,
      conversationId: this.conversationId,
      live: this.heldBack === null,
      bufferedEvents: this.bufferedEvents(),
      bufferedBytes: this.queuedBytes + this.heldBackBytes + this.sink.writableLength,
      peakBufferedEvents: this.peakEvents,
      peakBufferedBytes: this.peakBytes,
      lastEventId: this.lastSentId,
    };
  }

  private bufferedEvents(): number {
    return this.queue.length - this.head + (this.heldBack?.length ?? 0);
  }

  /**
   * False (and the stream destroyed) when the queue is over its bounds [RT2]. The peaks recorded
   * include the frame that overflowed and what the socket itself holds (at most its high-water
   * mark plus one frame, since nothing is written after `write` returned false).
   */
  private checkBounds(): boolean {
    const events = this.bufferedEvents();
    const bytes = this.queuedBytes + this.heldBackBytes;
    const held = bytes + this.sink.writableLength;
    if (events > this.peakEvents) this.peakEvents = events;
    if (held > this.peakBytes) this.peakBytes = held;
    this.hub.recordPeak(events, held);
    const { maxBufferedEvents, maxBufferedBytes } = this.hub.limits;
    if (events > maxBufferedEvents || bytes > maxBufferedBytes) {
      this.hub.overflowed(this);
      void this.close('destroy');
      return false;
    }
    return true;
  }

  private flush(): void {
    let delivered = 0;
    while (!this.waitingForDrain && !this.closed && this.head < this.queue.length) {
      const frame = this.queue[this.head++]!;
      this.queuedBytes -= frame.text.length;
      if (frame.id !== null) delivered++;
      if (!this.sink.write(frame.text)) {
        this.waitingForDrain = true;
        this.sink.once('drain', () => {
          this.waitingForDrain = false;
          this.flush();
        });
      }
    }
    if (delivered > 0) this.hub.recordDelivered(delivered);
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (!this.waitingForDrain && this.head === this.queue.length) this.releaseDrainWaiters();
  }

  private dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.head = 0;
    this.queuedBytes = 0;
    this.heldBack = null;
    this.heldBackBytes = 0;
    this.hub.removed(this);
    this.releaseDrainWaiters();
  }

  private releaseDrainWaiters(): void {
    for (const fn of this.drainWaiters.splice(0)) fn();
  }
}
