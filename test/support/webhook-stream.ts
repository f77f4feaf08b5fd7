import { signMeta } from './app.js';

/** One webhook as sent: the message ids it carries and its exact body. */
export interface WebhookItem {
  readonly ids: readonly string[];
  readonly body: string;
}

/** An HTTP status, or what happened instead of one. */
export type Outcome = number | 'timeout' | 'network_error';

export interface Delivery {
  readonly item: WebhookItem;
  readonly outcome: Outcome;
  /** Date.now() when the request was started and when its answer (or failure) arrived. */
  readonly startedAt: number;
  readonly endedAt: number;
}

/** POSTs a signed Meta webhook and never waits longer than `timeoutMs` for the whole answer. */
export async function deliverMeta(baseUrl: string, item: WebhookItem, timeoutMs = 10_000): Promise<Delivery> {
  const startedAt = Date.now();
  let outcome: Outcome;
  try {
    const res = await fetch(`${baseUrl}/webhooks/meta`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMeta(item.body) },
      body: item.body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer();
    outcome = res.status;
  } catch (err) {
    const name = (err as Error).name;
    outcome = name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network_error';
  }
  return { item, outcome, startedAt, endedAt: Date.now() };
}

export interface StreamOptions {
  readonly baseUrl: string;
  /** Requests in flight at once. */
  readonly workers: number;
  /** Pause of each worker between its requests. */
  readonly paceMs: number;
  /** Hard bounds: the stream ends at whichever comes first. */
  readonly maxRequests: number;
  readonly maxMs: number;
  /** The n-th webhook of the stream (0-based); null ends the stream. */
  readonly next: (n: number) => WebhookItem | null;
  /** Ends the stream once it holds true for the deliveries so far. */
  readonly until?: (deliveries: readonly Delivery[]) => boolean;
  readonly timeoutMs?: number;
}

/**
 * A steady stream of webhooks from a few concurrent senders, as a provider would send them. Runs
 * until stop() or a bound; every delivery is recorded with its timing.
 */
export class WebhookStream {
  readonly deliveries: Delivery[] = [];
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(options: StreamOptions) {
    const deadline = Date.now() + options.maxMs;
    let n = 0;
    const worker = async () => {
      while (!this.stopped && n < options.maxRequests && Date.now() < deadline && !options.until?.(this.deliveries)) {
        const item = options.next(n++);
        if (!item) break;
        this.deliveries.push(await deliverMeta(options.baseUrl, item, options.timeoutMs));
        if (options.paceMs > 0) await sleep(options.paceMs);
      }
    };
    this.done = Promise.all(Array.from({ length: options.workers }, worker)).then(() => {});
  }

  /** Resolves with the first delivery started at or after `since` that matches, or null at the deadline. */
  async waitFor(match: (d: Delivery) => boolean, since: number, maxMs: number): Promise<Delivery | null> {
    const deadline = Date.now() + maxMs;
    for (;;) {
      const hit = this.deliveries.find((d) => d.startedAt >= since && match(d));
      if (hit) return hit;
      if (Date.now() > deadline) return null;
      await sleep(20);
    }
  }

  /** Resolves when the stream has ended by itself (a bound, `until`, or `next` returning null). */
  finished(): Promise<void> {
    return this.done;
  }

  stop(): Promise<void> {
    this.stopped = true;
    return this.done;
  }
}

/** Counts deliveries by outcome, e.g. { 200: 812, 503: 140 }. */
export function countOutcomes(deliveries: readonly Delivery[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const d of deliveries) counts[String(d.outcome)] = (counts[String(d.outcome)] ?? 0) + 1;
  return counts;
}

/**
 * Provider-style redelivery: every item that never got a 200 is sent again (`workers` at a time),
 * round after round, until all are acknowledged or the bounds are reached. Returns the items still
 * unacknowledged.
 */
export async function redeliverUnacknowledged(
  baseUrl: string,
  deliveries: readonly Delivery[],
  bounds: { rounds: number; maxMs: number; workers?: number },
): Promise<{ resent: number; unacknowledged: WebhookItem[] }> {
  const acked = new Set(deliveries.filter((d) => d.outcome === 200).map((d) => d.item));
  let pending = [...new Set(deliveries.map((d) => d.item))].filter((item) => !acked.has(item));
  const deadline = Date.now() + bounds.maxMs;
  let resent = 0;
  for (let round = 0; round < bounds.rounds && pending.length > 0 && Date.now() < deadline; round++) {
    const queue = [...pending];
    const next: WebhookItem[] = [];
    const worker = async () => {
      for (let item = queue.shift(); item && Date.now() < deadline; item = queue.shift()) {
        resent++;
        if ((await deliverMeta(baseUrl, item)).outcome !== 200) next.push(item);
      }
    };
    await Promise.all(Array.from({ length: bounds.workers ?? 4 }, worker));
    pending = [...next, ...queue];
    if (pending.length > 0) await sleep(200);
  }
  return { resent, unacknowledged: pending };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
