import { errorCodes, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Provider } from '../../chat/types.js';
import { DomainError, isDomainError } from '../../chat/errors.js';
import type { AppContext } from '../../app/context.js';
import { receiveWebhook } from '../../app/receive-webhook.js';
import { answerMetaSubscription } from '../../providers/meta/meta.webhook.js';
import { webhookAdapters, type BodyCheck, type WebhookAdapter } from '../../providers/registry.js';
import { boundDepth } from '../../chat/json-depth.js';
import { limitInboundBatch } from '../../chat/text-limits.js';
import { BODY_LIMIT } from '../server.js';
import { recordWebhook } from '../metrics.js';

/**
 * Provider webhooks (SPEC §4). Order: check the credential the headers carry (before any byte of the
 * body is read) → read the body, authenticating it as it arrives → parse JSON, cut below
 * MAX_WEBHOOK_DEPTH → parse the provider shape, cap stored sizes → commit → 200 [IN1]. Every refusal
 * is a coded DomainError that the server's one status table maps (src/http/errors.ts): nothing is
 * stored for a rejected request; a failure to commit is a 503 so the provider retries; no input
 * produces a 500. Bodies only a signature can authenticate are read a bounded number at a time.
 */
export async function registerWebhookRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const adapters = webhookAdapters(ctx.config);
  const unverified = new Slots(ctx.config.http.maxUnverifiedBodies);
  /** Per request: the body check `begin` returned and, for a body that authenticates itself, its slot. */
  const pending = new WeakMap<FastifyRequest, { check: BodyCheck; release: () => void }>();

  await app.register(async (scope) => {
    // Webhook bodies are read as bytes whatever their content type, authenticated while they arrive,
    // and parsed as JSON only after the signature check.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (request, payload, done) => {
      const state = pending.get(request);
      if (!state) return done(null, { raw: Buffer.alloc(0), rejected: new DomainError('bad_signature', 'not authenticated') });
      readBody(payload, request.headers['content-length'], state.check).then(
        (body) => {
          state.release();
          done(null, body);
        },
        (err: Error) => {
          state.release();
          done(err as FastifyError, undefined);
        },
      );
    });
    // Every webhook POST is counted by its answer (also 413s refused before the handler ran).
    scope.addHook('onResponse', async (request, reply) => {
      pending.get(request)?.release();
      if (request.method !== 'POST') return;
      const provider = providerOf(request);
      if (provider) recordWebhook(ctx.metrics, provider, reply.statusCode, reply.elapsedTime / 1000);
    });
    scope.addHook('onRequestAbort', async (request) => {
      pending.get(request)?.release();
    });
    // Before any byte of the body is read: the credential's presence and shape (a token or path
    // secret in full), and a slot for a body that only its signature can authenticate [docs/SECURITY.md].
    scope.addHook('onRequest', async (request) => {
      if (request.method !== 'POST') return;
      const provider = providerOf(request);
      const adapter = provider ? adapters[provider] : undefined;
      if (!adapter) return;
      const check = adapter.begin({ headers: request.headers, pathSecret: (request.params as { secret?: string }).secret });
      let release = () => {};
      if (adapter.bodyAuthenticates) {
        if (!unverified.take()) {
          throw new DomainError('unavailable', 'too many webhook bodies being read; retry later', { retry_after_s: 1 });
        }
        let released = false;
        release = () => {
          if (released) return;
          released = true;
          unverified.give();
        };
      }
      pending.set(request, { check, release });
    });

    scope.get('/webhooks/meta', async (request, reply) => {
      const challenge = answerMetaSubscription(request.query as Record<string, unknown>, ctx.config.meta.verifyToken);
      return reply.status(200).type('text/plain').send(challenge);
    });

    const handle = (provider: Provider) => async (request: FastifyRequest, reply: FastifyReply) => {
      const adapter = adapters[provider];
      if (!adapter) throw new DomainError('not_found', `${provider} webhooks are not configured`);
      return ingestRequest(ctx, adapter, request, reply);
    };
    scope.post('/webhooks/meta', handle('meta'));
    scope.post('/webhooks/montymobile', handle('montymobile'));
    scope.post('/webhooks/qiscus/:secret', handle('qiscus'));
  });
}

