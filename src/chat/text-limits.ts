import type { InboundBatch, InboundMessage } from './types.js';

/** Longest contact, profile or channel name stored, in UTF-16 code units. */
export const MAX_NAME_LENGTH = 256;
/** Longest message text stored (64 Ki code units); the whole body stays in the webhook journal. */
export const MAX_TEXT_LENGTH = 64 * 1024;
/** Largest message metadata stored, as JSON; larger `raw` copies are left to the journal. */
export const MAX_METADATA_LENGTH = 64 * 1024;
/** Text of a message in a list (conversation previews). */
export const PREVIEW_TEXT_LENGTH = 500;

/** `value` cut to at most `max` code units, never between the two halves of a surrogate pair. */
export function cutText(value: string, max: number): string {
  if (value.length <= max) return value;
  const end = /[\uD800-\uDBFF]/.test(value[max - 1]!) ? max - 1 : max;
  return value.slice(0, end);
}

/**
 * A message within the stored size limits: name and text cut (the text's full length kept in
 * `metadata.text_length`, with `metadata.text_truncated`), and an oversized metadata's `raw` copy
 * replaced by a note (the journal holds the body). Unchanged messages are returned as they are.
 */
export function limitInboundMessage(m: InboundMessage): InboundMessage {
  const nameCut = m.contact_name !== null && m.contact_name.length > MAX_NAME_LENGTH;
  const channelCut = m.channel_name !== null && m.channel_name.length > MAX_NAME_LENGTH;
  const textCut = m.text !== null && m.text.length > MAX_TEXT_LENGTH;
  let metadata = m.metadata;
  if (textCut) metadata = { ...metadata, text_truncated: true, text_length: m.text!.length };
  if ('raw' in metadata && JSON.stringify(metadata).length > MAX_METADATA_LENGTH) {
    metadata = { ...metadata, raw: '[too large to keep here: see the webhook journal]' };
  }
  if (!nameCut && !channelCut && !textCut && metadata === m.metadata) return m;
  return {
    ...m,
    contact_name: nameCut ? cutText(m.contact_name!, MAX_NAME_LENGTH) : m.contact_name,
    channel_name: channelCut ? cutText(m.channel_name!, MAX_NAME_LENGTH) : m.channel_name,
    text: textCut ? cutText(m.text!, MAX_TEXT_LENGTH) : m.text,
    metadata,
  };
}

/** Every message of a batch within the stored size limits (limitInboundMessage). */
export function limitInboundBatch(batch: InboundBatch): InboundBatch {
  return { ...batch, messages: batch.messages.map(limitInboundMessage) };
}

/** U+0000 or a lone surrogate: text no database stores as given (PostgreSQL refuses NUL; a lone surrogate is not UTF-8). */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** True when a string or key anywhere in the parsed JSON holds U+0000 or a lone surrogate (iterative: depth is unbounded). */
export function hasUnstorableText(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (UNSTORABLE.test(v)) return true;
    } else if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, inner] of Object.entries(v)) {
        if (UNSTORABLE.test(k)) return true;
        stack.push(inner);
      }
    }
  }
  return false;
}
