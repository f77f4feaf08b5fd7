import type { FastifyInstance } from 'fastify';
import { CONVERSATION_STATES, HANDOVER_REASONS, MESSAGE_STATUSES, MESSAGE_TYPES, PROVIDERS, ROLES } from '../chat/types.js';

type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json, description = 'OK'): Json => ({ description, content: { 'application/json': { schema } } });
const errors = (...statuses: number[]): Json =>
  Object.fromEntries(statuses.map((s) => [String(s), { $ref: `#/components/responses/Error${s}` }]));
const pathId = (name: string, description: string): Json => ({ name, in: 'path', required: true, schema: { type: 'string' }, description });
const queryParam = (name: string, schema: Json, description: string): Json => ({ name, in: 'query', required: false, schema, description });
const body = (schema: Json, required = true): Json => ({ required, content: { 'application/json': { schema } } });
const nullable = (schema: Json): Json => ({ oneOf: [schema, { type: 'null' }] });
const str = { type: 'string' };
const conversationId = pathId('id', 'conversation_id');
const stateChange = (summary: string, extra: Json = {}): Json => ({
  post: {
    summary,
    parameters: [conversationId],
    ...extra,
    responses: { 200: json(ref('Conversation')), ...errors(400, 401, 403, 404, 409) },
  },
});

const MessageSchema: Json = {
  type: 'object',
  required: [
    'message_id',
    'conversation_id',
    'seq',
    'role',
    'type',
    'text',
    'media',
    'status',
    'error',
    'operator',
    'reply_to',
    'timestamp',
    'metadata',
  ],
  properties: {
    message_id: str,
    conversation_id: str,
    seq: { type: 'integer' },
    role: { enum: [...ROLES] },
    type: { enum: [...MESSAGE_TYPES] },
    text: nullable(str),
    media: nullable({
      type: 'object',
      properties: {
        media_id: str,
        mime_type: nullable(str),
        url: nullable(str),
        status: { enum: ['pending', 'ready', 'failed', 'deleted'] },
        caption: nullable(str),
        transcript: nullable(str),
        filename: nullable(str),
        size: nullable({ type: 'integer' }),
      },
    }),
    status: { enum: [...MESSAGE_STATUSES] },
    error: nullable({ type: 'object', properties: { code: str, title: str } }),
    operator: nullable({ type: 'object', properties: { id: str, name: str } }),
    reply_to: nullable(str),
    timestamp: { type: 'string', format: 'date-time' },
    metadata: { type: 'object' },
    edited_at: {
      type: 'string',
      format: 'date-time',
      description: 'only on a message the customer edited [ED1]; earlier versions in metadata.edits',
    },
    deleted_at: {
      type: 'string',
      format: 'date-time',
      description: 'only on a message the customer deleted [RV1]; its text and media are gone',
    },
  },
};

const KnowledgeEntrySchema: Json = {
  type: 'object',
  required: [
    'id',
    'question',
    'answer',
    'language',
    'alternates',
    'tags',
    'source',
    'created_by',
    'from',
    'created_at',
    'updated_at',
    'deleted_at',
  ],
  properties: {
    id: str,
    question: str,
    answer: str,
    language: nullable(str),
    alternates: { type: 'array', items: str },
    tags: { type: 'array', items: str },
    source: { enum: ['file', 'dashboard', 'api'] },
    created_by: nullable(str),
    from: nullable({ type: 'object', required: ['conversation_id', 'message_id'], properties: { conversation_id: str, message_id: str } }),
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
    deleted_at: nullable({ type: 'string', format: 'date-time' }),
  },
};

