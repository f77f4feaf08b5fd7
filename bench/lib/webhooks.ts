import { request as httpRequest, Agent } from 'node:http';
import autocannon from 'autocannon';
import { metaTextPayload, signMeta } from '../../test/support/app.js';

/** One signed Meta text webhook with a unique id (the real wire format, signed like Meta signs). */
export function signedWebhook(id: string, from: string): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify(metaTextPayload(id, from, `Hello, I need help with order ${id.slice(-6)} please`));
  return { body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMeta(body) } };
}

export interface IngestLoadOptions {
  url: string;
  connections: number;
  warmupS: number;
  durationS: number;
  /** Sender of the n-th webhook (one `from` = one conversation). */
  from: (n: number) => string;
  /** Prefix making this run's message ids unique. */
  idPrefix: string;
  /** autocannon's per-request timeout, seconds. */
  timeoutS?: number;
}

export interface IngestLoadResult {
  /** 2xx answers per second in the measured window. */
  rate: number;
  /** autocannon latency percentiles of the measured window (whole milliseconds). */
  p50Ms: number;
  p99Ms: number;
  /** Measured window only. */
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationS: number;
  /** Ids answered 200, warm-up included: the set that must be durable. */
  acceptedIds: Set<string>;
  /** Requests written, warm-up included (some may have been in flight when the load stopped). */
  sent: number;
}

/**
 * Signed webhooks with unique ids from `connections` keep-alive connections, a warm-up and then a
 * fixed measured duration (autocannon in this process; the server is another process). Each
 * connection gets its own request object, so every request is built (and signed) afresh by
 * `setupRequest`, and `onResponse` knows which id its answer belongs to.
 */
export async function runIngestLoad(options: IngestLoadOptions): Promise<IngestLoadResult> {
  const acceptedIds = new Set<string>();
  let sent = 0;
  const once = async (durationS: number): Promise<autocannon.Result> => {
    const setupClient = (client: autocannon.Client) => {
      client.setRequests([
        {
          method: 'POST',
          path: '/webhooks/meta',
          setupRequest: (req: autocannon.Request, context: Record<string, unknown>) => {
            const n = sent++;
            const id = `wamid.${options.idPrefix}${n.toString(36).padStart(8, '0')}`;
            context.id = id;
            const { body, headers } = signedWebhook(id, options.from(n));
            return { ...req, method: 'POST', path: '/webhooks/meta', body, headers };
          },
          onResponse: (status: number, _body: string, context: Record<string, unknown>) => {
            if (status === 200 && typeof context.id === 'string') acceptedIds.add(context.id);
          },
        },
      ] as autocannon.Request[]);
    };
    return autocannon({
      url: options.url,
      method: 'POST',
      connections: options.connections,
      duration: durationS,
      timeout: options.timeoutS ?? 30,
      setupClient,
    });
  };
  if (options.warmupS > 0) await once(options.warmupS);
  const result = await once(options.durationS);
  const ok = result['2xx'];
  return {
    rate: ok / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationS: result.duration,
    acceptedIds,
    sent,
  };
}

const senderAgent = new Agent({ keepAlive: true, maxSockets: 64 });

/** POSTs one signed webhook; resolves with the status and the monotonic times (ms) of send and answer. */
export function postWebhook(baseUrl: string, id: string, from: string): Promise<{ status: number; sentAt: number; answeredAt: number }> {
  const { body, headers } = signedWebhook(id, from);
  const url = new URL('/webhooks/meta', baseUrl);
  return new Promise((resolve) => {
    const sentAt = nowMs();
    const req = httpRequest(
      url,
      { method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body) }, agent: senderAgent, timeout: 30_000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, sentAt, answeredAt: nowMs() }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, sentAt, answeredAt: nowMs() }));
    req.end(body);
  });
}

/** Monotonic milliseconds (CLOCK_MONOTONIC: the same clock in every process of this machine). */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
