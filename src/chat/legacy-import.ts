import { pathTooDeep } from './json-depth.js';
import { MESSAGE_TYPES } from './types.js';
import type { ConversationState, MessageType, Role } from './types.js';

/**
 * One message of the original system's Firestore export, normalised (SPEC §9).
 * `message_id` is assigned here by [ID8] and must be stored as is: it never changes afterwards [ID7].
 */
export interface LegacyMessage {
  message_id: string;
  role: Role;
  /** Unknown legacy types become `unsupported`, the original kept in `metadata.legacy_type`. */
  type: MessageType;
  text: string | null;
  timestamp: Date;
  /** From `audio_url` / `image_url`: the original system's own URL, not yet fetched. */
  media: { url: string; kind: 'audio' | 'image' } | null;
  /**
   * The stored metadata, plus `message_id` [ID4], `source_message_id` when known, `language`,
   * `legacy_type`, `legacy_message_id` (the stored id when the assigned one differs) and
   * `legacy_fields` (every unknown field of the message, under its own name).
   */
  metadata: Record<string, unknown>;
}

/** One conversation document of the export, normalised (SPEC §9). */
export interface LegacyConversation {
  /** The Firestore auto id; array form: the document's `id`, else `#<index>`. Unique within one export. */
  legacy_id: string;
  /**
   * `key` matches live traffic: the phone's digits without '+' (the `wa_id` form) when `user_id` is a
   * phone number, otherwise `user_id` trimmed (e.g. a Qiscus e-mail). `phone` is digits only, or null.
   */
  contact: { key: string; phone: string | null; name: string | null };
  state: ConversationState;
  operator_id: string | null;
  /** The legacy `escalation_reason`, verbatim. */
  handover_reason: string | null;
  /** The legacy `last_updated`. */
  updated_at: Date | null;
  /**
   * `legacy_status` (always), and when non-empty: `legacy_fields` (unknown conversation fields),
   * `legacy_customer_info` (unknown `customer_info` fields), `legacy_user` (unknown fields of the
   * nested form's user document).
   */
  metadata: Record<string, unknown>;
  /** In stored order, which is the display order of the original system. */
  messages: LegacyMessage[];
}

/**
 * A refused export. `path` names the bad field from the root in JS-like syntax, e.g.
 * `users["+9613956607"].conversations["abc"].messages[3].timestamp` or `[2].messages[0].role`;
 * `(root)` for the document itself. Nothing of a refused file may be imported.
 */
export class ImportError extends Error {
  readonly code = 'import_invalid';

  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
    this.name = 'ImportError';
  }
}

/** Deepest nesting of an export accepted (the real ones stay below 10); deeper is refused with its path. */
export const MAX_IMPORT_DEPTH = 64;

/**
 * Parses a Firestore export of the original system: `{ users: { <phone>: { conversations: { <id>: … } } } }`
 * or a plain array of conversation documents. Pure and deterministic: the same input always gives the
 * same ids, which is what makes a re-import a no-op. Throws an ImportError for the first bad field.
 * Other top-level keys of the nested form (other collections) are ignored. The input is not mutated.
 */
export function parseLegacyExport(json: unknown): LegacyConversation[] {
  const deep = pathTooDeep(json, MAX_IMPORT_DEPTH);
  if (deep !== null) throw new ImportError(deep || ROOT, `nested deeper than ${MAX_IMPORT_DEPTH} levels`);
  const seenIds = new Map<string, string>();
  if (Array.isArray(json)) return json.map((document, index) => parseArrayConversation(document, index, seenIds));
  if (isRecord(json) && Object.hasOwn(json, 'users')) return parseUsers(json.users, seenIds);
  throw new ImportError(ROOT, 'not a legacy export (expected {"users": {…}} or an array of conversations)');
}

/**
 * Reads one of the export's timestamp forms: ISO-8601 string (no zone means UTC; `T` or space
 * between date and time; any number of fraction digits, truncated to milliseconds),
 * `{_seconds,_nanoseconds}`, `{seconds,nanoseconds}` (optionally with the JS SDK's
 * `type: "firestore/timestamp/1.0"`), `{__time__: "<ISO>"}`, or epoch milliseconds.
 * Returns null for anything else, including out-of-range values.
 */
