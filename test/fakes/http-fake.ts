import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
}

export type FakeHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => unknown;

/** A real node:http server on 127.0.0.1 and a free port that records every request it gets. */
export class HttpFake {
  readonly requests: RecordedRequest[] = [];

  private constructor(
    private readonly server: Server,
    readonly baseUrl: string,
  ) {}

  static async start(handler: FakeHandler): Promise<HttpFake> {
    let fake: HttpFake | null = null;
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', fake!.baseUrl);
      fake!.requests.push({ method: req.method ?? 'GET', url, headers: req.headers });
      Promise.resolve(handler(req, res, url)).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    fake = new HttpFake(server, `http://127.0.0.1:${port}`);
    return fake;
  }

  /** Requests whose path starts with `prefix`. */
  requestsTo(prefix: string): RecordedRequest[] {
    return this.requests.filter((r) => r.url.pathname.startsWith(prefix));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A URL on 127.0.0.1 where nothing listens (the port was free a moment ago): every connection is refused. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Sends bytes with a Content-Length, or chunked (no length) in 1 KB pieces. */
export function sendBytes(res: ServerResponse, bytes: Buffer, contentType: string, chunked = false): void {
  if (!chunked) {
    res.writeHead(200, { 'content-type': contentType, 'content-length': bytes.length });
    res.end(bytes);
    return;
  }
  res.writeHead(200, { 'content-type': contentType });
  for (let at = 0; at < bytes.length; at += 1024) res.write(bytes.subarray(at, at + 1024));
  res.end();
}

/** Per-key queues of failure statuses: the next requests for a key answer these, in order. */
export class FailureScript {
  private readonly queues = new Map<string, number[]>();

  push(key: string, ...statuses: number[]): void {
    this.queues.set(key, [...(this.queues.get(key) ?? []), ...statuses]);
  }

  next(key: string): number | undefined {
    return this.queues.get(key)?.shift();
  }
}
