import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Store } from '../store/database.js';
import { countJobs, oldestOpenJobAt } from '../store/job.store.js';

/**
 * The process's Prometheus metrics, on their own Registry (never prom-client's global one, so
 * several servers in one process — tests — do not collide). Callers elsewhere:
 * - SSE: `sseClients.inc()` on connect and `.dec()` on close; `sseEventsDelivered.inc(n)` per written event.
 * - Workers: `jobFailures.inc({ kind })` for every failed job run (processRunnerOptions in
 *   src/app/job-runner.ts; the outbox's wait for an earlier message is not a failure).
 * - Webhooks: `recordWebhook` (webhooks.routes.ts).
 * - The AI worker (src/app/reply-with-ai.ts): `aiReplies` and `aiReplySeconds` per stored reply,
 *   `handovers` per hand-over, `responderErrors` per failed generation; `transcriptions` per outcome.
 * - Outbox: `outboxSends.inc({ provider, outcome })` and `outboxSendSeconds.observe({ provider }, s)` per
 *   provider call, `outboxFailures.inc({ code })` per message failed for good (src/app/deliver-outbox.ts, and
 *   webhooks.routes.ts for a failure reported by a status webhook).
 * `outbox_depth` and `outbox_oldest_pending_seconds` are read from the jobs table on every scrape.
 */
export interface Metrics {
  readonly registry: Registry;
  readonly webhooks: Counter<'provider' | 'outcome'>;
  readonly ingestSeconds: Histogram<'provider'>;
  readonly sseClients: Gauge;
  readonly sseEventsDelivered: Counter;
  readonly jobFailures: Counter<'kind'>;
  readonly outboxDepth: Gauge;
  readonly aiReplies: Counter<'responder'>;
  readonly aiReplySeconds: Histogram<'responder'>;
  readonly handovers: Counter<'reason'>;
  readonly responderErrors: Counter<'responder'>;
  readonly transcriptions: Counter<'outcome'>;
  readonly outboxOldestSeconds: Gauge;
  readonly outboxSends: Counter<'provider' | 'outcome'>;
  readonly outboxSendSeconds: Histogram<'provider'>;
  readonly outboxFailures: Counter<'code'>;
}

export function createMetrics(store: Pick<Store, 'reader'>): Metrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    webhooks: new Counter({
      name: 'switchboard_webhooks_total',
      help: 'Provider webhook requests by provider and outcome (accepted, unauthorized, rejected, too_large, not_configured, failed).',
      labelNames: ['provider', 'outcome'] as const,
      registers,
    }),
    ingestSeconds: new Histogram({
      name: 'switchboard_ingest_duration_seconds',
      help: 'Time from a webhook request to its committed 200, accepted webhooks only.',
      labelNames: ['provider'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    sseClients: new Gauge({ name: 'switchboard_sse_clients', help: 'Connected SSE clients.', registers }),
    sseEventsDelivered: new Counter({ name: 'switchboard_sse_events_delivered_total', help: 'Events written to SSE clients.', registers }),
    jobFailures: new Counter({
      name: 'switchboard_job_failures_total',
      help: 'Failed job attempts (retried or final) by job kind.',
      labelNames: ['kind'] as const,
      registers,
    }),
    outboxDepth: new Gauge({
      name: 'switchboard_outbox_depth',
      help: 'Outbound messages waiting to be sent (outbox.send jobs queued or running).',
      registers,
      async collect() {
        const [queued, running] = await Promise.all([
          countJobs(store.reader, 'outbox.send', 'queued'),
          countJobs(store.reader, 'outbox.send', 'running'),
        ]);
        this.set(queued + running);
      },
    }),
    aiReplies: new Counter({
      name: 'switchboard_ai_replies_total',
      help: 'AI replies stored, by responder (faq, openai).',
      labelNames: ['responder'] as const,
      registers,
    }),
    aiReplySeconds: new Histogram({
      name: 'switchboard_ai_reply_duration_seconds',
      help: 'Time a responder took to produce a stored reply (the generation alone, not the debounce).',
      labelNames: ['responder'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60],
      registers,
    }),
    handovers: new Counter({
      name: 'switchboard_handovers_total',
      help: 'Conversations handed to an operator by the AI worker, by reason (user_requested, ai_requested, sentiment, ai_failed).',
      labelNames: ['reason'] as const,
      registers,
    }),
    responderErrors: new Counter({
      name: 'switchboard_ai_responder_errors_total',
      help: 'Failed generations (network, timeout, unusable answer), by responder; each is retried until AI_MAX_ATTEMPTS.',
      labelNames: ['responder'] as const,
      registers,
    }),
    transcriptions: new Counter({
      name: 'switchboard_transcriptions_total',
      help: 'Voice-note transcriptions by outcome (done, retried, failed).',
      labelNames: ['outcome'] as const,
      registers,
    }),
    outboxOldestSeconds: new Gauge({
      name: 'switchboard_outbox_oldest_pending_seconds',
      help: 'Age of the oldest outbound message still in the outbox (0 when empty).',
      registers,
      async collect() {
        const at = await oldestOpenJobAt(store.reader, 'outbox.send');
        this.set(at ? Math.max(0, (Date.now() - Date.parse(at)) / 1000) : 0);
      },
    }),
    outboxSends: new Counter({
      name: 'switchboard_outbox_sends_total',
      help: 'Provider send calls by provider and outcome (accepted, retryable, permanent).',
      labelNames: ['provider', 'outcome'] as const,
      registers,
    }),
    outboxSendSeconds: new Histogram({
      name: 'switchboard_outbox_send_duration_seconds',
      help: 'Time of one provider send call (media upload excluded).',
      labelNames: ['provider'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    outboxFailures: new Counter({
      name: 'switchboard_outbox_failures_total',
      help: 'Outbound messages failed for good, by error code (provider code, window_closed, send_unconfirmed …).',
      labelNames: ['code'] as const,
      registers,
    }),
  };
}

const OUTCOME_BY_STATUS: Record<number, string> = {
  200: 'accepted',
  401: 'unauthorized',
  403: 'unauthorized',
  400: 'rejected',
  413: 'too_large',
  404: 'not_configured',
  503: 'failed',
};

/** Counts one webhook request by its HTTP answer; accepted ones also feed the ingest latency histogram. */
export function recordWebhook(metrics: Metrics, provider: string, statusCode: number, seconds: number): void {
  const outcome = OUTCOME_BY_STATUS[statusCode] ?? `status_${statusCode}`;
  metrics.webhooks.inc({ provider, outcome });
  if (statusCode === 200) metrics.ingestSeconds.observe({ provider }, seconds);
}

/** `GET /metrics` (no auth, outside /api): Prometheus text format. */
export async function registerMetricsRoute(app: FastifyInstance, metrics: Metrics): Promise<void> {
  app.get('/metrics', async (_request, reply) => {
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(body);
  });
}
