/** What a media type defaults to when none, or none well-formed, is known. */
export const DEFAULT_MIME_TYPE = 'application/octet-stream';

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED = '"[^"\\\\\\u0000-\\u001f\\u007f]*"';
/** RFC 9110 media type: `type/subtype` tokens with optional `; name=value` parameters, no control characters. */
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:[ \\t]*;[ \\t]*${TOKEN}=(?:${TOKEN}|${QUOTED}))*$`);
const MAX_LENGTH = 255;

/**
 * The media type as given (trimmed), when it has the strict `type/subtype[; name=value]*` form and
 * fits 255 characters; null otherwise (absent, blank, CR/LF or other control characters, no slash).
 * Such a value is safe to send back as a Content-Type header.
 */
export function wellFormedMimeType(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const v = value.trim();
  return v.length > 0 && v.length <= MAX_LENGTH && MEDIA_TYPE.test(v) ? v : null;
}

/** wellFormedMimeType, or DEFAULT_MIME_TYPE. */
export function mimeTypeOrDefault(value: unknown): string {
  return wellFormedMimeType(value) ?? DEFAULT_MIME_TYPE;
}
