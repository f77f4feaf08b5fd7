import { createHash, timingSafeEqual } from 'node:crypto';
import type { InboundBatch } from '../../chat/types.js';
import { parseMetaEnvelope, type MetaDialect } from '../meta/meta.webhook.js';
import { contentHashMessageId } from '../../chat/message-id.js';
import { digitsOnly, ownValue } from '../wire-values.js';

/**
 * Checks the `x-webhook-token` header against the token configured in Monty's dashboard
 * (REFERENCE §2.5), in constant time whatever the lengths. False when either is missing or empty.
 */
export function verifyMontyToken(header: string | undefined, token: string): boolean {
  if (typeof header !== 'string' || typeof token !== 'string' || header === '' || token === '') return false;
  const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(header), digest(token));
}

/**
 * Deterministic id for a Monty message that arrived without `id` (REFERENCE §2.5): `mm_` + sha256 of
 * the canonical JSON of `{from, timestamp, type, <type object>}`, so a redelivery maps to the same id.
 */
export function montyContentId(message: Record<string, unknown>): string {
  const type = ownValue(message, 'type');
  const fingerprint: Record<string, unknown> = {
    from: ownValue(message, 'from'),
    timestamp: ownValue(message, 'timestamp'),
    type,
  };
  if (typeof type === 'string' && !['from', 'timestamp', 'type'].includes(type)) {
    fingerprint[type] = ownValue(message, type);
  }
  return contentHashMessageId('montymobile', fingerprint);
}

/**
 * Parses a MontyMobile webhook body: Meta's envelope, re-serialised by Monty (REFERENCE §2.5), read by
 * the Meta parser with Monty's quirks: the sender is `messages[].from` (never `contacts[0].wa_id`);
 * messages from the business's own number (`sourceNumber`, or the value's display number; digits
 * compared) are ignored as echoes; a message without `id` gets `montyContentId`; media may be a
 * `link`/`url` instead of an id. `now` as in `parseMetaWebhook`.
 *
 * @throws WebhookRejected 400 when the body is not Meta's envelope.
 */
export function parseMontyWebhook(body: unknown, opts: { sourceNumber: string | null }, now: Date = new Date()): InboundBatch {
  const ownNumber = digitsOnly(opts.sourceNumber ?? '');
  const dialect: MetaDialect = {
    provider: 'montymobile',
    sender: 'from',
    ownNumbers: ownNumber === '' ? [] : [ownNumber],
    idForMessageWithoutId: montyContentId,
    acceptsMediaLinks: true,
    channelExternalId: null,
    metadata: {},
  };
  return parseMetaEnvelope(body, dialect, now);
}
