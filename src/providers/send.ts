import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { MessageType, ProviderError } from '../chat/types.js';

/** Who a message goes to, as the conversation knows them; each sender picks the fields it needs. */
export interface Recipient {
  /** The customer's phone number, digits (Meta, MontyMobile). */
  waId: string | null;
  /** The business-scoped user id (Meta BSUID), used when no phone number is known. */
  userId: string | null;
  /** The conversation's channel: Meta's phone_number_id, Qiscus's channel id. */
  channelExternalId: string;
  /** Qiscus room of the conversation (from the customer's latest webhook). */
  roomId: string | null;
}

/** Bytes of an operator's upload, read from Switchboard's media store. */
export interface OutboundMedia {
  /** Switchboard's media id (for a public link where a provider takes media by URL only). */
  mediaId: string;
  bytes: Buffer;
  mimeType: string;
  filename: string | null;
}

/** One message as a sender sees it: no database rows, no provider types. */
export interface OutboundMessage {
  /** Our `message_id` [ID9]: echoed by Meta in status webhooks as `biz_opaque_callback_data`. */
  messageId: string;
  to: Recipient;
  type: MessageType;
  /** Body of a text message, caption of media. */
  text: string | null;
  media: OutboundMedia | null;
  /** The provider's id of the message quoted (a `wamid` for Meta), or null. */
  replyTo: string | null;
}

/**
 * What one provider call came to:
 * - `accepted`: the provider took it; `providerMessageId` matches its status webhooks [ID9].
 * - `retryable`: nothing was sent, or the provider asks to try later (network error, timeout, 5xx,
 *   rate limits). `retryAfterMs` when the provider said how long to wait.
 * - `permanent`: the provider refused the message for good (`{code, title}` shown on it).
 */
export type SendOutcome =
  | { kind: 'accepted'; providerMessageId: string | null }
  | { kind: 'retryable'; error: ProviderError; retryAfterMs: number | null }
  | { kind: 'permanent'; error: ProviderError };

/** A message made ready for its one send call (media uploaded); opaque to the outbox. */
export interface PreparedSend {
  readonly provider: string;
}

export interface SendOptions {
  signal: AbortSignal;
}

/**
 * The sending half of a provider. `prepare` does what may be repeated freely (uploading media);
 * `send` is the one call that delivers to the customer. The outbox records that an attempt started
 * between the two, so the window in which a crash leaves the outcome unknown covers `send` only.
 */
export interface MessageSender {
  prepare(
    message: OutboundMessage,
    options: SendOptions,
  ): Promise<{ prepared: PreparedSend } | { failed: Exclude<SendOutcome, { kind: 'accepted' }> }>;
  send(prepared: PreparedSend, options: SendOptions): Promise<SendOutcome>;
  /**
   * Marks the customer's message (and every earlier one) read, with the typing indicator when
   * `typing` is set. Only providers that offer it have it.
   */
  markRead?(to: Recipient, providerMessageId: string, typing: boolean, options: SendOptions): Promise<SendOutcome>;
}

/** The Retry-After header as milliseconds (seconds or an HTTP date), capped at an hour; null when absent. */
export function retryAfterMs(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  const seconds = Number(value.trim());
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, 3_600_000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.min(Math.max(0, at - now), 3_600_000);
}

/** The outcome of an HTTP answer that says nothing more specific: 408/425/429/5xx retry, other 4xx are final. */
export function httpOutcome(status: number, title: string, retryAfter: string | null): Exclude<SendOutcome, { kind: 'accepted' }> {
  const error = { code: `http_${status}`, title };
  if (status === 408 || status === 425 || status === 429 || status >= 500)
    return { kind: 'retryable', error, retryAfterMs: retryAfterMs(retryAfter) };
  return { kind: 'permanent', error };
}

export interface HttpAnswer {
  status: number;
  headers: { get(name: string): string | null };
  /** The parsed JSON body, or null when it was empty or not JSON. */
  json: unknown;
  text: string;
}

const ANSWER_LIMIT = 256 * 1024;