const ConversationSchema: Json = {
  type: 'object',
  required: [
    'conversation_id',
    'channel',
    'contact',
    'state',
    'operator',
    'handover',
    'unread_count',
    'last_message',
    'window_expires_at',
    'created_at',
    'updated_at',
  ],
  properties: {
    conversation_id: str,
    channel: { type: 'object', properties: { id: str, provider: { enum: [...PROVIDERS] }, name: nullable(str) } },
    contact: {
      type: 'object',
      properties: { wa_id: nullable(str), name: nullable(str), user_id: nullable(str), username: nullable(str), language: nullable(str) },
    },
    state: { enum: [...CONVERSATION_STATES] },
    operator: nullable({ type: 'object', properties: { id: str, name: str } }),
    handover: nullable({ type: 'object', properties: { reason: { enum: [...HANDOVER_REASONS] }, at: str, note: nullable(str) } }),
    unread_count: { type: 'integer' },
    last_message: nullable(ref('Message')),
    window_expires_at: nullable({ type: 'string', format: 'date-time' }),
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
    pending_operations: {
      type: 'array',
      description: 'only when edits or revokes wait for their original [ED3][RV3]',
      items: {
        type: 'object',
        properties: { kind: { enum: ['edit', 'revoke'] }, operation_id: str, original_message_id: str, received_at: str },
      },
    },
  },
};

const OperatorSchema: Json = {
  type: 'object',
  properties: {
    id: str,
    email: str,
    name: str,
    role: { enum: ['admin', 'operator'] },
    status: { enum: ['available', 'busy', 'away'] },
    disabled: { type: 'boolean' },
  },
};

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'validation_failed',
  401: 'unauthorized / invalid_credentials',
  403: 'forbidden / not_owner / operator_disabled',
  404: 'conversation_not_found / media_not_found / not_found',
  409: 'owned_by_other / invalid_transition / conflict / media_not_ready',
  410: 'event_log_truncated / media_deleted',
  413: 'payload_too_large',
  422: 'window_closed',
  429: 'rate_limited',
};

/**
 * The OpenAPI 3.1 document of the HTTP API (SPEC §7), written by hand. A test checks that every
 * registered /api route appears here, so a new route cannot go undocumented.
 */
