import type { z } from 'zod';
import { DomainError } from '../chat/errors.js';
import { wellFormedMimeType } from '../chat/mime-type.js';
import type {
  InboundBatch,
  InboundMessage,
  InboundOperation,
  MediaRef,
  MessageType,
  Provider,
  ProviderError,
  StatusUpdate,
} from '../chat/types.js';
import {
  metaButtonSchema,
  metaChangeSchema,
  metaContactCardSchema,
  metaContactSchema,
  metaEditSchema,
  metaEntrySchema,
  metaEnvelopeSchema,
  metaErrorSchema,
  metaInteractiveSchema,
  metaLocationSchema,
  metaMediaSchema,
  metaMessageSchema,
  metaReactionSchema,
  metaRevokeSchema,
  metaStatusSchema,
  metaSystemSchema,
  metaTextSchema,
  metaUnsupportedSchema,
  metaValueSchema,
} from './meta/meta.schema.js';
import { dateFromUnixSeconds, digitsOnly, isRecord, nonBlank, ownValue, withoutPlus } from './wire-values.js';

/*
 * The WhatsApp Cloud API webhook envelope (REFERENCE §1.5–1.8), read for the three providers: Meta
 * sends it, MontyMobile re-serialises it, Qiscus forwards its `value` flattened. They differ only in
 * their dialect.
 */

type MetaContact = z.infer<typeof metaContactSchema>;
type MetaMessage = z.infer<typeof metaMessageSchema>;

/**
 * How one provider's copy of Meta's `changes[].value` is read. Meta's own webhook, MontyMobile's
 * re-serialised envelope and Qiscus's flattened WA forward share one parser and differ only here.
 */
export interface CloudApiDialect {
  provider: Provider;
  /**
   * Where the customer's phone comes from. `contacts`: the matching `contacts[].wa_id` (Meta's
   * canonical number, which may differ from `from`), else `from`. `from`: `messages[].from` only,
   * because MontyMobile may repeat one contact for every message.
   */
  sender: 'contacts' | 'from';
  /**
   * Digits of the business's own numbers. Messages from them are echoes of our sends and are ignored;
   * `metadata.display_phone_number` always counts as one.
   */
  ownNumbers: readonly string[];
  /** Gives a message without `id` a deterministic id (MontyMobile); null: such messages are ignored. */
  idForMessageWithoutId: ((message: Record<string, unknown>) => string) | null;
  /** Media objects may name a plain `link`/`url` instead of a media `id` (MontyMobile). */
  acceptsMediaLinks: boolean;
  /** Used as channel_external_id instead of `metadata.phone_number_id` (Qiscus's own channel id). */
  channelExternalId: string | null;
  /** Merged into every message's metadata. */
  metadata: Readonly<Record<string, unknown>>;
}

/**
 * Parses one WhatsApp Cloud API webhook body (already JSON-decoded) in a provider's dialect: every
 * entry, change, message and status.
 *
 * @throws DomainError validation_failed when the body is not the envelope: not an object, no `entry`
 *   array, or an `object` other than `whatsapp_business_account`.
 */
export function parseCloudApiEnvelope(body: unknown, dialect: CloudApiDialect, now: Date): InboundBatch {
  const envelope = metaEnvelopeSchema.safeParse(body);
  if (!envelope.success) {
    throw new DomainError('validation_failed', 'not a WhatsApp webhook: expected an object with an "entry" array');
  }
  const { object, entry } = envelope.data;
  if (object !== undefined && object !== 'whatsapp_business_account') {
    throw new DomainError('validation_failed', `not a WhatsApp webhook: object is ${JSON.stringify(object.slice(0, 64))}`);
  }
  const batch: InboundBatch = { messages: [], statuses: [], ignored: [] };
  entry.forEach((rawEntry, e) => {
    const parsedEntry = metaEntrySchema.safeParse(rawEntry);
    if (!parsedEntry.success) {
      batch.ignored.push({ reason: `entry[${e}]: no changes array` });
      return;
    }
    parsedEntry.data.changes.forEach((rawChange, c) => {
      const where = `entry[${e}].changes[${c}]`;
      const change = metaChangeSchema.safeParse(rawChange);
      if (!change.success) {
        batch.ignored.push({ reason: `${where}: not an object` });
        return;
      }
      const { field } = change.data;
      if (field !== undefined && field !== 'messages') {
        batch.ignored.push({ reason: `${where}: field ${describeField(field)} is not handled` });
        return;
      }
      parseCloudApiValue(change.data.value, dialect, now, batch, `${where}.value`);
    });
  });
  return batch;
}

/**
 * Reads one Meta `value` object (`metadata`, `contacts`, `messages`, `statuses`, `errors`) into
 * `batch`. Never throws: a value that is not an object is itself recorded as ignored.
 */
