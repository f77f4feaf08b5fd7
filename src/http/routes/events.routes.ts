import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppContext } from '../../app/context.js';
import { authenticateStored, type Authentication } from '../../app/authenticate.js';
import { DomainError } from '../../chat/errors.js';
import { parseInput } from '../validate.js';

const EventId = z
  .string()
  .trim()
  .regex(/^\d{1,15}$/, 'expected an event id (a whole number)');
const EventsQuery = z.object({
  conversation_id: z.string().min(1).max(200).optional(),
  last_event_id: EventId.optional(),
});

/**
 * `GET /api/events`: the SSE stream (SPEC §8). Resume point: the `Last-Event-ID` header (what a
 * browser sends on reconnect) wins over `?last_event_id=` (what a page passes on first connect).
 * The auth hook guards it like every /api route. The stream itself is the realtime hub's business.
 */
export async function registerEventRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const { hub } = ctx.realtime;
  // Open streams would keep the server from closing: end them before it waits for connections.
  app.addHook('preClose', async () => {
    clearInterval(sessionCheck);
    await ctx.realtime.closeStreams();
  });

  // Auth is checked when a stream opens; a stream can outlive its session, so open streams are
  // re-checked (one look-up per distinct session) and cut when it ended. The client's reconnect then gets 401.
  const openStreams = new Map<ServerResponse, Authentication>();
  const sessionCheck = setInterval(() => {
    void recheckSessions(ctx, openStreams).catch((err: unknown) => ctx.logger.warn({ err }, 'sse session check failed'));
  }, ctx.config.sseSessionCheckMs);
  sessionCheck.unref();

  app.get('/api/events', async (request, reply) => {
    const query = parseInput(EventsQuery, request.query);
    const header = request.headers['last-event-id'];
    const headerValue = (Array.isArray(header) ? header[0] : header)?.trim() || undefined;
    const raw = headerValue ?? query.last_event_id;
    let resumeAfter: number | null = null;
    if (raw !== undefined) {
      const parsed = EventId.safeParse(raw);
      if (!parsed.success) throw new DomainError('validation_failed', 'Last-Event-ID: expected an event id (a whole number)');
      resumeAfter = Number(parsed.data);
    }

    reply.hijack();
    const res = reply.raw;
    // The headers every answer carries (nosniff, CSP …, set by the server's onRequest hook) too.
    res.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx and similar proxies would otherwise buffer the stream.
      'x-accel-buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    // A write racing the peer's disconnect reports here; 'close' then ends the subscription.
    res.on('error', () => {});
    if (request.auth) {
      openStreams.set(res, request.auth);
      res.once('close', () => openStreams.delete(res));
    }
    hub.subscribe(res, { conversationId: query.conversation_id ?? null, resumeAfter }).catch((err: unknown) => {
      request.log.warn({ err }, 'sse stream failed');
    });
    return reply;
  });
}

async function recheckSessions(ctx: AppContext, streams: Map<ServerResponse, Authentication>): Promise<void> {
  const verdicts = new Map<string, boolean>();
  for (const [res, auth] of [...streams]) {
    let valid = verdicts.get(auth.sessionId);
    if (valid === undefined) {
      valid = (await authenticateStored(ctx, auth.sessionId, auth.kind)) !== null;
      verdicts.set(auth.sessionId, valid);
    }
    if (!valid) {
      streams.delete(res);
      res.destroy();
    }
  }
}
