import { createHash, randomBytes } from 'node:crypto';
import { DomainError } from './errors.js';

/** [ID3] The shape of every id Switchboard generates itself. */
export const GENERATED_ID_PATTERN = /^msg_\d{14}_[0-9a-f]{8}$/;

/** [ID2] Metadata keys that may carry the provider's id, in order of preference. */
export const SOURCE_ID_KEYS = ['source_message_id', 'message_id', 'webhook_message_id', 'wamid'] as const;

const RANDOM_BYTES = 4;

/**
 * [ID3] `msg_{YYYYMMDDHHMMSS}_{8 hex}`: the UTC wall clock of `now` and 4 bytes from `random`
 * (a cryptographic source by default). Uniqueness is the caller's concern: see
 * `generateUniqueMessageId` and the store's unique index [ID5].
 */
export function generateMessageId(now: Date = new Date(), random: (bytes: number) => Buffer = randomBytes): string {
  const time = now.getTime();
  if (!Number.isFinite(time) || now.getUTCFullYear() < 0 || now.getUTCFullYear() > 9999) {
    throw new RangeError('generateMessageId: date outside years 0000-9999');
  }
  const bytes = random(RANDOM_BYTES);
  if (bytes.length < RANDOM_BYTES) throw new RangeError(`generateMessageId: need ${RANDOM_BYTES} random bytes`);
  return `msg_${utcStamp(now)}_${bytes.subarray(0, RANDOM_BYTES).toString('hex')}`;
}

/**
 * [ID6] A generated id that `isTaken` does not report as used. A collision is regenerated, never
 * returned; after `maxAttempts` collisions this throws `conflict`. The store's unique index stays
 * the final guard against a race between the check and the insert.
 */
export async function generateUniqueMessageId(
  isTaken: (id: string) => boolean | Promise<boolean>,
  now: () => Date = () => new Date(),
  random: (bytes: number) => Buffer = randomBytes,
  maxAttempts = 8,
): Promise<string> {
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const id = generateMessageId(now(), random);
    if (!(await isTaken(id))) return id;
  }
  throw new DomainError('conflict', `no free message id after ${maxAttempts} attempts`, { attempts: maxAttempts });
}

/**
 * [ID2] The provider's id for a message, from its metadata: the first non-empty of
 * `SOURCE_ID_KEYS`. Strings are trimmed, finite numbers and bigints stringified; anything else
 * (null, objects, booleans, blank strings) is skipped.
 */
export function extractSourceMessageId(metadata: Record<string, unknown> | null | undefined): string | null {
  if (!metadata) return null;
  for (const key of SOURCE_ID_KEYS) {
    const id = idString(metadata[key]);
    if (id !== null) return id;
  }
  return null;
}

const CONTENT_HASH_PREFIX: Record<string, string> = { montymobile: 'mm' };

/**
 * A deterministic id for a provider message that arrived without one (MontyMobile):
 * `{prefix}_` + the first 32 hex of sha256 over the canonical JSON (sorted keys) of `parts`.
 * The same parts always give the same id, so a redelivery is still deduplicated [ID5].
 * The prefix is `mm` for MontyMobile, otherwise the provider name.
 */
export function contentHashMessageId(provider: string, parts: unknown): string {
  const prefix = CONTENT_HASH_PREFIX[provider] ?? provider;
  const digest = createHash('sha256').update(canonicalJson(parts)).digest('hex');
  return `${prefix}_${digest.slice(0, 32)}`;
}

/** Deepest nesting canonicalJson walks; the edges cut input far above this (webhooks at 64 levels). */
export const CANONICAL_JSON_MAX_DEPTH = 256;

/**
 * JSON with object keys sorted at every depth; `undefined` members dropped as JSON.stringify does.
 * Throws `validation_failed` for nesting deeper than CANONICAL_JSON_MAX_DEPTH (never a stack overflow).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value, new Set(), 0));
}

function sortKeys(value: unknown, ancestors: Set<object>, depth: number): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (depth >= CANONICAL_JSON_MAX_DEPTH) {
    throw new DomainError('validation_failed', `nested deeper than ${CANONICAL_JSON_MAX_DEPTH} levels`, {
      max_depth: CANONICAL_JSON_MAX_DEPTH,
    });
  }
  const withJson = value as { toJSON?: () => unknown };
  if (typeof withJson.toJSON === 'function') return sortKeys(withJson.toJSON(), ancestors, depth + 1);
  if (ancestors.has(value)) throw new TypeError('canonicalJson: circular structure');
  ancestors.add(value);
  let out: unknown;
  if (Array.isArray(value)) {
    out = value.map((item) => sortKeys(item, ancestors, depth + 1));
  } else {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      sorted[key] = sortKeys((value as Record<string, unknown>)[key], ancestors, depth + 1);
    }
    out = sorted;
  }
  ancestors.delete(value);
  return out;
}

function idString(value: unknown): string | null {
  if (typeof value === 'string') return value.trim() || null;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null;
  if (typeof value === 'bigint') return value.toString();
  return null;
}

function utcStamp(date: Date): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return (
    pad(date.getUTCFullYear(), 4) +
    pad(date.getUTCMonth() + 1) +
    pad(date.getUTCDate()) +
    pad(date.getUTCHours()) +
    pad(date.getUTCMinutes()) +
    pad(date.getUTCSeconds())
  );
}
