/**
 * The dashboard's one API client. Every request goes through `request`: same-origin cookie auth,
 * JSON bodies on every state-changing request (the server's CSRF rule, SPEC §10), and errors
 * surfaced as `ApiError` with the server's `{ error: { code, message } }`.
 */
import type {
  Conversation,
  ConversationDetails,
  ConversationPage,
  KnowledgeEntry,
  KnowledgePage,
  Message,
  MessagePage,
  Operator,
} from '../../src/api/types.js';

// The server's shapes, for every part of the dashboard (the ApiError class below is the client's own).
export type * from '../../src/api/types.js';
export type OperatorStatus = Operator['status'];
export type ConversationState = Conversation['state'];

export interface NewKnowledgeEntry {
  question: string;
  answer: string;
  language?: string;
  /** The AI reply it was taught from, and its conversation: provenance kept by the server. */
  from_message_id?: string;
  conversation_id?: string;
}

/** What an operator sends: text, or one file with an optional caption, optionally replying to a message. */
export interface OutgoingMessage {
  text?: string;
  file?: Blob;
  /** The file name sent with `file` (a recorded voice note has none of its own). */
  filename?: string;
  replyTo?: string;
  clientMessageId?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let onUnauthorized: () => void = () => {};

/** Called whenever the server answers 401 (session expired or logged out elsewhere). */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

async function request<T>(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  const init: RequestInit = { method, credentials: 'same-origin', headers: { accept: 'application/json', ...headers } };
  if (body instanceof FormData) {
    // The browser sets the multipart boundary; X-Requested-With is the CSRF proof for a non-JSON body.
    init.headers = { ...init.headers, 'x-requested-with': 'switchboard' };
    init.body = body;
  } else if (method !== 'GET') {
    init.headers = { ...init.headers, 'content-type': 'application/json' };
    init.body = JSON.stringify(body ?? {});
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const error = (data as { error?: { code?: string; message?: string } } | null)?.error;
    if (res.status === 401 && path !== '/api/auth/login') onUnauthorized();
    throw new ApiError(res.status, error?.code ?? 'http_error', error?.message ?? `${res.status} ${res.statusText}`);
  }
  return data as T;
}

function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const s = search.toString();
  return s ? `?${s}` : '';
}

/** The server's MAX_PAGE_SIZE for message pages. */
const OLDER_PAGE = 100;

const conversationPath = (id: string) => `/api/conversations/${encodeURIComponent(id)}`;

export const api = {
  login: (email: string, password: string) => request<{ operator: Operator }>('POST', '/api/auth/login', { email, password }),
  logout: () => request<unknown>('POST', '/api/auth/logout'),
  me: () => request<{ operator: Operator; ai_responder?: 'faq' | 'openai' | 'none' }>('GET', '/api/auth/me'),
  getStatus: () => request<{ status: OperatorStatus }>('GET', '/api/operators/me/status'),
  setStatus: (status: OperatorStatus) => request<{ status: OperatorStatus }>('PUT', '/api/operators/me/status', { status }),

  listConversations: (params: { state?: string; q?: string; cursor?: string; limit?: number }) =>
    request<ConversationPage>('GET', `/api/conversations${query(params)}`),
  getConversation: (id: string) => request<ConversationDetails>('GET', conversationPath(id)),
  /** The page before `beforeSeq`, at the server's largest page size (fewer round trips in long threads). */
  olderMessages: (id: string, beforeSeq: number) =>
    request<MessagePage>('GET', `${conversationPath(id)}/messages${query({ before_seq: beforeSeq, limit: OLDER_PAGE })}`),

  takeOver: (id: string, force = false) => request<Conversation>('POST', `${conversationPath(id)}/takeover`, force ? { force } : {}),
  release: (id: string) => request<Conversation>('POST', `${conversationPath(id)}/release`),
  resolve: (id: string) => request<Conversation>('POST', `${conversationPath(id)}/resolve`),
  markRead: (id: string) => request<Conversation>('POST', `${conversationPath(id)}/read`),
  /** The same `idempotencyKey` for a retried send returns the stored message, never a second send [OUT2]. */
  sendText: (id: string, text: string, idempotencyKey: string) =>
    request<Message>('POST', `${conversationPath(id)}/messages`, { text }, { 'idempotency-key': idempotencyKey }),
  /** Text as JSON; a file as multipart/form-data (parts `file`, `text` caption, `reply_to`, `client_message_id`). */
  sendMessage: (id: string, message: OutgoingMessage, idempotencyKey: string) => {
    const headers = { 'idempotency-key': idempotencyKey };
    if (!message.file) {
      const body: Record<string, string> = { text: message.text ?? '' };
      if (message.replyTo) body.reply_to = message.replyTo;
      if (message.clientMessageId) body.client_message_id = message.clientMessageId;
      return request<Message>('POST', `${conversationPath(id)}/messages`, body, headers);
    }
    const form = new FormData();
    // Fields before the file: a streaming parser sees them before the bytes.
    if (message.text) form.append('text', message.text);
    if (message.replyTo) form.append('reply_to', message.replyTo);
    if (message.clientMessageId) form.append('client_message_id', message.clientMessageId);
    form.append('file', message.file, message.filename ?? (message.file instanceof File ? message.file.name : 'file'));
    return request<Message>('POST', `${conversationPath(id)}/messages`, form, headers);
  },
  /** A failed message sent again (status back to pending). */
  retryMessage: (conversationId: string, messageId: string) =>
    request<Message>('POST', `${conversationPath(conversationId)}/messages/${encodeURIComponent(messageId)}/retry`),

  listKnowledge: (params: { q?: string; limit?: number; cursor?: string }) =>
    request<KnowledgePage>('GET', `/api/knowledge${query(params)}`),
  getKnowledge: (id: string) => request<KnowledgeEntry>('GET', `/api/knowledge/${encodeURIComponent(id)}`),
  /** Operators and admins. */
  createKnowledge: (entry: NewKnowledgeEntry) => request<KnowledgeEntry>('POST', '/api/knowledge', entry),
  /** Admins only (operators get 403 `forbidden`). */
  updateKnowledge: (id: string, patch: { question?: string; answer?: string; language?: string }) =>
    request<KnowledgeEntry>('PUT', `/api/knowledge/${encodeURIComponent(id)}`, patch),
  deleteKnowledge: (id: string) => request<null>('DELETE', `/api/knowledge/${encodeURIComponent(id)}`),
};
