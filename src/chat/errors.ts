/**
 * Every error code the domain (and the adapters built on it) can raise. HTTP maps each code to a
 * status in one table; the code string is what clients see in `{ "error": { "code" } }`.
 */
export const ERROR_CODES = [
  'validation_failed',
  'conversation_not_found',
  'message_not_found',
  'media_not_found',
  'media_not_ready',
  'media_deleted',
  'window_closed',
  'owned_by_other',
  'not_owner',
  'invalid_transition',
  'invalid_credentials',
  'unauthorized',
  'forbidden',
  'rate_limited',
  'not_found',
  'conflict',
  'payload_too_large',
  'bad_signature',
  'unavailable',
  'internal_error',
  'event_log_truncated',
  'operator_disabled',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * An expected failure with a stable code. `message` is for humans and logs; `details` is
 * structured context safe to return to the client (never secrets).
 */
export class DomainError extends Error {
  override readonly name = 'DomainError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export function isDomainError(e: unknown): e is DomainError {
  return e instanceof DomainError;
}
