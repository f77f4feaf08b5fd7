import { createHash, timingSafeEqual } from 'node:crypto';
import type { InboundBatch, Provider } from '../chat/types.js';

/*
 * The receiving half of a provider, as the webhook route sees it. Adapters throw only coded
 * DomainErrors (src/chat/errors.ts): `bad_signature` for a request that is not the provider's,
 * `validation_failed` for JSON of an unknown shape; the HTTP layer maps the code (src/http/errors.ts)
 * and stores nothing. Any other exception from a parser is a bug (SPEC §4: no input can cause a 500).
 */

/** What a webhook request looks like to an adapter: no framework types. */
export interface WebhookRequest {
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
  /** The secret path segment (Qiscus). */
  pathSecret?: string;
}

/** The body's half of authentication, fed while the bytes arrive. */
export interface BodyCheck {
  update(chunk: Buffer): void;
  /** Throws DomainError bad_signature when the bytes read are not the provider's. */
  finish(): void;
}

/** Is this request authentic, and what does it carry. */
export interface WebhookAdapter {
  readonly provider: Provider;
  /** Throws DomainError bad_signature when the request is not from the provider. */
  verify(request: WebhookRequest): void;
  /**
   * What can be checked before any byte of the body is read (a signature header's presence and
   * shape, a token, the path secret); returns the check the body must still pass. Throws
   * DomainError bad_signature. `verify` on the whole body is the same decision.
   */
  begin(request: Omit<WebhookRequest, 'rawBody'>): BodyCheck;
  /** True when the headers cannot authenticate alone: until `finish`, the body is a stranger's. */
  readonly bodyAuthenticates: boolean;
  /** Throws DomainError validation_failed for JSON of an unknown shape. */
  parse(body: unknown, now: Date): InboundBatch;
}

/** The body check of a request its headers (or path) already authenticated. */
const AUTHENTICATED: BodyCheck = { update: () => {}, finish: () => {} };

/**
 * The adapter of a provider whose headers or path authenticate the request before its body is
 * read: `check` throws DomainError bad_signature, and the body needs no check of its own.
 */
export function checkedBeforeBody(
  provider: Provider,
  check: (request: Omit<WebhookRequest, 'rawBody'>) => void,
  parse: WebhookAdapter['parse'],
): WebhookAdapter {
  return {
    provider,
    verify: check,
    begin: (request) => {
      check(request);
      return AUTHENTICATED;
    },
    bodyAuthenticates: false,
    parse,
  };
}

/** A header's first value. */
export function headerValue(request: Pick<WebhookRequest, 'headers'>, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The one constant-time comparison of a presented secret (token, path segment, verify token) with the
 * configured one: SHA-256 digests compared, so neither the content nor the length leaks through
 * timing. False when either is missing or empty, or `given` is not a string; never throws.
 */
export function sameSecret(given: unknown, expected: string): boolean {
  if (typeof given !== 'string' || typeof expected !== 'string' || given === '' || expected === '') return false;
  const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}
