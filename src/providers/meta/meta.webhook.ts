import { createHmac, timingSafeEqual } from 'node:crypto';
import { DomainError } from '../../chat/errors.js';
import type { InboundBatch } from '../../chat/types.js';
import { parseCloudApiEnvelope, type CloudApiDialect } from '../cloud-api-envelope.js';
import { headerValue, sameSecret, type WebhookAdapter } from '../webhook-adapter.js';

const SIGNATURE_HEADER = /^sha256=([0-9a-f]{64})$/i;

/**
 * Checks `X-Hub-Signature-256` (REFERENCE §1.3): `sha256=` + hex HMAC-SHA256 of the raw request bytes,
 * keyed by the app secret, compared in constant time. False for a missing or malformed header and for
 * an empty secret; never throws.
 */
export function verifyMetaSignature(raw: Buffer, header: string | undefined, appSecret: string): boolean {
  if (typeof header !== 'string' || typeof appSecret !== 'string' || appSecret === '') return false;
  if (!Buffer.isBuffer(raw)) return false;
  const hex = SIGNATURE_HEADER.exec(header.trim())?.[1];
  if (hex === undefined) return false;
  const expected = createHmac('sha256', appSecret).update(raw).digest();
  return timingSafeEqual(Buffer.from(hex, 'hex'), expected);
}

/**
 * The same check as verifyMetaSignature, made while the body arrives: null when the header is
 * missing or malformed (refuse before reading), else a hasher to feed the bytes and ask at the end.
 */
export function startMetaSignatureCheck(
  header: string | undefined,
  appSecret: string,
): { update(chunk: Buffer): void; matches(): boolean } | null {
  if (typeof header !== 'string' || appSecret === '') return null;
  const hex = SIGNATURE_HEADER.exec(header.trim())?.[1];
  if (hex === undefined) return null;
  const hmac = createHmac('sha256', appSecret);
  return {
    update: (chunk) => void hmac.update(chunk),
    matches: () => timingSafeEqual(Buffer.from(hex, 'hex'), hmac.digest()),
  };
}

/**
 * Meta's subscription handshake (GET /webhooks/meta, REFERENCE §1.2): the challenge to echo when
 * `hub.mode` is `subscribe` and `hub.verify_token` is the configured one. A repeated query key
 * arrives as an array and never verifies.
 *
 * @throws DomainError forbidden otherwise, also when no verify token is configured.
 */
export function answerMetaSubscription(query: Record<string, unknown>, verifyToken: string | null): string {
  const challenge = query['hub.challenge'];
  if (
    query['hub.mode'] === 'subscribe' &&
    verifyToken &&
    typeof challenge === 'string' &&
    sameSecret(query['hub.verify_token'], verifyToken)
  ) {
    return challenge;
  }
  throw new DomainError('forbidden', 'verification failed');
}

const META_DIALECT: CloudApiDialect = {
  provider: 'meta',
  sender: 'contacts',
  ownNumbers: [],
  idForMessageWithoutId: null,
  acceptsMediaLinks: false,
  channelExternalId: null,
  metadata: {},
};

/**
 * Parses one Meta Cloud API webhook body (already JSON-decoded): every entry, change, message and
 * status. Items that cannot be used (no id, no sender, unknown status, value-level errors, other
 * change fields) land in `ignored` with a reason; unknown or malformed message types become
 * `unsupported` with the raw message in `metadata.raw`.
 *
 * `now` is the receipt time: the timestamp of any message or status whose own is missing or
 * malformed (provider timestamps are only shown, never used to order).
 *
 * @throws DomainError validation_failed when the body is not Meta's envelope: not an object, no
 *   `entry` array, or an `object` other than `whatsapp_business_account`.
 */
export function parseMetaWebhook(body: unknown, now: Date = new Date()): InboundBatch {
  return parseCloudApiEnvelope(body, META_DIALECT, now);
}

const BAD_SIGNATURE = 'bad X-Hub-Signature-256';

/** Meta's webhook adapter: the body authenticates itself (HMAC of the raw bytes); null without an app secret. */
export function metaWebhookAdapter({ appSecret }: { appSecret: string | null }): WebhookAdapter | null {
  if (!appSecret) return null;
  return {
    provider: 'meta',
    verify: (req) => {
      if (!verifyMetaSignature(req.rawBody, headerValue(req, 'x-hub-signature-256'), appSecret)) {
        throw new DomainError('bad_signature', BAD_SIGNATURE);
      }
    },
    begin: (req) => {
      const check = startMetaSignatureCheck(headerValue(req, 'x-hub-signature-256'), appSecret);
      if (!check) throw new DomainError('bad_signature', BAD_SIGNATURE);
      return {
        update: (chunk) => check.update(chunk),
        finish: () => {
          if (!check.matches()) throw new DomainError('bad_signature', BAD_SIGNATURE);
        },
      };
    },
    bodyAuthenticates: true,
    parse: (body, now) => parseMetaWebhook(body, now),
  };
}
