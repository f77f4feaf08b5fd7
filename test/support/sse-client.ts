import { request, type IncomingMessage, type ClientRequest } from 'node:http';
import { loginAs } from '../api/api-client.js';
import { TEST_SECRETS } from './app.js';

/** One blank-line-terminated block of an event stream, as received. */
export interface SseFrame {
  readonly id: string | null;
  /** The `event:` field; null for comment-only or retry-only blocks. */
  readonly event: string | null;
  readonly data: string;
  readonly retry: number | null;
  readonly comments: readonly string[];
  /** performance.now() when the block was complete. */
  readonly receivedAt: number;
}

export interface SseOpenOptions {
  /** Session cookie (see adminCookie). */
  cookie?: string;
  /** Sent as the Last-Event-ID header. */
  lastEventId?: number | string;
  /** Query parameters (conversation_id, last_event_id). */
  query?: Record<string, string>;
  /** Do not read the body at all until resume(): the socket's buffers fill up, like a stalled client. */
  paused?: boolean;
  /** Keep every frame in `frames` (default true); false keeps memory flat in long runs. */
  keepFrames?: boolean;
  onFrame?: (frame: SseFrame) => void;
}

/** Logs the test admin in and returns the session cookie for SSE requests. */
export async function adminCookie(baseUrl: string): Promise<string> {
  const client = await loginAs(baseUrl, TEST_SECRETS.ADMIN_EMAIL, TEST_SECRETS.ADMIN_PASSWORD);
  return client.credentials.cookie!;
}

/**
 * A test SSE client on node:http (not EventSource): it exposes every frame with its arrival time,
 * can stall on purpose, and parses the stream per the WHATWG rules (CRLF/CR/LF line ends, `:`
 * comments, one optional space after the colon, multi-line data).
 */
export class SseClient {
  readonly frames: SseFrame[] = [];
  /** Frames with an `event:` field, in arrival order. */
  readonly events: SseFrame[] = [];
  /** The last `id:` seen, as a browser would send it back. */
  lastEventId: string | null = null;
  eventCount = 0;
  /** Resolves when the server ends or cuts the stream. */
  readonly ended: Promise<void>;
  isEnded = false;

  private buffer = '';
  private block: { id: string | null; event: string | null; data: string[]; retry: number | null; comments: string[] } =
    SseClient.emptyBlock();
  private readonly waiters = new Set<() => void>();
  private readonly keepFrames: boolean;
  private markEnded!: () => void;

  private constructor(
    readonly status: number,
    readonly response: IncomingMessage,
    private readonly req: ClientRequest,
    private readonly options: SseOpenOptions,
  ) {
    this.keepFrames = options.keepFrames ?? true;
    this.ended = new Promise((resolve) => (this.markEnded = resolve));
    response.setEncoding('utf8');
    const end = () => {
      if (this.isEnded) return;
      this.isEnded = true;
      this.markEnded();
      this.notify();
    };
    response.on('end', end);
    response.on('close', end);
    response.on('error', end);
    req.on('error', end);
    if (options.paused) response.pause();
    else this.startReading();
  }

  /** Opens a stream; resolves once the response headers arrived (any status). */
  static open(baseUrl: string, options: SseOpenOptions = {}): Promise<SseClient> {
    const url = new URL('/api/events', baseUrl);
    for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (options.cookie) headers.cookie = options.cookie;
    if (options.lastEventId !== undefined) headers['last-event-id'] = String(options.lastEventId);
    return new Promise((resolve, reject) => {
      const req = request(url, { headers, agent: false });
      req.once('response', (res) => resolve(new SseClient(res.statusCode ?? 0, res, req, options)));
      req.once('error', reject);
      req.end();
    });
  }

  get headers(): IncomingMessage['headers'] {
    return this.response.headers;
  }

  /** Starts (or continues) reading a paused stream. */
  resume(): void {
    this.startReading();
  }

  /** Client-side disconnect. */
  close(): void {
    this.req.destroy();
    this.response.destroy();
  }

  /** Waits until `predicate` holds (checked on every frame and every 25 ms), or fails after `timeoutMs` naming `what`. */
  waitFor(predicate: () => boolean, timeoutMs: number, what = 'condition'): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (events: ${this.eventCount}, ended: ${this.isEnded})`));
      }, timeoutMs);
      // Frames re-check at once; the poll covers predicates about anything else (server state).
      const poll = setInterval(check, 25);
      const cleanup = () => {
        clearTimeout(timer);
        clearInterval(poll);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  waitForEvents(count: number, timeoutMs: number): Promise<void> {
    return this.waitFor(() => this.eventCount >= count, timeoutMs, `${count} events`);
  }

  private reading = false;

  private startReading(): void {
    if (!this.reading) {
      this.reading = true;
      this.response.on('data', (chunk: string) => this.feed(chunk));
    }
    this.response.resume();
  }

  private static emptyBlock() {
    return {
      id: null as string | null,
      event: null as string | null,
      data: [] as string[],
      retry: null as number | null,
      comments: [] as string[],
    };
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    // Bounded by the chunk: each pass consumes one line.
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (!m) break;
      // A lone CR at the end may be the first half of CRLF: wait for more.
      if (m[0] === '\r' && m.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      this.line(line);
    }
    this.notify();
  }

  private line(line: string): void {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) {
      this.block.comments.push(line.slice(1).replace(/^ /, ''));
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') this.block.id = value;
    else if (field === 'event') this.block.event = value;
    else if (field === 'data') this.block.data.push(value);
    else if (field === 'retry' && /^\d+$/.test(value)) this.block.retry = Number(value);
  }

  private dispatch(): void {
    const b = this.block;
    this.block = SseClient.emptyBlock();
    const frame: SseFrame = {
      id: b.id,
      event: b.event,
      data: b.data.join('\n'),
      retry: b.retry,
      comments: b.comments,
      receivedAt: performance.now(),
    };
    if (frame.id !== null) this.lastEventId = frame.id;
    if (frame.event !== null) this.eventCount++;
    if (this.keepFrames) {
      this.frames.push(frame);
      if (frame.event !== null) this.events.push(frame);
    }
    this.options.onFrame?.(frame);
  }

  private notify(): void {
    for (const fn of [...this.waiters]) fn();
  }
}
