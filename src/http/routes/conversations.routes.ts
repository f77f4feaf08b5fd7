import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { DomainError, isDomainError } from '../../chat/errors.js';
import { CONVERSATION_STATES, HANDOVER_REASONS } from '../../chat/types.js';
import type { AppContext } from '../../app/context.js';
import { markRead } from '../../app/mark-read.js';
import { getConversationDetails, getMessagePage, listConversations, MAX_PAGE_SIZE } from '../../app/read-conversations.js';
import { releaseConversation, resolveConversation } from '../../app/end-human-stretch.js';
import { retryMessage } from '../../app/retry-message.js';
import { checkOperatorCanSend, sendOperatorMessage, type OperatorUpload } from '../../app/send-operator-message.js';
import { takeOver } from '../../app/take-over.js';
import { spoolUpload } from '../../media/spool-upload.js';
import { receiveLimit, UPLOAD_KINDS } from '../../media/upload-rules.js';
import { requireOperator } from '../auth.js';
import { parseInput } from '../validate.js';

/** WhatsApp's limit for a text message body. */
export const MAX_TEXT_LENGTH = 4096;
/** WhatsApp's limit for a media caption. */
export const MAX_CAPTION_LENGTH = 1024;

const whole = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,15}$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const ListQuery = z.object({
  state: z
    .string()
    .max(100)
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(CONVERSATION_STATES)).min(1))
    .optional(),
  reason: z.enum(HANDOVER_REASONS).optional(),
  operator: z.string().min(1).max(100).optional(),
  q: z
    .string()
    .max(200)
    .transform((s) => s.trim())
    .optional(),
  cursor: z.string().min(1).max(500).optional(),
  limit: whole(1, MAX_PAGE_SIZE).optional(),
});
const IdParams = z.object({ id: z.string().min(1).max(100) });
const MessageParams = z.object({ id: z.string().min(1).max(100), message_id: z.string().min(1).max(512) });
const DetailsQuery = z.object({ limit: whole(1, MAX_PAGE_SIZE).optional() });
/** `seq` is a 32-bit integer column (PostgreSQL `integer`): a larger one names no message. */
const MAX_SEQ = 2_147_483_647;
const MessagesQuery = z.object({
  before_seq: whole(0, MAX_SEQ).optional(),
  after_seq: whole(0, MAX_SEQ).optional(),
  limit: whole(1, MAX_PAGE_SIZE).optional(),
});
const TakeoverBody = z.object({ force: z.boolean().optional() });
const MessageIdField = z.string().min(1).max(200);
const SendBody = z.object({
  text: z
    .string()
    .max(MAX_TEXT_LENGTH)
    .refine((t) => t.trim().length > 0, 'must not be empty'),
  reply_to: MessageIdField.optional(),
  client_message_id: MessageIdField.optional(),
});
/** The multipart form's text fields (the `file` part is read separately); unknown fields are refused. */
const MediaFields = z
  .object({
    text: z
      .string()
      .max(MAX_CAPTION_LENGTH)
      .transform((t) => (t.trim() === '' ? undefined : t))
      .optional(),
    reply_to: MessageIdField.optional(),
    client_message_id: MessageIdField.optional(),
    type: z.enum(UPLOAD_KINDS).optional(),
  })
  .strict();