export function parseLegacyTimestamp(value: unknown): Date | null {
  if (typeof value === 'number') return Number.isFinite(value) ? dateFromMillis(Math.floor(value)) : null;
  if (typeof value === 'string') return parseIsoTimestamp(value);
  if (!isRecord(value)) return null;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === '__time__') {
    return typeof value.__time__ === 'string' ? parseIsoTimestamp(value.__time__) : null;
  }
  return parseSecondsTimestamp(value, '_seconds', '_nanoseconds', []) ?? parseSecondsTimestamp(value, 'seconds', 'nanoseconds', ['type']);
}

const ROOT = '(root)';

const TIMESTAMP_FORMS =
  'not a timestamp (expected ISO-8601, {_seconds,_nanoseconds}, {seconds,nanoseconds}, {__time__} or epoch milliseconds)';

const JS_SDK_TIMESTAMP_TYPE = 'firestore/timestamp/1.0';

const STATES: ReadonlyMap<string, ConversationState> = new Map([
  ['active', 'ai'],
  ['human', 'operator'],
  ['waiting_human', 'waiting'],
  ['resolved', 'resolved'],
  ['archived', 'resolved'],
]);

const ROLES: ReadonlyMap<string, Role> = new Map([
  ['user', 'user'],
  ['ai', 'assistant'],
  ['bot', 'assistant'],
  ['assistant', 'assistant'],
  ['operator', 'operator'],
  ['human', 'operator'],
  ['system', 'system'],
]);

const LEGACY_TYPES: ReadonlyMap<string, MessageType> = new Map([
  ...MESSAGE_TYPES.map((type): [string, MessageType] => [type, type]),
  ['image', 'photo'],
]);

/** [ID3] the shape of a generated id: never a provider's id. */
const GENERATED_ID = /^msg_\d{14}_[0-9a-f]{8}$/;

const USER_FIELDS = new Set(['name', 'phone_full', 'conversations']);
const CONVERSATION_FIELDS = new Set(['user_id', 'status', 'customer_info', 'operator_id', 'escalation_reason', 'last_updated', 'messages']);
const ARRAY_CONVERSATION_FIELDS = new Set([...CONVERSATION_FIELDS, 'id']);
const CUSTOMER_INFO_FIELDS = new Set(['name', 'phone_full']);
const MESSAGE_FIELDS = new Set(['role', 'text', 'timestamp', 'type', 'language', 'message_id', 'audio_url', 'image_url', 'metadata']);

type JsonObject = Record<string, unknown>;

/** Conversation id → path of the document that holds it. */
type SeenIds = Map<string, string>;

interface UserContext {
  key: string;
  name: string | null;
  phone_full: string | null;
  extra_fields: JsonObject;
}

function parseUsers(users: unknown, seenIds: SeenIds): LegacyConversation[] {
  const usersPath = 'users';
  const usersMap = requireRecord(users, usersPath, 'a map of phone number to user');
  const result: LegacyConversation[] = [];
  for (const [userKey, userDocument] of Object.entries(usersMap)) {
    const userPath = keyPath(usersPath, userKey);
    const user = requireRecord(userDocument, userPath, 'a user document');
    const context: UserContext = {
      key: userKey,
      name: optionalString(user.name, fieldPath(userPath, 'name')),
      phone_full: optionalScalarString(user.phone_full, fieldPath(userPath, 'phone_full')),
      extra_fields: unknownFields(user, USER_FIELDS),
    };
    const conversationsPath = fieldPath(userPath, 'conversations');
    const conversations = isAbsent(user.conversations)
      ? {}
      : requireRecord(user.conversations, conversationsPath, 'a map of conversation id to conversation');
    for (const [conversationId, document] of Object.entries(conversations)) {
      const path = keyPath(conversationsPath, conversationId);
      claimLegacyId(conversationId, path, seenIds);
      result.push(parseConversation(document, path, conversationId, context));
    }
  }
  return result;
}

function parseArrayConversation(document: unknown, index: number, seenIds: SeenIds): LegacyConversation {
  const path = `[${index}]`;
  const conversation = requireRecord(document, path, 'a conversation document');
  const idPath = fieldPath(path, 'id');
  const ownId = optionalId(conversation.id, idPath);
  const legacyId = ownId ?? `#${index}`;
  claimLegacyId(legacyId, ownId === null ? path : idPath, seenIds);
  return parseConversation(conversation, path, legacyId, null);
}

function claimLegacyId(legacyId: string, path: string, seenIds: SeenIds): void {
  const earlier = seenIds.get(legacyId);
  if (earlier !== undefined) {
    throw new ImportError(path, `duplicate conversation id ${JSON.stringify(legacyId)} (also at ${earlier})`);
  }
  seenIds.set(legacyId, path);
}