export function parseCloudApiValue(value: unknown, dialect: CloudApiDialect, now: Date, batch: InboundBatch, where = 'value'): void {
  const parsed = metaValueSchema.safeParse(value);
  if (!parsed.success) {
    batch.ignored.push({ reason: `${where}: not an object` });
    return;
  }
  const { metadata, contacts = [], messages = [], statuses = [], errors = [] } = parsed.data;
  errors.forEach((error, i) => batch.ignored.push({ reason: `${where}.errors[${i}]: ${describeError(error)}` }));

  const displayNumber = metadata?.display_phone_number;
  const context: ValueContext = {
    dialect,
    now,
    channelExternalId: dialect.channelExternalId ?? metadata?.phone_number_id ?? null,
    channelName: displayNumber ?? null,
    contacts: contacts.flatMap((contact) => {
      const result = metaContactSchema.safeParse(contact);
      return result.success ? [result.data] : [];
    }),
    ownNumbers: [...dialect.ownNumbers, displayNumber ?? ''].map(digitsOnly).filter((number) => number !== ''),
  };

  messages.forEach((raw, i) => {
    const message = readMessage(raw, context);
    if (typeof message === 'string') batch.ignored.push({ reason: `${where}.messages[${i}]: ${message}` });
    else if ('kind' in message) (batch.operations ??= []).push(message);
    else batch.messages.push(message);
  });
  statuses.forEach((raw, i) => {
    const status = readStatus(raw, context);
    if (typeof status === 'string') batch.ignored.push({ reason: `${where}.statuses[${i}]: ${status}` });
    else batch.statuses.push(status);
  });
}

interface ValueContext {
  dialect: CloudApiDialect;
  now: Date;
  channelExternalId: string | null;
  channelName: string | null;
  contacts: MetaContact[];
  ownNumbers: string[];
}

interface Content {
  type: MessageType;
  text: string | null;
  media: MediaRef | null;
  metadata: Record<string, unknown>;
  /** A reaction: the message it is on, its `reply_to` (a quote's context names it otherwise). */
  reactsTo?: string | null;
  /** Set for an edit, a revoke or a system notice: the message is an operation, not a message of its own. */
  operation?: Pick<InboundOperation, 'kind' | 'target_message_id' | 'new_wa_id'>;
}

/** The message (or the operation it carries), or why it is ignored. */
function readMessage(raw: unknown, context: ValueContext): InboundMessage | InboundOperation | string {
  const parsed = metaMessageSchema.safeParse(raw);
  if (!parsed.success || !isRecord(raw)) return 'not an object';
  const message = parsed.data;
  const { dialect } = context;

  const from = phone(message.from);
  const fromUserId = nonBlank(message.from_user_id);
  if (from !== null && context.ownNumbers.includes(digitsOnly(from))) {
    return `echo from the business's own number ${from}`;
  }
  const id = nonBlank(message.id) ?? dialect.idForMessageWithoutId?.(raw) ?? null;
  if (id === null) return 'message without id';

  const contact = findContact(context, from, fromUserId);
  const waId = dialect.sender === 'contacts' ? (phone(contact?.wa_id) ?? from) : from;
  const contactKey = waId ?? fromUserId;
  if (contactKey === null) return `message ${id}: no sender (from, wa_id or from_user_id)`;
  if (context.channelExternalId === null) return `message ${id}: no metadata.phone_number_id`;

  const content = readContent(message.type, raw, dialect);
  const username = nonBlank(contact?.profile?.username);
  const inbound: InboundMessage = {
    // Only when the customer has one (2026 usernames): most messages carry none.
    ...(username !== null ? { contact_username: username } : {}),
    provider: dialect.provider,
    provider_message_id: id,
    channel_external_id: context.channelExternalId,
    channel_name: context.channelName,
    contact_key: contactKey,
    wa_id: waId,
    user_id: fromUserId ?? nonBlank(contact?.user_id),
    contact_name: nonBlank(contact?.profile?.name),
    type: content.type,
    text: content.text,
    media: content.media,
    reply_to: nonBlank(message.context?.id) ?? content.reactsTo ?? null,
    timestamp: dateFromUnixSeconds(message.timestamp) ?? context.now,
    metadata: { ...dialect.metadata, ...commonMetadata(message, contact), ...content.metadata },
    error: readError(message.errors?.[0]),
  };
  return content.operation ? { ...content.operation, message: inbound } : inbound;
}

/**
 * The `contacts[]` entry describing this sender. Meta: by phone, else by BSUID, else the only one.
 * MontyMobile: by phone only, since its contacts may belong to someone else.
 */
