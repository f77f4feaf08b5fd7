import { Agent, request as httpRequest } from 'node:http';
import { TEST_SECRETS } from '../../test/support/app.js';
import { summarize, type Summary } from './stats.js';

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** Logs in as the bootstrap admin (ADMIN_EMAIL/ADMIN_PASSWORD) and returns the session cookie. */
export async function loginCookie(baseUrl: string): Promise<string> {
  const response = await fetch(`${baseUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: TEST_SECRETS.ADMIN_EMAIL, password: TEST_SECRETS.ADMIN_PASSWORD }),
  });
  const cookie = response.headers.get('set-cookie');
  await response.arrayBuffer();
  if (response.status !== 200 || !cookie) throw new Error(`login failed: ${response.status}`);
  return cookie.split(';')[0]!;
}

export interface Sampled extends Summary {
  /** Answers that were not 200. */
  failures: number;
  /** Bytes of the last body, to show what one request returns. */
  bytes: number;
}

/**
 * Sequential GETs on one keep-alive connection: latency as one client sees it, without queueing
 * behind the load generator's own requests. Stops after `count` requests or `maxMs`, whichever
 * comes first (a few warm-up requests are not counted).
 */
export async function sampleGet(
  baseUrl: string,
  path: string,
  headers: Record<string, string>,
  count: number,
  maxMs: number,
): Promise<Sampled> {
  const warmup = Math.min(5, count);
  for (let i = 0; i < warmup; i++) await getOnce(baseUrl, path, headers);
  const latencies: number[] = [];
  let failures = 0;
  let bytes = 0;
  const deadline = performance.now() + maxMs;
  for (let i = 0; i < count && performance.now() < deadline; i++) {
    const r = await getOnce(baseUrl, path, headers);
    latencies.push(r.ms);
    bytes = r.bytes;
    if (r.status !== 200) failures++;
  }
  return { ...summarize(latencies), failures, bytes };
}

function getOnce(baseUrl: string, path: string, headers: Record<string, string>): Promise<{ status: number; ms: number; bytes: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const req = httpRequest(new URL(path, baseUrl), { headers, agent, timeout: 60_000 }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, bytes }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, ms: performance.now() - started, bytes: 0 }));
    req.end();
  });
}