/**
 * One HTTP call to a provider. A network failure, a refused connection or the signal's timeout
 * becomes a retryable outcome (`unreachable` / `timeout`); the caller's own abort (shutdown) is
 * rethrown. The answer body is read whole (providers answer a few hundred bytes).
 */
export async function call(
  url: string,
  init: RequestInit,
  options: SendOptions & { timeout: AbortSignal },
): Promise<HttpAnswer | Exclude<SendOutcome, { kind: 'accepted' }>> {
  const signal = AbortSignal.any([options.signal, options.timeout]);
  try {
    if (typeof init.body === 'string') return await postText(url, init, signal);
    const response = await fetch(url, { ...init, signal });
    const buffer = Buffer.from(await response.arrayBuffer());
    return { status: response.status, headers: response.headers, ...bodyOf(buffer) };
  } catch (err) {
    if (options.signal.aborted) throw options.signal.reason ?? err;
    if (options.timeout.aborted)
      return { kind: 'retryable', error: { code: 'timeout', title: 'the provider did not answer in time' }, retryAfterMs: null };
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code;
    return {
      kind: 'retryable',
      error: { code: 'unreachable', title: `the provider could not be reached (${cause ?? (err as Error).message})` },
      retryAfterMs: null,
    };
  }
}

function bodyOf(buffer: Buffer): { json: unknown; text: string } {
  const text = buffer.subarray(0, ANSWER_LIMIT).toString('utf8');
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { json, text };
}

/** Kept-alive connections to the providers, shared by every send of this process. */
const agents = { 'http:': new HttpAgent({ keepAlive: true }), 'https:': new HttpsAgent({ keepAlive: true }) };

/**
 * A request with a text body (every send but a media upload) on node:http: the same call as
 * fetch, at a fraction of its cost per request (the outbox makes thousands a second). No
 * redirects are followed; a provider's send API does not redirect.
 */
function postText(url: string, init: RequestInit, signal: AbortSignal): Promise<HttpAnswer> {
  const target = new URL(url);
  const agent = agents[target.protocol as keyof typeof agents];
  if (!agent) return Promise.reject(new Error(`unsupported protocol ${target.protocol}`));
  const body = Buffer.from(init.body as string, 'utf8');
  const headers: Record<string, string> = {
    ...(init.headers as Record<string, string> | undefined),
    'content-length': String(body.length),
  };
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<HttpAnswer>((resolve, reject) => {
    const req = send(target, { method: init.method ?? 'POST', headers, agent, signal }, (res) => {
      const chunks: Buffer[] = [];
      let length = 0;
      res.on('data', (chunk: Buffer) => {
        // Kept up to the limit; the rest is read and dropped so the connection can be reused.
        if (length < ANSWER_LIMIT) chunks.push(chunk);
        length += chunk.length;
      });
      res.on('end', () => {
        const raw = res.headers;
        resolve({
          status: res.statusCode ?? 0,
          headers: {
            get: (name) => {
              const v = raw[name.toLowerCase()];
              return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
            },
          },
          ...bodyOf(Buffer.concat(chunks)),
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function isAnswer(value: HttpAnswer | SendOutcome): value is HttpAnswer {
  return 'status' in value;
}

/** The error of a media message to a provider that fetches media by URL when Switchboard has no public address to give it. */
export function publicUrlMissing(provider: string): ProviderError {
  return {
    code: 'public_url_missing',
    title: `${provider} fetches media from a public link; set PUBLIC_URL to the address it can reach this server at`,
  };
}

/** A sender for a provider whose credentials are missing: every message fails as `not_configured`. */
export function unconfiguredSender(what: string): MessageSender {
  const failed = { kind: 'permanent' as const, error: { code: 'not_configured', title: `${what} is not set` } };
  return {
    prepare: async () => ({ failed }),
    send: async () => failed,
  };
}

/** Upper bound for text bodies (Meta: 4096 characters, REFERENCE §1.9). */
export const MAX_TEXT_LENGTH = 4096;
