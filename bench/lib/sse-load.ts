import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLIENT = fileURLToPath(new URL('../clients/sse-load.ts', import.meta.url));

export interface ConnectResult {
  connected: number;
  failed: number;
  /** Wall time of the slowest process to open its share. */
  ms: number;
  status: Record<string, number>;
}

export interface Collected {
  /** message_id → monotonic receive times (ms), one per stream that received it. */
  received: Map<string, number[]>;
  events: number;
  closedByServer: number;
  open: number;
}

/** SSE streams held by a few load processes (never by the server's process). */
export class SseLoad {
  private constructor(private readonly children: ChildProcess[]) {}

  static async start(processes: number): Promise<SseLoad> {
    const children = Array.from({ length: processes }, () =>
      fork(CLIENT, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
    );
    await Promise.all(children.map((c) => reply(c, 'ready', 30_000)));
    return new SseLoad(children);
  }

  /** Opens `total` streams spread over the processes. */
  async connect(
    url: string,
    headers: Record<string, string>,
    total: number,
    options: { batch: number; timeoutMs: number; deadlineMs: number; countOnly?: boolean },
  ): Promise<ConnectResult> {
    const share = (i: number) => Math.floor(total / this.children.length) + (i < total % this.children.length ? 1 : 0);
    const results = await Promise.all(
      this.children.map((c, i) => {
        const answer = reply<ConnectResult>(c, 'connected', options.deadlineMs);
        c.send({
          type: 'connect',
          url,
          headers,
          count: share(i),
          batch: options.batch,
          timeoutMs: options.timeoutMs,
          countOnly: options.countOnly === true,
        });
        return answer;
      }),
    );
    const status: Record<string, number> = {};
    for (const r of results) for (const [k, v] of Object.entries(r.status)) status[k] = (status[k] ?? 0) + v;
    return {
      connected: results.reduce((s, r) => s + r.connected, 0),
      failed: results.reduce((s, r) => s + r.failed, 0),
      ms: Math.max(...results.map((r) => r.ms)),
      status,
    };
  }

  async collect(): Promise<Collected> {
    const parts = await Promise.all(
      this.children.map((c) => {
        const answer = reply<{ received: Map<string, number[]>; counters: { events: number; closedByServer: number; open: number } }>(
          c,
          'collected',
          60_000,
        );
        c.send({ type: 'collect' });
        return answer;
      }),
    );
    const received = new Map<string, number[]>();
    for (const part of parts) {
      for (const [id, times] of part.received) {
        const list = received.get(id);
        if (list) list.push(...times);
        else received.set(id, [...times]);
      }
    }
    return {
      received,
      events: parts.reduce((s, p) => s + p.counters.events, 0),
      closedByServer: parts.reduce((s, p) => s + p.counters.closedByServer, 0),
      open: parts.reduce((s, p) => s + p.counters.open, 0),
    };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
            c.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            c.send({ type: 'close' });
          }),
      ),
    );
  }
}

function reply<T>(child: ChildProcess, type: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`sse load process: no ${type} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (m: unknown) => {
      if (m && typeof m === 'object' && (m as { type?: string }).type === type) {
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(m as T);
      }
    };
    child.on('message', onMessage);
  });
}
