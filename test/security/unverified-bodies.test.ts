import { mkdtempSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startChildServer, type ChildServer } from '../support/child-server.js';
import { sleep } from '../media/support.js';

/**
 * Issue 17: without credentials nobody may make the server hold memory or connections. A webhook
 * body whose signature can only be checked at its end is read at most WEBHOOK_MAX_UNVERIFIED_BODIES
 * at a time (the rest get 503 unread); a request must arrive within HTTP_REQUEST_TIMEOUT_MS. The
 * server runs as its own process so its RSS can be read.
 */
const BODY_BYTES = Math.floor(2.9 * 1024 * 1024);
const CONNECTIONS = 200;

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))!;
  return Number(/(\d+)/.exec(line)![1]) / 1024;
}

function openPost(port: number, path: string, headers: Record<string, string>, contentLength: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      const head = [
        `POST ${path} HTTP/1.1`,
        'Host: 127.0.0.1',
        'Content-Type: application/json',
        `Content-Length: ${contentLength}`,
        ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
        '',
        '',
      ].join('\r\n');
      socket.write(head);
      resolve(socket);
    });
    socket.on('error', () => {});
    socket.once('error', reject);
  });
}

let server: ChildServer | null = null;
const sockets: Socket[] = [];
afterEach(async () => {
  sockets.splice(0).forEach((s) => s.destroy());
  await server?.kill();
  server = null;
});

function startServer(env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'sb-sec-'));
  return startChildServer({ DATA_DIR: dir, DATABASE_URL: `sqlite:${join(dir, 'sb.db')}`, LOG_LEVEL: 'silent', ...env });
}

describe('unauthenticated webhook bodies', () => {
  it(`[§4 limits] ${CONNECTIONS} unfinished ${(BODY_BYTES / 1024 / 1024).toFixed(1)} MB posts with a well-formed signature keep RSS bounded`, async () => {
    server = await startServer({ HTTP_REQUEST_TIMEOUT_MS: '120000', HTTP_HEADERS_TIMEOUT_MS: '60000' });
    const pid = server.process.pid!;
    await fetch(`${server.url}/healthz`);
    const before = rssMb(pid);
    const chunk = Buffer.alloc(BODY_BYTES - 1, 0x20);
    const answers: string[] = [];
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        const socket = await openPost(server!.port, '/webhooks/meta', { 'X-Hub-Signature-256': `sha256=${'ab'.repeat(32)}` }, BODY_BYTES);
        sockets.push(socket);
        socket.once('data', (d) => answers.push(d.toString('latin1').split('\r\n')[0] ?? ''));
        // Everything but the last byte: the server can never finish reading.
        socket.write(chunk);
      }),
    );
    let peak = before;
    for (let i = 0; i < 30; i++) {
      await sleep(200);
      peak = Math.max(peak, rssMb(pid));
    }
    const growth = peak - before;
    console.log(
      `[figure] RSS before ${before.toFixed(0)} MB, peak under ${CONNECTIONS} unfinished posts ${peak.toFixed(0)} MB (+${growth.toFixed(0)} MB)`,
    );
    // Unbounded, the bodies alone would be CONNECTIONS × 2.9 MB ≈ 580 MB.
    expect(growth).toBeLessThan(200);
    // The server still answers, and the refused posts were told why.
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const refused = answers.filter((a) => a.startsWith('HTTP/1.1 503')).length;
    console.log(`[figure] ${refused} of ${CONNECTIONS} posts were answered 503 before their body was read`);
    expect(refused).toBeGreaterThan(0);
  }, 60_000);

  it('[§4 limits] a body sent at 1 byte per second is cut off within HTTP_REQUEST_TIMEOUT_MS', async () => {
    server = await startServer({ HTTP_REQUEST_TIMEOUT_MS: '2000', HTTP_HEADERS_TIMEOUT_MS: '1000' });
    const started = Date.now();
    const socket = await openPost(server.port, '/webhooks/meta', { 'X-Hub-Signature-256': `sha256=${'cd'.repeat(32)}` }, 1000);
    sockets.push(socket);
    let answer = '';
    socket.on('data', (d) => (answer += d.toString('latin1')));
    const timer = setInterval(() => socket.writable && socket.write(' '), 1000);
    const closedAfter = await new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
    clearInterval(timer);
    console.log(
      `[figure] a 1 byte/s body was closed after ${closedAfter} ms (HTTP_REQUEST_TIMEOUT_MS=2000), answer: ${answer.split('\r\n')[0]}`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    // The timeout plus Node's check interval (a quarter of the headers timeout) and a margin for a busy machine.
    expect(closedAfter).toBeLessThan(8_000);
    // Still serving.
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  }, 30_000);

  it('[§4 limits] headers sent slowly are cut off within HTTP_HEADERS_TIMEOUT_MS', async () => {
    server = await startServer({ HTTP_REQUEST_TIMEOUT_MS: '3000', HTTP_HEADERS_TIMEOUT_MS: '1000' });
    const started = Date.now();
    const socket = await new Promise<Socket>((resolve) => {
      const s = connect(server!.port, '127.0.0.1', () => resolve(s));
      s.on('error', () => {});
    });
    sockets.push(socket);
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const timer = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 300);
    const closedAfter = await new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
    clearInterval(timer);
    console.log(`[figure] headers sent slowly were closed after ${closedAfter} ms (HTTP_HEADERS_TIMEOUT_MS=1000)`);
    expect(closedAfter).toBeLessThan(6_000);
  }, 30_000);

  it('[§4 limits] a wrong or missing signature, token or path secret is refused before the body is read', async () => {
    server = await startServer();
    for (const [path, headers] of [
      ['/webhooks/meta', {}],
      ['/webhooks/meta', { 'X-Hub-Signature-256': 'sha256=not-hex' }],
      ['/webhooks/montymobile', { 'X-Webhook-Token': 'wrong' }],
      ['/webhooks/qiscus/wrong-secret', {}],
    ] as const) {
      // A body announced at 2.9 MB of which nothing is sent: the answer must come anyway.
      const socket = await openPost(server.port, path, headers, BODY_BYTES);
      sockets.push(socket);
      const answer = await new Promise<string>((resolve) => {
        let text = '';
        socket.on('data', (d) => {
          text += d.toString('latin1');
          if (text.includes('\r\n\r\n')) resolve(text);
        });
      });
      expect(answer, path).toMatch(/^HTTP\/1\.1 401/);
      expect(answer).toContain('"code":"bad_signature"');
    }
  }, 30_000);

  it('[§4 limits] connections over HTTP_MAX_CONNECTIONS are closed at once; the server serves again when they go', async () => {
    server = await startServer({ HTTP_MAX_CONNECTIONS: '20' });
    const opened = await Promise.all(
      Array.from(
        { length: 40 },
        () =>
          new Promise<Socket>((resolve) => {
            const s = connect(server!.port, '127.0.0.1', () => resolve(s));
            s.on('error', () => {});
          }),
      ),
    );
    sockets.push(...opened);
    await sleep(500);
    const open = opened.filter((s) => !s.destroyed && !s.readableEnded);
    console.log(`[figure] ${open.length} of 40 idle connections stayed open with HTTP_MAX_CONNECTIONS=20`);
    expect(open.length).toBeLessThanOrEqual(20);
    expect(open.length).toBeGreaterThan(0);
    sockets.splice(0).forEach((s) => s.destroy());
    await sleep(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  }, 30_000);
});