/** What the body parser hands the handler: the bytes, and why they were refused if they were. */
interface ReadBody {
  raw: Buffer;
  rejected: DomainError | null;
}

/** Deepest JSON nesting kept from a webhook; deeper parts become `"[nested too deep]"` (SPEC §4). */
export const MAX_WEBHOOK_DEPTH = 64;

function providerOf(request: FastifyRequest): Provider | undefined {
  return /^\/webhooks\/([a-z]+)/.exec(request.routeOptions.url ?? '')?.[1] as Provider | undefined;
}

/**
 * Reads at most BODY_LIMIT bytes (a larger Content-Length is refused before reading), feeding the
 * body check as the bytes arrive. A failed check is not an error here: the handler answers it.
 */
function readBody(payload: NodeJS.ReadableStream, declared: string | undefined, check: BodyCheck): Promise<ReadBody> {
  return new Promise((resolve, reject) => {
    if (declared !== undefined && Number(declared) > BODY_LIMIT) {
      reject(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      return;
    }
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    payload.on('data', (chunk: Buffer) => {
      if (settled) return;
      total += chunk.length;
      if (total > BODY_LIMIT) {
        chunks.length = 0;
        fail(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
        return;
      }
      check.update(chunk);
      chunks.push(chunk);
    });
    payload.on('error', fail);
    payload.on('close', () => fail(new Error('webhook request closed before its body ended')));
    payload.on('end', () => {
      if (settled) return;
      settled = true;
      const raw = Buffer.concat(chunks, total);
      try {
        check.finish();
        resolve({ raw, rejected: null });
      } catch (err) {
        if (isDomainError(err)) resolve({ raw, rejected: err });
        else reject(err as Error);
      }
    });
  });
}

/** A counting semaphore that never queues: a full one says no at once. */
class Slots {
  private used = 0;
  constructor(private readonly size: number) {}

  take(): boolean {
    if (this.used >= this.size) return false;
    this.used++;
    return true;
  }

  give(): void {
    this.used = Math.max(0, this.used - 1);
  }
}

/** verify → parse → receive → 200; every refusal a coded DomainError. */
async function ingestRequest(ctx: AppContext, adapter: WebhookAdapter, request: FastifyRequest, reply: FastifyReply) {
  const read = request.body as ReadBody | undefined;
  const raw = read?.raw ?? Buffer.alloc(0);
  if (!read) {
    // No body at all (no Content-Type): the parser never ran, so check the empty body here.
    adapter.verify({ headers: request.headers, rawBody: raw, pathSecret: (request.params as { secret?: string }).secret });
  } else if (read.rejected) {
    throw read.rejected;
  }
  let body: unknown;
  try {
    body = boundDepth(JSON.parse(raw.toString('utf8')), MAX_WEBHOOK_DEPTH);
  } catch {
    throw new DomainError('validation_failed', 'body is not JSON');
  }
  let batch;
  try {
    batch = limitInboundBatch(adapter.parse(body, new Date()));
  } catch (err) {
    if (isDomainError(err)) throw err;
    // A parser bug must not become a 500 loop of provider retries: reject the shape, log loudly.
    request.log.error({ err, provider: adapter.provider }, 'webhook parser failed');
    throw new DomainError('validation_failed', 'unrecognised payload');
  }
  let result;
  try {
    result = await receiveWebhook(ctx.committer, adapter.provider, raw.toString('utf8'), batch, {
      responder: ctx.config.ai.responder,
      aiDebounceMs: ctx.config.ai.debounceMs,
      dataDir: ctx.config.dataDir,
    });
  } catch (err) {
    if (isDomainError(err) && err.code === 'validation_failed') throw err;
    request.log.error({ err, provider: adapter.provider }, 'webhook not committed');
    throw new DomainError('unavailable', 'not stored; retry later');
  }
  const { sendFailures, ...counts } = result;
  for (const code of sendFailures) ctx.metrics.outboxFailures.inc({ code });
  return reply.status(200).send({ status: 'ok', ...counts, ignored: batch.ignored.length });
}