function parseConversation(document: unknown, path: string, legacyId: string, user: UserContext | null): LegacyConversation {
  const conversation = requireRecord(document, path, 'a conversation document');
  const userIdPath = fieldPath(path, 'user_id');
  const userId = optionalId(conversation.user_id, userIdPath) ?? user?.key.trim();
  if (userId === undefined || userId === '') throw new ImportError(userIdPath, 'missing');

  const statusPath = fieldPath(path, 'status');
  const status = isAbsent(conversation.status) ? 'active' : conversation.status;
  const state = typeof status === 'string' ? STATES.get(status) : undefined;
  if (state === undefined) {
    throw new ImportError(statusPath, `unknown status ${describe(status)} (expected ${[...STATES.keys()].join(', ')})`);
  }

  const customerPath = fieldPath(path, 'customer_info');
  const customer = isAbsent(conversation.customer_info) ? {} : requireRecord(conversation.customer_info, customerPath, 'an object');
  const customerName = optionalString(customer.name, fieldPath(customerPath, 'name'));
  const customerPhone = optionalScalarString(customer.phone_full, fieldPath(customerPath, 'phone_full'));

  const operatorId = optionalId(conversation.operator_id, fieldPath(path, 'operator_id'));
  const handoverReason = optionalString(conversation.escalation_reason, fieldPath(path, 'escalation_reason'));
  const updatedAt = optionalTimestamp(conversation.last_updated, fieldPath(path, 'last_updated'));
  const messages = parseMessages(conversation.messages, fieldPath(path, 'messages'));

  const metadata: JsonObject = { legacy_status: status };
  const extraFields = unknownFields(conversation, user ? CONVERSATION_FIELDS : ARRAY_CONVERSATION_FIELDS);
  if (hasKeys(extraFields)) metadata.legacy_fields = extraFields;
  const extraCustomerFields = unknownFields(customer, CUSTOMER_INFO_FIELDS);
  if (hasKeys(extraCustomerFields)) metadata.legacy_customer_info = extraCustomerFields;
  if (user && hasKeys(user.extra_fields)) metadata.legacy_user = user.extra_fields;

  const phone =
    phoneDigits(customerPhone) ?? phoneDigits(user?.phone_full ?? null) ?? phoneDigits(userId) ?? phoneDigits(user?.key ?? null);
  return {
    legacy_id: legacyId,
    contact: { key: phoneDigits(userId) ?? userId, phone, name: nonEmpty(customerName ?? user?.name ?? null) },
    state,
    operator_id: operatorId,
    handover_reason: handoverReason,
    updated_at: updatedAt,
    metadata,
    messages,
  };
}

interface MessageDraft {
  message: Omit<LegacyMessage, 'message_id'>;
  /** [ID8] the fallback chain's result before de-duplication. */
  base_id: string;
  /** The id the original system stored, if any: kept when the assigned id differs from it. */
  stored_id: string | null;
  /** Raw `metadata.message_id`, which the assigned id replaces [ID4]. */
  stored_metadata_id: unknown;
}

function parseMessages(value: unknown, path: string): LegacyMessage[] {
  if (isAbsent(value)) return [];
  if (!Array.isArray(value)) throw new ImportError(path, `not an array (got ${describe(value)})`);
  const drafts = value.map((message, index) => parseMessage(message, `${path}[${index}]`));
  return assignMessageIds(drafts);
}