function findContact(context: ValueContext, from: string | null, fromUserId: string | null): MetaContact | undefined {
  const { contacts, dialect } = context;
  const byPhone = from === null ? undefined : contacts.find((contact) => phone(contact.wa_id) === from);
  if (dialect.sender === 'from') return byPhone;
  const byUserId = fromUserId === null ? undefined : contacts.find((contact) => contact.user_id === fromUserId);
  return byPhone ?? byUserId ?? (contacts.length === 1 ? contacts[0] : undefined);
}

function commonMetadata(message: MetaMessage, contact: MetaContact | undefined): Record<string, unknown> {
  const metadata: Record<string, unknown> = {};
  const { context, referral } = message;
  if (context?.forwarded === true || context?.frequently_forwarded === true) {
    metadata['forwarded'] = true;
    if (context.frequently_forwarded === true) metadata['frequently_forwarded'] = true;
  }
  if (context?.referred_product) metadata['referred_product'] = context.referred_product;
  if (referral) metadata['referral'] = referral;
  const username = nonBlank(contact?.profile?.username);
  if (username !== null) metadata['username'] = username;
  return metadata;
}

function readContent(type: string | undefined, message: Record<string, unknown>, dialect: CloudApiDialect): Content {
  if (type === undefined) return unsupported(message, null, 'message without type');
  const body = ownValue(message, type);
  const malformed = (): Content => unsupported(message, type, `missing or malformed "${type}" object`);

  switch (type) {
    case 'text': {
      const text = metaTextSchema.safeParse(body);
      return text.success ? content('text', text.data.body) : malformed();
    }
    case 'image':
    case 'audio':
    case 'video':
    case 'document':
    case 'sticker': {
      const media = metaMediaSchema.safeParse(body);
      if (!media.success) return malformed();
      const caption = nonEmpty(media.data.caption);
      const kind: MessageType = type === 'image' ? 'photo' : type === 'audio' ? (media.data.voice === true ? 'voice' : 'audio') : type;
      const metadata: Record<string, unknown> = {};
      if (type === 'sticker' && media.data.animated !== undefined) metadata['animated'] = media.data.animated;
      return { type: kind, text: caption, media: readMedia(media.data, caption, dialect), metadata };
    }
    case 'location': {
      const location = metaLocationSchema.safeParse(body);
      if (!location.success) return malformed();
      const { latitude, longitude, name, address, url } = location.data;
      return content('location', nonEmpty(name) ?? nonEmpty(address), {
        location: { latitude, longitude, name: name ?? null, address: address ?? null, url: url ?? null },
      });
    }
    case 'contacts': {
      if (!Array.isArray(body)) return malformed();
      const names = body.flatMap((card) => {
        const name = metaContactCardSchema.safeParse(card).data?.name;
        const formatted = nonBlank(name?.formatted_name) ?? nonBlank([name?.first_name, name?.last_name].filter(Boolean).join(' '));
        return formatted === null ? [] : [formatted];
      });
      return content('contacts', names.length > 0 ? names.join(', ') : null, { contacts: body });
    }
    case 'interactive': {
      const interactive = metaInteractiveSchema.safeParse(body);
      if (!interactive.success) return malformed();
      const subtype = interactive.data.type;
      const reply =
        subtype === 'button_reply' ? interactive.data.button_reply : subtype === 'list_reply' ? interactive.data.list_reply : undefined;
      if (reply === undefined) return unsupported(message, `interactive.${subtype}`, 'unknown interactive type');
      return content('interactive', reply.title, {
        interactive: { type: subtype, id: reply.id, title: reply.title, description: reply.description ?? null },
      });
    }
    case 'button': {
      const button = metaButtonSchema.safeParse(body);
      if (!button.success) return malformed();
      const { payload, text } = button.data;
      return content('button', text ?? payload ?? null, {
        button: { payload: payload ?? null, text: text ?? null },
      });
    }
    case 'reaction': {
      const reaction = metaReactionSchema.safeParse(body);
      if (!reaction.success) return malformed();
      const emoji = nonEmpty(reaction.data.emoji);
      return {
        ...content('reaction', emoji, { reaction: { message_id: reaction.data.message_id, emoji, removed: emoji === null } }),
        reactsTo: nonBlank(reaction.data.message_id),
      };
    }
    case 'edit': {
      const edit = metaEditSchema.safeParse(body);
      if (!edit.success) return malformed();
      const inner = edit.data.message;
      const innerType = typeof inner['type'] === 'string' ? inner['type'] : undefined;
      const edited =
        innerType === 'edit' || innerType === 'revoke' || innerType === 'system'
          ? unsupported(message, 'edit', `an edit cannot carry a "${innerType}"`)
          : readContent(innerType, inner, dialect);
      if (edited.type === 'unsupported') return unsupported(message, 'edit', 'missing or malformed "edit.message"');
      return { ...edited, operation: { kind: 'edit', target_message_id: edit.data.original_message_id.trim() } };
    }
    case 'revoke': {
      const revoke = metaRevokeSchema.safeParse(body);
      if (!revoke.success) return malformed();
      return { ...content('unsupported', null), operation: { kind: 'revoke', target_message_id: revoke.data.original_message_id.trim() } };
    }
    case 'system': {
      const system = metaSystemSchema.safeParse(body);
      if (!system.success || !isRecord(body)) return malformed();
      const { type: systemType, body: text, wa_id: waId, new_wa_id: newWaId } = system.data;
      const changedNumber = systemType === 'user_changed_number' ? (phone(waId) ?? phone(newWaId)) : null;
      return {
        ...content('event', nonBlank(text) ?? `WhatsApp system notice: ${systemType ?? 'unknown'}`, { system: body }),
        operation: { kind: 'system', target_message_id: null, new_wa_id: changedNumber },
      };
    }
    case 'unsupported': {
      const inner = metaUnsupportedSchema.safeParse(body).data?.type;
      return { type: 'unsupported', text: null, media: null, metadata: { unsupported_type: inner ?? null, raw: message } };
    }
    default:
      return unsupported(message, type, 'unknown type');
  }
}

