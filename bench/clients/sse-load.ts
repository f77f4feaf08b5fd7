import { get, type ClientRequest, type IncomingMessage } from 'node:http';

/**
 * A load process holding many SSE streams (forked by the bench with an IPC channel). Commands:
 * - `connect` { url, headers, count, batch, timeoutMs, countOnly? }: opens `count` streams, `batch` at
 *   a time (each batch waits for its response headers), answers `connected`.
 * - `collect`: answers with the receive times of every `new_message`, by message id (monotonic
 *   milliseconds, the same clock as the sender's), and counters.
 * - `close`: destroys every stream and exits.
 * A stream records the time a chunk arrived, then scans it; frames are split on blank lines.
 */

interface Stream {
  req: ClientRequest;
  res: IncomingMessage | null;
  buffer: string;
}

const streams: Stream[] = [];
const received = new Map<string, number[]>();
const counters = { events: 0, bytes: 0, closedByServer: 0, failed: 0, status: {} as Record<string, number> };
let closing = false;
/** Soak mode: count events, keep no receive times (hours of them would not fit). */
let countOnly = false;

function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

const MESSAGE_ID = '"message_id":"';

function scan(stream: Stream, chunk: string, at: number): void {
  stream.buffer += chunk;
  // Frames end with a blank line; keep the unfinished tail for the next chunk.
  for (let guard = 0; guard < 100_000; guard++) {
    const end = stream.buffer.indexOf('\n\n');
    if (end < 0) break;
    const frame = stream.buffer.slice(0, end);
    stream.buffer = stream.buffer.slice(end + 2);
    if (!frame.includes('event: new_message')) continue;
    counters.events++;
    if (countOnly) continue;
    const start = frame.indexOf(MESSAGE_ID);
    if (start < 0) continue;
    const from = start + MESSAGE_ID.length;
    const id = frame.slice(from, frame.indexOf('"', from));
    let times = received.get(id);
    if (!times) received.set(id, (times = []));
    times.push(at);
  }
}

function open(url: string, headers: Record<string, string>, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const stream: Stream = { req: null as unknown as ClientRequest, res: null, buffer: '' };
    let settled = false;
    const settle = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!ok) counters.failed++;
      resolve(ok);
    };
    const timer = setTimeout(() => {
      stream.req.destroy();
      settle(false);
    }, timeoutMs);
    stream.req = get(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
      counters.status[String(res.statusCode)] = (counters.status[String(res.statusCode)] ?? 0) + 1;
      if (res.statusCode !== 200) {
        res.resume();
        settle(false);
        return;
      }
      stream.res = res;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        counters.bytes += chunk.length;
        scan(stream, chunk, nowMs());
      });
      res.on('close', () => {
        if (!closing) counters.closedByServer++;
      });
      streams.push(stream);
      settle(true);
    });
    stream.req.on('error', () => settle(false));
  });
}

async function connect(message: {
  url: string;
  headers: Record<string, string>;
  count: number;
  batch: number;
  timeoutMs: number;
  countOnly?: boolean;
}) {
  countOnly = message.countOnly === true;
  const started = nowMs();
  let connected = 0;
  for (let i = 0; i < message.count; i += message.batch) {
    const size = Math.min(message.batch, message.count - i);
    const results = await Promise.all(Array.from({ length: size }, () => open(message.url, message.headers, message.timeoutMs)));
    connected += results.filter(Boolean).length;
  }
  process.send!({ type: 'connected', connected, failed: counters.failed, status: counters.status, ms: nowMs() - started });
}

process.on('message', (message: { type: string } & Record<string, unknown>) => {
  if (message.type === 'connect') {
    void connect(message as unknown as Parameters<typeof connect>[0]);
  } else if (message.type === 'collect') {
    process.send!({ type: 'collected', received, counters: { ...counters, open: streams.length - counters.closedByServer } });
  } else if (message.type === 'close') {
    closing = true;
    for (const s of streams) s.req.destroy();
    process.exit(0);
  }
});
process.send!({ type: 'ready' });
