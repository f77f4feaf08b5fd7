import { DomainError } from '../../chat/errors.js';
import type { InboundBatch } from '../../chat/types.js';
import { parseCloudApiEnvelope, type CloudApiDialect } from '../cloud-api-envelope.js';
import { checkedBeforeBody, headerValue, sameSecret, type WebhookAdapter } from '../webhook-adapter.js';
import { contentHashMessageId } from '../../chat/message-id.js';
import { digitsOnly, ownValue } from '../wire-values.js';

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
 * @throws DomainError validation_failed when the body is not Meta's envelope.
 */
export function parseMontyWebhook(body: unknown, opts: { sourceNumber: string | null }, now: Date = new Date()): InboundBatch {
  const ownNumber = digitsOnly(opts.sourceNumber ?? '');
  const dialect: CloudApiDialect = {
    provider: 'montymobile',
    sender: 'from',
    ownNumbers: ownNumber === '' ? [] : [ownNumber],
    idForMessageWithoutId: montyContentId,
    acceptsMediaLinks: true,
    channelExternalId: null,
    metadata: {},
  };
  return parseCloudApiEnvelope(body, dialect, now);
}

/**
 * MontyMobile's webhook adapter: the `x-webhook-token` header (REFERENCE §2.5) authenticates the
 * request before its body is read; null without a configured token.
 */
export function montyWebhookAdapter({
  webhookToken,
  sourceNumber,
}: {
  webhookToken: string | null;
  sourceNumber: string | null;
}): WebhookAdapter | null {
  if (!webhookToken) return null;
  return checkedBeforeBody(
    'montymobile',
    (req) => {
      if (!sameSecret(headerValue(req, 'x-webhook-token'), webhookToken)) throw new DomainError('bad_signature', 'bad x-webhook-token');
    },
    (body, now) => parseMontyWebhook(body, { sourceNumber }, now),
  );
}
