import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Provider } from '../../chat/types.js';
import { isDomainError } from '../../chat/errors.js';
import type { AppContext } from '../../app/context.js';
import { receiveWebhook } from '../../app/receive-webhook.js';
import { WebhookRejected } from '../../providers/provider-error.js';
import { webhookAdapters, type WebhookAdapter } from '../../providers/registry.js';
import { recordWebhook } from '../metrics.js';

/**
 * Provider webhooks (SPEC §4). Order: authenticate the raw bytes → parse JSON → parse the provider
 * shape → commit → 200 [IN1]. Nothing is stored for a rejected request; a failure to commit is a
 * 503 so the provider retries; no input produces a 500.
 */
export async function registerWebhookRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const adapters = webhookAdapters(ctx.config);

  await app.register(async (scope) => {
    // Webhook bodies are taken as bytes whatever their content type; JSON is parsed after the signature check.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    // Every webhook POST is counted by its answer (also 413s refused before the handler ran).
    scope.addHook('onResponse', async (request, reply) => {
      if (request.method !== 'POST') return;
      const provider = /^\/webhooks\/([a-z]+)/.exec(request.routeOptions.url ?? '')?.[1];
      if (provider) recordWebhook(ctx.metrics, provider, reply.statusCode, reply.elapsedTime / 1000);
    });

    scope.get('/webhooks/meta', async (request, reply) => {
      // A repeated query key arrives as an array: only single string values can verify.
      const q = request.query as Record<string, string | string[] | undefined>;
      const expected = ctx.config.meta.verifyToken;
      const token = q['hub.verify_token'];
      const challenge = q['hub.challenge'];
      if (q['hub.mode'] === 'subscribe' && expected && typeof token === 'string' && typeof challenge === 'string' && safeEqual(token, expected)) {
        return reply.status(200).type('text/plain').send(challenge);
      }
      return reply.status(403).send({ error: { code: 'forbidden', message: 'verification failed' } });
    });

    const handle = (provider: Provider) => async (request: FastifyRequest, reply: FastifyReply) => {
      const adapter = adapters[provider];
      if (!adapter) return reply.status(404).send({ error: { code: 'not_found', message: `${provider} webhooks are not configured` } });
      return ingestRequest(ctx, adapter, request, reply);
    };
    scope.post('/webhooks/meta', handle('meta'));
    scope.post('/webhooks/montymobile', handle('montymobile'));
    scope.post('/webhooks/qiscus/:secret', handle('qiscus'));
  });
}

async function ingestRequest(ctx: AppContext, adapter: WebhookAdapter, request: FastifyRequest, reply: FastifyReply) {
  const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  let body: unknown;
  try {
    adapter.verify({ headers: request.headers, rawBody: raw, pathSecret: (request.params as { secret?: string }).secret });
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new WebhookRejected(400, 'body is not JSON');
    }
  } catch (err) {
    return reject(reply, err);
  }
  let batch;
  try {
    batch = adapter.parse(body, new Date());
  } catch (err) {
    if (err instanceof WebhookRejected) return reject(reply, err);
    // A parser bug must not become a 500 loop of provider retries: reject the shape, log loudly.
    request.log.error({ err, provider: adapter.provider }, 'webhook parser failed');
    return reply.status(400).send({ error: { code: 'validation_failed', message: 'unrecognised payload' } });
  }
  try {
    const result = await receiveWebhook(ctx.committer, adapter.provider, raw.toString('utf8'), batch, { responder: ctx.config.ai.responder, aiDebounceMs: ctx.config.ai.debounceMs });
    return reply.status(200).send({ status: 'ok', ...result, ignored: batch.ignored.length });
  } catch (err) {
    if (isDomainError(err) && err.code === 'validation_failed') {
      return reply.status(400).send({ error: { code: err.code, message: err.message } });
    }
    request.log.error({ err, provider: adapter.provider }, 'webhook not committed');
    return reply.status(503).send({ error: { code: 'unavailable', message: 'not stored; retry later' } });
  }
}

function reject(reply: FastifyReply, err: unknown) {
  if (err instanceof WebhookRejected) {
    const code = err.status === 401 ? 'unauthorized' : err.status === 413 ? 'payload_too_large' : 'validation_failed';
    return reply.status(err.status).send({ error: { code, message: err.reason } });
  }
  throw err;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
