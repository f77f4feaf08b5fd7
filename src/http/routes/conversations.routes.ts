import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CONVERSATION_STATES, HANDOVER_REASONS } from '../../chat/types.js';
import type { AppContext } from '../../app/context.js';
import { markRead } from '../../app/mark-read.js';
import { getConversationDetails, getMessagePage, listConversations, MAX_PAGE_SIZE } from '../../app/read-conversations.js';
import { releaseConversation, resolveConversation } from '../../app/end-human-stretch.js';
import { sendOperatorMessage } from '../../app/send-operator-message.js';
import { takeOver } from '../../app/take-over.js';
import { requireOperator } from '../auth.js';
import { parseInput } from '../validate.js';

/** WhatsApp's limit for a text message body. */
export const MAX_TEXT_LENGTH = 4096;

const whole = (min: number, max: number) => z.string().regex(/^\d{1,15}$/, 'expected a whole number').transform(Number)
  .pipe(z.number().int().min(min).max(max));

const ListQuery = z.object({
  state: z.string().max(100).transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(z.enum(CONVERSATION_STATES)).min(1)).optional(),
  reason: z.enum(HANDOVER_REASONS).optional(),
  operator: z.string().min(1).max(100).optional(),
  q: z.string().max(200).transform((s) => s.trim()).optional(),
  cursor: z.string().min(1).max(500).optional(),
  limit: whole(1, MAX_PAGE_SIZE).optional(),
});
const IdParams = z.object({ id: z.string().min(1).max(100) });
const DetailsQuery = z.object({ limit: whole(1, MAX_PAGE_SIZE).optional() });
const MessagesQuery = z.object({
  before_seq: whole(0, Number.MAX_SAFE_INTEGER).optional(),
  after_seq: whole(0, Number.MAX_SAFE_INTEGER).optional(),
  limit: whole(1, MAX_PAGE_SIZE).optional(),
});
const TakeoverBody = z.object({ force: z.boolean().optional() });
const SendBody = z.object({
  text: z.string().max(MAX_TEXT_LENGTH).refine((t) => t.trim().length > 0, 'must not be empty'),
  client_message_id: z.string().min(1).max(200).optional(),
});
const IdempotencyHeader = z.string().min(1).max(200).optional();

/** Conversations REST (SPEC §7): handlers parse, call one use case, answer with the presenters' shapes. */
export async function registerConversationRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get('/api/conversations', async (request) => {
    const query = parseInput(ListQuery, request.query);
    const actor = requireOperator(request);
    return listConversations(ctx, {
      states: query.state,
      handoverReason: query.reason,
      operatorId: query.operator === 'me' ? actor.id : query.operator,
      search: query.q || undefined,
      cursor: query.cursor,
      limit: query.limit,
    });
  });

  app.get('/api/conversations/:id', async (request) => {
    const { id } = parseInput(IdParams, request.params);
    const { limit } = parseInput(DetailsQuery, request.query ?? {});
    return getConversationDetails(ctx, id, limit);
  });

  app.get('/api/conversations/:id/messages', async (request) => {
    const { id } = parseInput(IdParams, request.params);
    const query = parseInput(MessagesQuery, request.query);
    return getMessagePage(ctx, id, { beforeSeq: query.before_seq, afterSeq: query.after_seq, limit: query.limit });
  });

  app.post('/api/conversations/:id/messages', async (request, reply) => {
    const { id } = parseInput(IdParams, request.params);
    const body = parseInput(SendBody, request.body);
    const header = parseInput(IdempotencyHeader, request.headers['idempotency-key']);
    const result = await sendOperatorMessage(ctx, requireOperator(request), id, {
      text: body.text,
      idempotencyKey: header ?? body.client_message_id ?? null,
    });
    return reply.status(result.created ? 201 : 200).send(result.message);
  });

  app.post('/api/conversations/:id/takeover', async (request) => {
    const { id } = parseInput(IdParams, request.params);
    const body = parseInput(TakeoverBody, request.body ?? {});
    return takeOver(ctx, requireOperator(request), id, { force: body.force });
  });

  app.post('/api/conversations/:id/release', async (request) => {
    const { id } = parseInput(IdParams, request.params);
    return releaseConversation(ctx, requireOperator(request), id);
  });

  app.post('/api/conversations/:id/resolve', async (request) => {
    const { id } = parseInput(IdParams, request.params);
    return resolveConversation(ctx, requireOperator(request), id);
  });

  app.post('/api/conversations/:id/read', async (request) => {
    const { id } = parseInput(IdParams, request.params);
    return markRead(ctx, id);
  });
}
