import { DomainError } from '../chat/errors.js';
import { hasUnstorableText } from '../chat/text-limits.js';

/**
 * The opaque cursor of a keyset page: the sort key and the id of the page's last row, as base64url
 * JSON. The client only hands it back; anything else it sends is its error.
 */
export function encodePageCursor(position: readonly [key: string, id: string]): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/**
 * The position a cursor of `encodePageCursor` holds. Throws `validation_failed` for anything this
 * server did not issue, including text no database can compare (NUL, lone surrogates).
 */
export function decodePageCursor(cursor: string): [key: string, id: string] {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      typeof value[1] === 'string' &&
      !hasUnstorableText(value)
    ) {
      return [value[0], value[1]];
    }
  } catch {
    // fall through: any undecodable cursor is the client's error
  }
  throw new DomainError('validation_failed', 'cursor: not a cursor this server issued');
}
