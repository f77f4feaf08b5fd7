import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import multipart from '@fastify/multipart';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { DomainError, isDomainError } from '../chat/errors.js';
import type { AppContext } from '../app/context.js';
import { isReachable } from '../store/database.js';
import { isApiPath } from './auth.js';
import { hasUnstorableText } from '../chat/text-limits.js';
import { STATUS_BY_CODE } from './errors.js';
import { registerAuthRoutes } from './routes/auth.routes.js';
import { registerConversationRoutes } from './routes/conversations.routes.js';
import { registerEventRoutes } from './routes/events.routes.js';
import { registerKnowledgeRoutes } from './routes/knowledge.routes.js';
import { registerMediaLinkRoutes } from './routes/media-links.routes.js';
import { registerMediaRoutes } from './routes/media.routes.js';
import { registerWebhookRoutes } from './routes/webhooks.routes.js';
import { registerWebRoutes } from './routes/web.routes.js';
import { registerMetricsRoute } from './metrics.js';
import { registerOpenApiRoute } from './openapi.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The exact request bytes, for signature checks and the webhook journal. */
    rawBody?: Buffer;
  }
}

/** Largest request body accepted anywhere (Meta's documented webhook maximum) [SPEC §4]. */
export const BODY_LIMIT = 3 * 1024 * 1024;

/** The API, operations and webhook paths: answers there are never cached by a browser or proxy. */
const NO_STORE_PATHS = /^\/(api|webhooks|metrics|healthz|readyz|openapi)(\/|\?|\.|$)/;

/** The policy of every answer that is not the dashboard or media: JSON and text run nothing. */
export const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

function httpError(statusCode: number, code: string, message: string): FastifyError {
  const err = new Error(message) as FastifyError;
  err.statusCode = statusCode;
  err.code = code;
  return err;
}

/** Builds the HTTP server with every route; listening is the caller's business. */
export async function buildServer(ctx: AppContext): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: ctx.logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    // Per-request log lines would cost more than the webhook itself; failures are logged explicitly.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Slow clients (a body at a byte a second, headers never finished) are cut off: 408 and close.
    requestTimeout: ctx.config.http.requestTimeoutMs,
    keepAliveTimeout: ctx.config.http.keepAliveTimeoutMs,
    http: {
      headersTimeout: ctx.config.http.headersTimeoutMs,
      // Node checks the two timeouts above only this often (30 s by default).
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(ctx.config.http.headersTimeoutMs / 4))),
    },
  });
  app.server.maxConnections = ctx.config.http.maxConnections;
  // Node's headersTimeout runs from a request's first byte: a connection that never sends one
  // would hold a slot (of maxConnections) for ever. It gets the headers timeout to start; once a
  // request arrives, Node's own timeouts (request, keep-alive) take over.
  const idleFirstRequestMs = ctx.config.http.headersTimeoutMs;
  app.server.on('connection', (socket: Socket) => {
    socket.setTimeout(idleFirstRequestMs);
    socket.once('timeout', () => {
      if (!socket.destroyed) socket.destroy();
    });
  });
  app.server.on('request', (request: IncomingMessage) => {
    request.socket.setTimeout(0);
  });

  // Every answer: never sniffed, never framed, no referrer, and a policy that runs no script (the
  // dashboard and media replace it with their own); never cached outside the dashboard unless a
  // route says so (media does); HSTS when served over https.
  const hsts = ctx.config.publicUrl?.startsWith('https:') ?? false;
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('content-security-policy', API_CONTENT_SECURITY_POLICY);
    if (hsts) reply.header('strict-transport-security', 'max-age=31536000; includeSubDomains');
    if (NO_STORE_PATHS.test(request.url)) reply.header('cache-control', 'no-store');
  });

  // A NUL or a lone surrogate in a path segment or query value names nothing Switchboard stores:
  // PostgreSQL refuses NUL in a text parameter (a 500 otherwise) and SQLite's full-text query ends at
  // it. Refused before any route runs (SPEC §4); webhooks keep their own answers (a bad path secret
  // is a 401 whatever it holds).
  app.addHook('preValidation', async (request) => {
    if (request.url.startsWith('/webhooks/')) return;
    if (hasUnstorableText(request.params) || hasUnstorableText(request.query)) {
      throw new DomainError('validation_failed', 'NUL characters and lone surrogates are not accepted in the URL');
    }
  });

  // Keep the raw bytes of every JSON body; parse errors become 400 `validation_failed`.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    const raw = body as Buffer;
    req.rawBody = raw;
    // JSON is UTF-8 (RFC 8259 §8.1): a body declared in another charset would be read wrong.
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      return done(httpError(415, 'unsupported_media_type', `JSON must be UTF-8, not ${charset}`), undefined);
    }
    if (raw.length === 0) return done(null, undefined);
    const text = raw.toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return done(httpError(400, 'validation_failed', 'request body is not valid JSON'), undefined);
    }
    // The API stores what operators send in text columns: PostgreSQL refuses NUL there (a 500
    // otherwise), and a lone surrogate is not UTF-8 (each database would store a different
    // replacement). Both can only arrive as \u escapes. Webhooks keep theirs: their adapters
    // decide, and the journal keeps the raw bytes.
    if (isApiPath(req.url.split('?')[0]!) && /\\u(0000|d[89a-f])/i.test(text) && hasUnstorableText(parsed)) {
      return done(httpError(400, 'validation_failed', 'NUL characters and lone surrogates are not accepted'), undefined);
    }
    done(null, parsed);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (isDomainError(error)) {
      const retryAfter = error.details?.retry_after_s;
      if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
      return reply.status(STATUS_BY_CODE[error.code] ?? 500).send({ error: { code: error.code, message: error.message } });
    }
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.status(413).send({ error: { code: 'payload_too_large', message: `request body over ${BODY_LIMIT} bytes` } });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code =
        error.code === 'validation_failed' || error.validation
          ? 'validation_failed'
          : error.code === 'unsupported_media_type' || error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? 'unsupported_media_type'
            : 'bad_request';
      return reply.status(status).send({ error: { code, message: error.message } });
    }
    request.log.error({ err: error, url: request.url, method: request.method }, 'request failed');
    return reply.status(500).send({ error: { code: 'internal_error', message: 'internal error' } });
  });

  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` } });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const ok = await isReachable(ctx.store);
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'database unreachable' });
  });

  // multipart/form-data for operator media (POST /api/conversations/{id}/messages); parts are read
  // by the route itself, which sets the per-request limits (one file, MEDIA_MAX_BYTES).
  await app.register(multipart, { limits: { fileSize: ctx.config.media.maxBytes + 1, files: 1 } });

  // Auth first: it installs the hook that guards every /api/* route registered after it.
  await registerAuthRoutes(app, ctx);
  await registerConversationRoutes(app, ctx);
  await registerEventRoutes(app, ctx);
  await registerMediaRoutes(app, ctx);
  await registerMediaLinkRoutes(app, ctx);
  await registerKnowledgeRoutes(app, ctx);
  await registerWebhookRoutes(app, ctx);
  await registerOpenApiRoute(app);
  await registerMetricsRoute(app, ctx.metrics);
  await registerWebRoutes(app);
  return app;
}