function parseMessage(value: unknown, path: string): MessageDraft {
  const message = requireRecord(value, path, 'a message');

  const rolePath = fieldPath(path, 'role');
  if (isAbsent(message.role)) throw new ImportError(rolePath, 'missing');
  const role = typeof message.role === 'string' ? ROLES.get(message.role) : undefined;
  if (role === undefined) {
    throw new ImportError(rolePath, `unknown role ${describe(message.role)} (expected ${[...ROLES.keys()].join(', ')})`);
  }

  const text = optionalString(message.text, fieldPath(path, 'text'));

  const timestampPath = fieldPath(path, 'timestamp');
  if (isAbsent(message.timestamp)) throw new ImportError(timestampPath, 'missing (expected a timestamp)');
  const timestamp = parseLegacyTimestamp(message.timestamp);
  if (timestamp === null) throw new ImportError(timestampPath, TIMESTAMP_FORMS);

  const language = optionalString(message.language, fieldPath(path, 'language'));
  const ownId = optionalId(message.message_id, fieldPath(path, 'message_id'));
  const audioUrl = nonEmpty(optionalString(message.audio_url, fieldPath(path, 'audio_url')));
  const imageUrl = nonEmpty(optionalString(message.image_url, fieldPath(path, 'image_url')));

  const metadataPath = fieldPath(path, 'metadata');
  const storedMetadata = isAbsent(message.metadata) ? {} : requireRecord(message.metadata, metadataPath, 'an object');
  const metadataId = optionalId(storedMetadata.message_id, fieldPath(metadataPath, 'message_id'));
  const metadataSourceId = optionalId(storedMetadata.source_message_id, fieldPath(metadataPath, 'source_message_id'));

  const typePath = fieldPath(path, 'type');
  let type: MessageType;
  let legacyType: string | null = null;
  if (isAbsent(message.type)) {
    type = audioUrl ? 'voice' : imageUrl ? 'photo' : 'text';
  } else if (typeof message.type === 'string') {
    const known = LEGACY_TYPES.get(message.type);
    type = known ?? 'unsupported';
    if (known === undefined) legacyType = message.type;
  } else {
    throw new ImportError(typePath, `not a string (got ${describe(message.type)})`);
  }

  const extraFields = unknownFields(message, MESSAGE_FIELDS);
  let media: LegacyMessage['media'] = null;
  if (imageUrl !== null && (type === 'photo' || audioUrl === null)) {
    media = { url: imageUrl, kind: 'image' };
    if (audioUrl !== null) extraFields.audio_url = audioUrl;
  } else if (audioUrl !== null) {
    media = { url: audioUrl, kind: 'audio' };
    if (imageUrl !== null) extraFields.image_url = imageUrl;
  }

  const metadata: JsonObject = { ...storedMetadata };
  const sourceId = sourceMessageId(storedMetadata, metadataPath, role === 'user' ? ownId : null);
  if (sourceId !== null) metadata.source_message_id = sourceId;
  if (language !== null && !Object.hasOwn(metadata, 'language')) metadata.language = language;
  if (legacyType !== null) metadata.legacy_type = legacyType;
  if (hasKeys(extraFields)) metadata.legacy_fields = extraFields;

  return {
    message: { role, type, text, timestamp, media, metadata },
    base_id: ownId ?? metadataId ?? metadataSourceId ?? `ts_${timestamp.toISOString()}`,
    stored_id: ownId ?? metadataId,
    stored_metadata_id: storedMetadata.message_id,
  };
}

/**
 * [ID8] Later messages (stored order) whose id is already taken get `_2`, `_3` … — skipping any
 * suffix another message of the conversation already holds — so ids never collide. This covers
 * `ts_` ids sharing a timestamp and also duplicate stored ids (a provider message the original
 * system saved twice): both rows are kept, the later one with `legacy_message_id` naming its stored id.
 */
function assignMessageIds(drafts: MessageDraft[]): LegacyMessage[] {
  const taken = new Set(drafts.map((draft) => draft.base_id));
  const firstHolders = new Set<string>();
  return drafts.map((draft) => {
    let messageId = draft.base_id;
    if (firstHolders.has(messageId)) {
      let suffix = 2;
      while (taken.has(`${draft.base_id}_${suffix}`)) suffix += 1;
      messageId = `${draft.base_id}_${suffix}`;
      taken.add(messageId);
    } else {
      firstHolders.add(messageId);
    }
    const metadata: JsonObject = { ...draft.message.metadata, message_id: messageId };
    if (!isAbsent(draft.stored_metadata_id) && draft.stored_metadata_id !== messageId) {
      metadata.legacy_message_id = draft.stored_metadata_id;
    } else if (draft.stored_id !== null && draft.stored_id !== messageId) {
      metadata.legacy_message_id = draft.stored_id;
    }
    return { message_id: messageId, ...draft.message, metadata };
  });
}

/**
 * [ID2] the provider's id: the first of metadata's `source_message_id`, `message_id`,
 * `webhook_message_id`, `wamid`, then (user messages only) the message's own id. Ids of the [ID3]
 * `msg_…` shape are skipped: the original system gave them to messages without a provider id and
 * copied every message's own id into `metadata.message_id`.
 */
