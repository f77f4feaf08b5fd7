/**
 * The dashboard's one API client. Every request goes through `request`: same-origin cookie auth,
 * JSON bodies on every state-changing request (the server's CSRF rule, SPEC §10), and errors
 * surfaced as `ApiError` with the server's `{ error: { code, message } }`.
 */
import type { Conversation, Message, Operator } from '../../src/api/types.js';

export type { Conversation, Message, Operator };
export type OperatorStatus = Operator['status'];
export type ConversationState = Conversation['state'];

export interface ConversationDetails extends Conversation {
  messages: Message[];
  has_more: boolean;
}

export interface ConversationPage {
  conversations: Conversation[];
  next_cursor: string | null;
}

export interface MessagePage {
  messages: Message[];
  has_more: boolean;
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

let onUnauthorized: () => void = () => {};

/** Called whenever the server answers 401 (session expired or logged out elsewhere). */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

async function request<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const init: RequestInit = { method, credentials: 'same-origin', headers: { accept: 'application/json', ...headers } };
  if (method !== 'GET') {
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

const conversationPath = (id: string) => `/api/conversations/${encodeURIComponent(id)}`;

export const api = {
  login: (email: string, password: string) => request<{ operator: Operator }>('POST', '/api/auth/login', { email, password }),
  logout: () => request<unknown>('POST', '/api/auth/logout'),
  me: () => request<{ operator: Operator }>('GET', '/api/auth/me'),
  getStatus: () => request<{ status: OperatorStatus }>('GET', '/api/operators/me/status'),
  setStatus: (status: OperatorStatus) => request<{ status: OperatorStatus }>('PUT', '/api/operators/me/status', { status }),

  listConversations: (params: { state?: string; q?: string; cursor?: string; limit?: number }) =>
    request<ConversationPage>('GET', `/api/conversations${query(params)}`),
  getConversation: (id: string) => request<ConversationDetails>('GET', conversationPath(id)),
  olderMessages: (id: string, beforeSeq: number) =>
    request<MessagePage>('GET', `${conversationPath(id)}/messages${query({ before_seq: beforeSeq })}`),

  takeOver: (id: string, force = false) => request<Conversation>('POST', `${conversationPath(id)}/takeover`, force ? { force } : {}),
  release: (id: string) => request<Conversation>('POST', `${conversationPath(id)}/release`),
  resolve: (id: string) => request<Conversation>('POST', `${conversationPath(id)}/resolve`),
  markRead: (id: string) => request<Conversation>('POST', `${conversationPath(id)}/read`),
  /** The same `idempotencyKey` for a retried send returns the stored message, never a second send [OUT2]. */
  sendText: (id: string, text: string, idempotencyKey: string) =>
    request<Message>('POST', `${conversationPath(id)}/messages`, { text }, { 'idempotency-key': idempotencyKey }),
};
