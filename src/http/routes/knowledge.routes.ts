import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppContext } from '../../app/context.js';
import {
  addKnowledge,
  correctKnowledge,
  deleteKnowledge,
  getKnowledge,
  listKnowledge,
  MAX_KNOWLEDGE_PAGE,
} from '../../app/manage-knowledge.js';
import { requireAdmin, requireOperator } from '../auth.js';
import { parseInput } from '../validate.js';

/** Longest question or answer accepted (a WhatsApp text is at most 4096 characters). */
export const MAX_KNOWLEDGE_TEXT = 4096;

const text = (max: number) =>
  z
    .string()
    .max(max)
    .transform((s) => s.trim())
    .pipe(z.string().min(1, 'must not be empty'));
const language = z
  .string()
  .regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$/, 'expected a language code like "en" or "ar"')
  .nullable();
const phrases = z.array(text(500)).max(50);
const whole = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,15}$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const ListQuery = z.object({
  q: z
    .string()
    .max(200)
    .transform((s) => s.trim())
    .optional(),
  cursor: z.string().min(1).max(500).optional(),
  limit: whole(1, MAX_KNOWLEDGE_PAGE).optional(),
});
const IdParams = z.object({ id: z.string().min(1).max(100) });
const CreateBody = z
  .object({
    question: text(MAX_KNOWLEDGE_TEXT),
    answer: text(MAX_KNOWLEDGE_TEXT),
    language: language.optional(),
    alternates: phrases.optional(),
    tags: z.array(text(100)).max(20).optional(),
    conversation_id: z.string().min(1).max(100).optional(),
    from_message_id: z.string().min(1).max(200).optional(),
  })
  .strict()
  .refine((b) => (b.conversation_id === undefined) === (b.from_message_id === undefined), {
    message: 'from_message_id and conversation_id go together',
    path: ['from_message_id'],
  });
const UpdateBody = z
  .object({
    question: text(MAX_KNOWLEDGE_TEXT).optional(),
    answer: text(MAX_KNOWLEDGE_TEXT).optional(),
    language: language.optional(),
    alternates: phrases.optional(),
    tags: z.array(text(100)).max(20).optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'nothing to change' });

/**
 * The faq knowledge base [AI7]: operators and admins list, read and add (an AI reply saved as a
 * Q&A); admins correct in place and delete (`forbidden` for operators, nothing changed).
 */
export async function registerKnowledgeRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get('/api/knowledge', async (request) => {
    const query = parseInput(ListQuery, request.query ?? {});
    return listKnowledge(ctx, { search: query.q || undefined, cursor: query.cursor, limit: query.limit });
  });

  app.get('/api/knowledge/:id', async (request) => {
    const { id } = parseInput(IdParams, request.params);
    return getKnowledge(ctx, id);
  });

  app.post('/api/knowledge', async (request, reply) => {
    const actor = requireOperator(request);
    const body = parseInput(CreateBody, request.body);
    const entry = await addKnowledge(ctx, actor, request.auth?.kind === 'api_token' ? 'api' : 'dashboard', {
      question: body.question,
      answer: body.answer,
      language: body.language ?? null,
      alternates: body.alternates ?? [],
      tags: body.tags ?? [],
      from:
        body.conversation_id !== undefined && body.from_message_id !== undefined
          ? { conversation_id: body.conversation_id, message_id: body.from_message_id }
          : null,
    });
    return reply.status(201).send(entry);
  });

  app.put('/api/knowledge/:id', async (request) => {
    requireAdmin(request);
    const { id } = parseInput(IdParams, request.params);
    const body = parseInput(UpdateBody, request.body);
    return correctKnowledge(ctx, id, body);
  });

  app.delete('/api/knowledge/:id', async (request) => {
    requireAdmin(request);
    const { id } = parseInput(IdParams, request.params);
    return deleteKnowledge(ctx, id);
  });
}