function content(type: MessageType, text: string | null, metadata: Record<string, unknown> = {}): Content {
  return { type, text, media: null, metadata };
}

function unsupported(message: Record<string, unknown>, type: string | null, reason: string): Content {
  return {
    type: 'unsupported',
    text: null,
    media: null,
    metadata: { unsupported_type: type, unsupported_reason: reason, raw: message },
  };
}

/** A media id when there is one; a plain URL only where the dialect allows it (Meta's `url` needs the token, §1.6). */
function readMedia(media: z.infer<typeof metaMediaSchema>, caption: string | null, dialect: CloudApiDialect): MediaRef | null {
  const link = nonBlank(media.link) ?? nonBlank(media.url);
  const ref: Pick<MediaRef, 'ref' | 'kind'> | null =
    media.id !== undefined
      ? { ref: media.id, kind: 'provider_id' }
      : dialect.acceptsMediaLinks && link !== null
        ? { ref: link, kind: 'url' }
        : null;
  if (ref === null) return null;
  return {
    ...ref,
    // A malformed type (CR/LF …) is dropped at ingest: it would become a Content-Type header.
    mime_type: wellFormedMimeType(media.mime_type),
    sha256: nonBlank(media.sha256),
    filename: nonBlank(media.filename),
    caption,
  };
}

const STATUSES: ReadonlyMap<string, StatusUpdate['status']> = new Map([
  ['sent', 'sent'],
  ['delivered', 'delivered'],
  ['read', 'read'],
  ['played', 'read'],
  ['failed', 'failed'],
]);

/** The status, or why it is ignored. `played` (first play of a voice message) counts as `read`. */
function readStatus(raw: unknown, context: ValueContext): StatusUpdate | string {
  const parsed = metaStatusSchema.safeParse(raw);
  if (!parsed.success) return 'status without id or status';
  const { id, status, timestamp, recipient_id, recipient_user_id, errors, biz_opaque_callback_data: callback } = parsed.data;
  const mapped = STATUSES.get(status);
  if (mapped === undefined) return `status ${id}: unknown status ${JSON.stringify(status.slice(0, 32))}`;
  return {
    provider: context.dialect.provider,
    provider_message_id: id,
    status: mapped,
    timestamp: dateFromUnixSeconds(timestamp) ?? context.now,
    error: readError(errors?.[0]),
    recipient: phone(recipient_id) ?? nonBlank(recipient_user_id),
    ...(nonBlank(callback) ? { callback_data: nonBlank(callback)! } : {}),
  };
}

function readError(raw: unknown): ProviderError | null {
  if (raw === undefined) return null;
  const error = metaErrorSchema.safeParse(raw);
  if (!error.success) return null;
  const { code, title, message } = error.data;
  return { code: code === undefined ? 'unknown' : String(code), title: title ?? message ?? '' };
}

function describeError(raw: unknown): string {
  const error = readError(raw);
  return error === null ? 'malformed error' : `error ${error.code}: ${error.title}`;
}

function describeField(field: unknown): string {
  return typeof field === 'string' ? JSON.stringify(field.slice(0, 64)) : `of type ${field === null ? 'null' : typeof field}`;
}

/** A phone number without '+'; null when absent or blank. */
function phone(value: string | undefined): string | null {
  return value === undefined ? null : nonBlank(withoutPlus(value));
}

function nonEmpty(value: string | undefined): string | null {
  return value === undefined || value === '' ? null : value;
}