export const OPENAPI_DOCUMENT: Json = {
  openapi: '3.1.0',
  info: {
    title: 'Switchboard API',
    version: '1',
    description:
      'Every /api/* route except POST /api/auth/login needs the sb_session cookie or `Authorization: Bearer <api token>`. ' +
      'Cookie-authenticated state-changing requests need a JSON body or an X-Requested-With header. ' +
      'Errors are `{ "error": { "code", "message" } }`.',
  },
  security: [{ session: [] }, { bearer: [] }],
  paths: {
    '/api/auth/login': {
      post: {
        summary: 'Log in; sets the HttpOnly, SameSite=Strict sb_session cookie (12 h)',
        security: [],
        requestBody: body({ type: 'object', required: ['email', 'password'], properties: { email: str, password: str } }),
        responses: {
          200: json({ type: 'object', properties: { operator: ref('Operator'), expires_at: str } }),
          ...errors(400, 401, 403, 429),
        },
      },
    },
    '/api/auth/logout': {
      post: { summary: 'End this session (or revoke this API token)', responses: { 200: json({ type: 'object' }), ...errors(401) } },
    },
    '/api/auth/me': {
      get: {
        summary: 'The logged-in operator',
        responses: {
          200: json({
            type: 'object',
            properties: {
              operator: ref('Operator'),
              auth: { enum: ['session', 'api_token'] },
              ai_responder: { enum: ['faq', 'openai', 'none'] },
            },
          }),
          ...errors(401),
        },
      },
    },
    '/api/auth/tokens': {
      post: {
        summary: 'Create an API token (for another operator: admins only); the token is shown once',
        requestBody: body({
          type: 'object',
          required: ['name'],
          properties: { name: str, operator_id: str, expires_in_days: { type: 'integer' } },
        }),
        responses: {
          201: json({ type: 'object', properties: { token: str, operator_id: str, name: str, expires_at: nullable(str) } }, 'Created'),
          ...errors(400, 401, 403, 404),
        },
      },
    },
    '/api/operators': {
      get: {
        summary: 'All operators (admins only)',
        responses: {
          200: json({ type: 'object', properties: { operators: { type: 'array', items: ref('Operator') } } }),
          ...errors(401, 403),
        },
      },
      post: {
        summary: 'Add an operator (admins only); a password is generated when none is given',
        requestBody: body({
          type: 'object',
          required: ['email', 'name'],
          properties: { email: str, name: str, role: { enum: ['admin', 'operator'] }, password: str },
        }),
        responses: {
          201: json({ type: 'object', properties: { operator: ref('Operator'), generated_password: nullable(str) } }, 'Created'),
          ...errors(400, 401, 403, 409),
        },
      },
    },
    '/api/operators/{id}/disable': {
      post: {
        summary: 'Disable an operator and end their sessions (admins only)',
        parameters: [pathId('id', 'operator id')],
        responses: { 200: json({ type: 'object', properties: { operator: ref('Operator') } }), ...errors(401, 403, 404, 409) },
      },
    },
    '/api/operators/me/status': {
      get: {
        summary: 'My status',
        responses: { 200: json({ type: 'object', properties: { status: { enum: ['available', 'busy', 'away'] } } }), ...errors(401) },
      },
      put: {
        summary: 'Set my status',
        requestBody: body({ type: 'object', required: ['status'], properties: { status: { enum: ['available', 'busy', 'away'] } } }),
        responses: { 200: json({ type: 'object', properties: { status: str } }), ...errors(400, 401) },
      },
    },
    '/api/conversations': {
      get: {
        summary: 'Conversations, newest activity first, cursor-paged',
        parameters: [
          queryParam('state', str, 'comma-separated states: ai, waiting, operator, resolved'),
          queryParam('reason', { enum: [...HANDOVER_REASONS] }, 'hand-over reason'),
          queryParam('operator', str, 'operator id, or `me`'),
          queryParam('q', str, 'case-insensitive search over contact name, number and message text'),
          queryParam('cursor', str, 'next_cursor of the previous page'),
          queryParam('limit', { type: 'integer', minimum: 1, maximum: 100 }, 'page size (default 50)'),
        ],
        responses: {
          200: json({
            type: 'object',
            properties: { conversations: { type: 'array', items: ref('Conversation') }, next_cursor: nullable(str) },
          }),
          ...errors(400, 401),
        },
      },
    },
    '/api/conversations/{id}': {
      get: {
        summary: 'A conversation with its latest page of messages (oldest first)',
        parameters: [conversationId, queryParam('limit', { type: 'integer', minimum: 1, maximum: 100 }, 'messages (default 50)')],
        responses: {
          200: json({
            allOf: [
              ref('Conversation'),
              { type: 'object', properties: { messages: { type: 'array', items: ref('Message') }, has_more: { type: 'boolean' } } },
            ],
          }),
          ...errors(400, 401, 404),
        },
      },
    },
    '/api/conversations/{id}/messages/{message_id}/retry': {
      post: {
        summary:
          'Send a failed message of ours again (a new attempt: back to pending, same message_id), as the owning operator inside the 24 h window',
        parameters: [conversationId, { name: 'message_id', in: 'path', required: true, schema: str }],
        responses: { 200: json(ref('Message')), ...errors(401, 403, 404, 409, 422) },
      },
    },
    '/api/conversations/{id}/messages': {
      get: {
        summary: 'A page of messages, oldest first',
        parameters: [
          conversationId,
          queryParam('before_seq', { type: 'integer' }, 'messages before this seq (older pages)'),
          queryParam('after_seq', { type: 'integer' }, 'messages after this seq (catch-up)'),
          queryParam('limit', { type: 'integer', minimum: 1, maximum: 100 }, 'page size (default 50)'),
        ],
        responses: {
          200: json({ type: 'object', properties: { messages: { type: 'array', items: ref('Message') }, has_more: { type: 'boolean' } } }),
          ...errors(400, 401, 404),
        },
      },
      post: {
        summary:
          'Send an operator message — text (JSON) or a photo, document, voice note, audio or video (multipart) — as the owning operator inside the 24 h window; stored pending with its outbox entry',
        parameters: [
          conversationId,
          {
            name: 'Idempotency-Key',
            in: 'header',
            required: false,
            schema: str,
            description: 'the same key returns the same message, never a second send',
          },
        ],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['text'],
                additionalProperties: false,
                properties: {
                  text: { type: 'string', maxLength: 4096 },
                  reply_to: { type: 'string', description: 'message_id of a message of this conversation to quote' },
                  client_message_id: { type: 'string', description: 'idempotency key when no Idempotency-Key header is sent' },
                },
              },
            },
            'multipart/form-data': {
              schema: {
                type: 'object',
                required: ['file'],
                additionalProperties: false,
                properties: {
                  file: {
                    type: 'string',
                    format: 'binary',
                    description:
                      'one file, checked by its bytes as well as its declared type. photo: image/jpeg, image/png ≤ 5 MB; ' +
                      'audio: audio/aac, audio/amr, audio/mpeg, audio/mp4 (AAC), audio/ogg (Opus) ≤ 16 MB; voice: audio/ogg or audio/webm, mono Opus ≤ 16 MB, ' +
                      'stored as audio/ogg; codecs=opus (WebM is remuxed); video: video/mp4, video/3gpp with H.264 video and AAC sound ≤ 16 MB; ' +
                      'document: PDF, plain text, Word, Excel, PowerPoint ≤ 100 MB. Every limit is also bounded by MEDIA_MAX_BYTES.',
                  },
                  type: {
                    enum: ['photo', 'document', 'voice', 'audio', 'video'],
                    description: 'what the file is sent as; default from its type (Ogg and WebM audio: voice)',
                  },
                  text: { type: 'string', maxLength: 1024, description: 'caption (photo, video, document only)' },
                  reply_to: { type: 'string', description: 'message_id of a message of this conversation to quote' },
                  client_message_id: { type: 'string', description: 'idempotency key when no Idempotency-Key header is sent' },
                },
              },
              encoding: {
                file: { contentType: 'image/jpeg, image/png, audio/*, video/mp4, video/3gpp, application/pdf, text/plain, application/*' },
              },
            },
          },
        },
        responses: {
          201: json(ref('Message'), 'Created'),
          200: json(ref('Message'), 'A repeat of an earlier key: the stored message'),
          ...errors(400, 401, 403, 404, 409, 413, 422),
        },
      },
    },
    '/api/conversations/{id}/takeover': stateChange('Take the conversation over (`force`: admins only, from another operator)', {
      requestBody: body({ type: 'object', properties: { force: { type: 'boolean' } } }, false),
    }),
    '/api/conversations/{id}/release': stateChange('Hand back to the AI; records a system event message'),
    '/api/conversations/{id}/resolve': stateChange('Resolve; records a system event message'),
    '/api/conversations/{id}/read': stateChange('Mark read (unread_count = 0)'),
    '/api/events': {
      get: {
        summary: 'Server-sent events: new_message, message_updated, conversation_updated (SPEC §8)',
        parameters: [
          queryParam('conversation_id', str, 'only this conversation'),
          queryParam('last_event_id', str, 'resume after this event id (or the Last-Event-ID header)'),
        ],
        responses: { 200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: str } } }, ...errors(401) },
      },
    },
    '/api/media/{media_id}': {
      get: {
        summary:
          'Media bytes with their content type (single byte ranges supported); 409 media_not_ready while downloading, 404 when unknown or failed, 410 media_deleted when the customer deleted its message',
        parameters: [pathId('media_id', 'media id')],
        responses: {
          200: { description: 'the bytes' },
          206: { description: 'the requested byte range' },
          416: { description: 'the range is outside the media' },
          ...errors(401, 404, 409, 410),
        },
      },
    },
    '/api/knowledge': {
      get: {
        summary: "The faq responder's live Q&A entries, oldest first [AI7]",
        parameters: [
          queryParam('q', str, 'only entries whose question, answer or alternates contain this (case-insensitive)'),
          queryParam('cursor', str, 'next_cursor of the previous page'),
          queryParam('limit', { type: 'integer', minimum: 1, maximum: 100 }, 'page size (default 50)'),
        ],
        responses: {
          200: json({
            type: 'object',
            required: ['entries', 'next_cursor'],
            properties: { entries: { type: 'array', items: ref('KnowledgeEntry') }, next_cursor: nullable(str) },
          }),
          ...errors(400, 401),
        },
      },
      post: {
        summary: 'Add a Q&A entry (operators and admins), e.g. an AI reply saved with from_message_id + conversation_id [AI7]',
        requestBody: body({
          type: 'object',
          required: ['question', 'answer'],
          additionalProperties: false,
          properties: {
            question: str,
            answer: str,
            language: nullable(str),
            alternates: { type: 'array', items: str },
            tags: { type: 'array', items: str },
            conversation_id: str,
            from_message_id: str,
          },
        }),
        responses: { 201: json(ref('KnowledgeEntry'), 'Created'), ...errors(400, 401, 404) },
      },
    },
    '/api/knowledge/{id}': {
      get: {
        summary: 'One Q&A entry (a deleted one too, with deleted_at)',
        parameters: [pathId('id', 'knowledge entry id')],
        responses: { 200: json(ref('KnowledgeEntry')), ...errors(401, 404) },
      },
      put: {
        summary: 'Correct a Q&A entry in place (admins); the next faq reply uses it [AI7]',
        parameters: [pathId('id', 'knowledge entry id')],
        requestBody: body({
          type: 'object',
          minProperties: 1,
          additionalProperties: false,
          properties: {
            question: str,
            answer: str,
            language: nullable(str),
            alternates: { type: 'array', items: str },
            tags: { type: 'array', items: str },
          },
        }),
        responses: { 200: json(ref('KnowledgeEntry')), ...errors(400, 401, 403, 404) },
      },
      delete: {
        summary: 'Delete a Q&A entry (admins): it stops answering; the row stays for the messages naming it',
        parameters: [pathId('id', 'knowledge entry id')],
        responses: { 200: json(ref('KnowledgeEntry')), ...errors(401, 403, 404) },
      },
    },
    '/api/openapi.json': { get: { summary: 'This document', responses: { 200: json({ type: 'object' }), ...errors(401) } } },
  },
  components: {
    securitySchemes: {
      session: { type: 'apiKey', in: 'cookie', name: 'sb_session' },
      bearer: { type: 'http', scheme: 'bearer' },
    },
    schemas: {
      Message: MessageSchema,
      Conversation: ConversationSchema,
      Operator: OperatorSchema,
      KnowledgeEntry: KnowledgeEntrySchema,
      Error: {
        type: 'object',
        required: ['error'],
        properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: str, message: str } } },
      },
    },
    responses: Object.fromEntries(
      Object.entries(ERROR_DESCRIPTIONS).map(([status, description]) => [
        `Error${status}`,
        { description, content: { 'application/json': { schema: ref('Error') } } },
      ]),
    ),
  },
};

/** Fastify's `/a/:b` as OpenAPI's `/a/{b}`. */
export function openApiPath(fastifyUrl: string): string {
  return fastifyUrl.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** `GET /api/openapi.json` (behind the /api auth hook like every /api route). */
export async function registerOpenApiRoute(app: FastifyInstance): Promise<void> {
  app.get('/api/openapi.json', async () => OPENAPI_DOCUMENT);
}