function sourceMessageId(metadata: JsonObject, path: string, userMessageId: string | null): string | null {
  for (const key of ['source_message_id', 'message_id', 'webhook_message_id', 'wamid']) {
    const id = optionalId(metadata[key], fieldPath(path, key));
    if (id !== null && !GENERATED_ID.test(id)) return id;
  }
  return userMessageId !== null && !GENERATED_ID.test(userMessageId) ? userMessageId : null;
}

const ISO_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

function parseIsoTimestamp(value: string): Date | null {
  const match = ISO_TIMESTAMP.exec(value);
  if (!match) return null;
  const [, year, month, day, hour = '0', minute = '0', second = '0', fraction = '', zone = 'Z'] = match;
  const parts = [year, month, day, hour, minute, second].map(Number) as [number, number, number, number, number, number];
  const [y, mo, d, h, mi, s] = parts;
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, Number(fraction.slice(0, 3).padEnd(3, '0')));
  const isRealDate =
    date.getUTCFullYear() === y &&
    date.getUTCMonth() === mo - 1 &&
    date.getUTCDate() === d &&
    date.getUTCHours() === h &&
    date.getUTCMinutes() === mi &&
    date.getUTCSeconds() === s;
  if (!isRealDate) return null;
  const offsetMinutes = zoneOffsetMinutes(zone);
  if (offsetMinutes === null) return null;
  return dateFromMillis(date.getTime() - offsetMinutes * 60_000);
}

function zoneOffsetMinutes(zone: string): number | null {
  if (zone.toUpperCase() === 'Z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2) || '0');
  if (hours > 23 || minutes > 59) return null;
  return (zone.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
}

function parseSecondsTimestamp(value: JsonObject, secondsKey: string, nanosKey: string, optionalKeys: string[]): Date | null {
  if (!Object.hasOwn(value, secondsKey)) return null;
  const allowed = new Set([secondsKey, nanosKey, ...optionalKeys]);
  if (!Object.keys(value).every((key) => allowed.has(key))) return null;
  if (Object.hasOwn(value, 'type') && value.type !== JS_SDK_TIMESTAMP_TYPE) return null;
  const seconds = value[secondsKey];
  const nanos = value[nanosKey] ?? 0;
  if (typeof seconds !== 'number' || !Number.isInteger(seconds)) return null;
  if (typeof nanos !== 'number' || !Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) return null;
  return dateFromMillis(seconds * 1000 + Math.floor(nanos / 1_000_000));
}

function dateFromMillis(millis: number): Date | null {
  const date = new Date(millis);
  return Number.isNaN(date.getTime()) ? null : date;
}

function optionalTimestamp(value: unknown, path: string): Date | null {
  if (isAbsent(value)) return null;
  const date = parseLegacyTimestamp(value);
  if (date === null) throw new ImportError(path, TIMESTAMP_FORMS);
  return date;
}

/** Ids: trimmed strings or numbers (stringified); empty counts as absent. */
function optionalId(value: unknown, path: string): string | null {
  if (isAbsent(value)) return null;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'string') return nonEmpty(value.trim());
  throw new ImportError(path, `not an id (expected a string or number, got ${describe(value)})`);
}

function optionalString(value: unknown, path: string): string | null {
  if (isAbsent(value)) return null;
  if (typeof value === 'string') return value;
  throw new ImportError(path, `not a string (got ${describe(value)})`);
}

function optionalScalarString(value: unknown, path: string): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return optionalString(value, path);
}

/** Digits of a phone number written with an optional '+', spaces, dots, dashes or parentheses. */
function phoneDigits(value: string | null): string | null {
  if (value === null || !/^\s*\+?[\d\s().-]+$/.test(value)) return null;
  const digits = value.replace(/\D/g, '');
  return digits.length >= 5 ? digits : null;
}

function requireRecord(value: unknown, path: string, expected: string): JsonObject {
  if (isRecord(value)) return value;
  throw new ImportError(path, `not ${expected} (got ${describe(value)})`);
}

function unknownFields(value: JsonObject, known: ReadonlySet<string>): JsonObject {
  return Object.fromEntries(Object.entries(value).filter(([key]) => !known.has(key)));
}

function isRecord(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isAbsent(value: unknown): value is null | undefined {
  return value === null || value === undefined;
}

function hasKeys(value: JsonObject): boolean {
  return Object.keys(value).length > 0;
}

function nonEmpty(value: string | null): string | null {
  return value === null || value === '' ? null : value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value;
}

function fieldPath(base: string, field: string): string {
  return `${base}.${field}`;
}

function keyPath(base: string, key: string): string {
  return `${base}[${JSON.stringify(key)}]`;
}
