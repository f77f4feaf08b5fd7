import type { ErrorCode } from '../chat/errors.js';

/** The one code → HTTP status table. A code missing here is a programming error (500). */
export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  validation_failed: 400,
  bad_signature: 401,
  unauthorized: 401,
  invalid_credentials: 401,
  forbidden: 403,
  operator_disabled: 403,
  not_owner: 403,
  conversation_not_found: 404,
  message_not_found: 404,
  media_not_found: 404,
  media_not_ready: 409,
  media_deleted: 410,
  not_found: 404,
  owned_by_other: 409,
  invalid_transition: 409,
  conflict: 409,
  window_closed: 422,
  event_log_truncated: 410,
  payload_too_large: 413,
  rate_limited: 429,
  unavailable: 503,
  internal_error: 500,
};