/** Parts beyond these are refused by the parser: one file, a few short fields. */
const FORM_LIMITS = { files: 1, fields: 8, parts: 9, fieldSize: 8 * 1024, fieldNameSize: 100, headerPairs: 100 };
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

  app.post('/api/conversations/:id/messages/:message_id/retry', async (request) => {
    const { id, message_id: messageId } = parseInput(MessageParams, request.params);
    return retryMessage(ctx, requireOperator(request), id, messageId);
  });

  app.post('/api/conversations/:id/messages', async (request, reply) => {
    const { id } = parseInput(IdParams, request.params);
    const header = parseInput(IdempotencyHeader, request.headers['idempotency-key']);
    const actor = requireOperator(request);
    if (!request.isMultipart()) {
      const body = parseInput(SendBody, request.body);
      const result = await sendOperatorMessage(ctx, actor, id, {
        text: body.text,
        replyTo: body.reply_to ?? null,
        idempotencyKey: header ?? body.client_message_id ?? null,
      });
      return reply.status(result.created ? 201 : 200).send(result.message);
    }
    let form;
    try {
      // Ownership and the window first, so a send that will be refused does not upload megabytes.
      await checkOperatorCanSend(ctx, actor, id, header ?? null);
      form = await readMediaForm(request, join(ctx.config.dataDir, 'media', 'tmp'), ctx.config.media.maxBytes);
    } catch (err) {
      // The rest of a refused body is not read: the connection closes after the answer, so neither
      // side waits for bytes nobody will consume.
      reply.header('connection', 'close');
      throw err;
    }
    let result;
    try {
      result = await sendOperatorMessage(ctx, actor, id, {
        text: form.fields.text ?? null,
        replyTo: form.fields.reply_to ?? null,
        upload: form.upload,
        idempotencyKey: header ?? form.fields.client_message_id ?? null,
      });
    } finally {
      // Accepted bytes were moved into the media store; what is left is not needed. Removed before
      // answering, so a client that sees the answer sees no temp file.
      await rm(form.upload.file.path, { force: true });
    }
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

/** The multipart parser's own limit errors, as the domain's codes. */
function formError(err: unknown): unknown {
  if (isDomainError(err)) return err;
  const code = (err as { code?: string }).code;
  if (code === 'FST_REQ_FILE_TOO_LARGE') return new DomainError('payload_too_large', 'the file is over MEDIA_MAX_BYTES');
  if (code === 'FST_FILES_LIMIT') return new DomainError('validation_failed', 'file: send one file per message');
  if (code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT')
    return new DomainError('validation_failed', 'the form has too many fields');
  if (code === 'FST_PROTO_VIOLATION') return new DomainError('validation_failed', 'the form has a forbidden field name');
  if (code === 'FST_INVALID_JSON_FIELD_ERROR')
    return new DomainError('validation_failed', 'a form field declared as JSON is not valid JSON');
  // busboy's own complaints: a body cut short, a missing boundary, bad part headers.
  if (err instanceof Error && !code) return new DomainError('validation_failed', `malformed multipart body: ${err.message}`);
  return err;
}

/**
 * Reads `multipart/form-data`: text fields, and the one `file` part spooled to a temp file under
 * `tempDir`, received only up to the limit its declared type allows (the bytes are judged later).
 * Fields may come before or after the file. The caller removes the temp file.
 */
async function readMediaForm(
  request: FastifyRequest,
  tempDir: string,
  maxBytes: number,
): Promise<{ fields: z.output<typeof MediaFields>; upload: OperatorUpload }> {
  const fields: Record<string, string> = {};
  let upload: Omit<OperatorUpload, 'kind'> | null = null;
  try {
    for await (const part of request.parts({ limits: { ...FORM_LIMITS, fileSize: maxBytes + 1 } })) {
      if (part.type === 'field') {
        if (part.valueTruncated) throw new DomainError('validation_failed', `${part.fieldname}: too long`);
        if (part.fieldname in fields) throw new DomainError('validation_failed', `${part.fieldname}: given twice`);
        fields[part.fieldname] = String(part.value);
        continue;
      }
      if (part.fieldname !== 'file')
        throw new DomainError('validation_failed', `${part.fieldname}: unexpected file part; the file goes in the \`file\` part`);
      const kind = MediaFields.shape.type.safeParse(fields.type);
      const limit = receiveLimit(part.mimetype, kind.success ? (kind.data ?? null) : null, maxBytes);
      const file = await spoolUpload(part.file, tempDir, limit);
      upload = { file, filename: part.filename || null, declaredType: part.mimetype || null };
    }
  } catch (err) {
    if (upload) await rm(upload.file.path, { force: true });
    throw formError(err);
  }
  try {
    if (!upload) throw new DomainError('validation_failed', 'file: missing; send the photo, document or voice note in a `file` part');
    const parsed = parseInput(MediaFields, fields);
    return { fields: parsed, upload: { ...upload, kind: parsed.type ?? null } };
  } catch (err) {
    if (upload) await rm(upload.file.path, { force: true });
    throw err;
  }
}
