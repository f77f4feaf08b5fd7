import { wellFormedMimeType } from '../../chat/mime-type.js';
import { z } from 'zod';
import type { InboundBatch, InboundMessage, MediaRef, MessageType } from '../../chat/types.js';
import { DomainError } from '../../chat/errors.js';
import { parseCloudApiValue, type CloudApiDialect } from '../cloud-api-envelope.js';
import { checkedBeforeBody, sameSecret, type WebhookAdapter } from '../webhook-adapter.js';
import {
  dateFromIso,
  dateFromUnixSeconds,
  digitsOnly,
  isRecord,
  latitudeSchema,
  longitudeSchema,
  nonBlank,
  optionalId,
  optionalText,
} from '../wire-values.js';

/*
 * Wire schemas for the Qiscus Omnichannel bot webhook (REFERENCE §3.2, current and older formats).
 * `payload.{from, room, message}` must be objects; every field inside is read leniently.
 */

export const qiscusFromSchema = z.looseObject({ email: optionalText, name: optionalText });

export const qiscusMessageSchema = z.looseObject({
  id: z.union([z.number(), z.string()]).optional().catch(undefined),
  id_str: optionalText,
  unique_temp_id: optionalText,
  type: optionalText,
  text: optionalText,
  payload: z.record(z.string(), z.unknown()).nullable().optional().catch(undefined),
  unix_timestamp: z.unknown().optional(),
  timestamp: z.unknown().optional(),
  created_at: z.unknown().optional(),
});

export const qiscusRoomSchema = z.looseObject({
  id: optionalId,
  id_str: optionalText,
  name: optionalText,
  options: z.unknown().optional(),
});

/** `room.options`: a JSON string in the current format, an object in the older one. */
export const qiscusRoomOptionsSchema = z.looseObject({
  source: optionalText,
  channel_details: z.looseObject({ channel_id: optionalId, name: optionalText, phone: optionalText }).optional().catch(undefined),
});

export const qiscusBotWebhookSchema = z.looseObject({
  type: optionalText,
  app_code: optionalText,
  channel: z.looseObject({ name: optionalText, source: optionalText }).optional().catch(undefined),
  payload: z.looseObject({
    type: optionalText,
    from: z.record(z.string(), z.unknown()),
    room: z.record(z.string(), z.unknown()),
    message: z.record(z.string(), z.unknown()),
  }),
});

/** The flattened Meta `value` Qiscus's WhatsApp API forwards (REFERENCE §3.8), with its own channel. */
export const qiscusWaForwardSchema = z.looseObject({ app_code: optionalText, channel_id: optionalId });

export const qiscusAttachmentSchema = z.looseObject({
  url: z.string().trim().min(1),
  caption: optionalText,
  file_name: optionalText,
  mime_type: optionalText,
});

export const qiscusLocationSchema = z.looseObject({
  latitude: latitudeSchema,
  longitude: longitudeSchema,
  name: optionalText,
  address: optionalText,
});

export interface QiscusParseOptions {
  ignoreEmails: string[];
  /** QISCUS_APP_CODE: the channel key of a webhook that names no `app_code` (the older format). */
  appCode?: string | null;
}

/** [ID10] One Qiscus app is one channel, whatever form its webhooks take. */
function qiscusChannelKey(payloadAppCode: string | undefined, opts: QiscusParseOptions): string {
  return nonBlank(payloadAppCode) ?? nonBlank(opts.appCode ?? undefined) ?? 'qiscus';
}

/** Qiscus's own admin (bot) sender is `{AppCode}_admin@qismo.com` (REFERENCE §3.1). */
const ADMIN_EMAIL_SUFFIX = '_admin@qismo.com';

/**
 * Parses a Qiscus webhook body. Two shapes are accepted:
 * - the Omnichannel bot webhook (`post_comment_mobile`, `payload.{from, room, message}`, REFERENCE
 *   §3.2): one customer message. Ignored, with a reason: `post_comment_rest` (bot/agent sends),
 *   senders in `opts.ignoreEmails` (case-insensitive) or `…_admin@qismo.com`, in a WhatsApp room
 *   (`source` "wa") any sender whose email is an address (agents), a message without any id, a
 *   sender without email, and the New Session webhook (it repeats the bot webhook's message);
 * - the WhatsApp API forward (REFERENCE §3.8): Meta's `value` at top level plus `app_code` and
 *   `channel_id`, recognised by a top-level `messages` or `statuses` array and read by the Meta parser.
 * [ID10] Both key the channel by the Qiscus app: the payload's `app_code`, else the configured
 * `opts.appCode` (QISCUS_APP_CODE), else `'qiscus'`; never by `room.options.channel_details`, which
 * one room's webhooks carry in some forms and not others (one room would split in two). The
 * WhatsApp forward keeps its `channel_id` in `metadata.qiscus.channel_id`.
 * `now` is the timestamp of a message without a usable one of its own.
 *
 * @throws DomainError validation_failed when the body is neither shape, or names another webhook `type`.
 */
export function parseQiscusWebhook(body: unknown, opts: QiscusParseOptions, now: Date = new Date()): InboundBatch {
  if (!isRecord(body)) throw new DomainError('validation_failed', 'not a Qiscus webhook: expected a JSON object');
  const batch: InboundBatch = { messages: [], statuses: [], ignored: [] };

  if (Array.isArray(body['messages']) || Array.isArray(body['statuses'])) {
    parseWaForward(body, opts, now, batch);
    return batch;
  }
  if (typeof body['webhook_type'] === 'string' || body['is_new_session'] === true) {
    batch.ignored.push({ reason: `webhook_type ${describe(body['webhook_type'])}: not the bot webhook` });
    return batch;
  }
  const parsed = qiscusBotWebhookSchema.safeParse(body);
  if (!parsed.success) {
    throw new DomainError('validation_failed', 'not a Qiscus webhook: expected payload.from, payload.room and payload.message');
  }
  const webhook = parsed.data;
  const type = webhook.type ?? webhook.payload.type ?? 'post_comment_mobile';
  if (type === 'post_comment_rest') {
    batch.ignored.push({ reason: 'post_comment_rest: sent through the REST API by a bot or agent' });
    return batch;
  }
  if (type !== 'post_comment_mobile') {
    throw new DomainError('validation_failed', `not a Qiscus bot webhook: type ${describe(type)}`);
  }
  const message = readBotMessage(webhook, opts, now);
  if (typeof message === 'string') batch.ignored.push({ reason: message });
  else batch.messages.push(message);
  return batch;
}

function parseWaForward(body: Record<string, unknown>, opts: QiscusParseOptions, now: Date, batch: InboundBatch): void {
  const forward = qiscusWaForwardSchema.safeParse(body).data ?? {};
  const dialect: CloudApiDialect = {
    provider: 'qiscus',
    sender: 'contacts',
    ownNumbers: [],
    idForMessageWithoutId: null,
    acceptsMediaLinks: true,
    channelExternalId: qiscusChannelKey(forward.app_code, opts),
    metadata: { qiscus: { app_code: forward.app_code ?? null, channel_id: forward.channel_id ?? null } },
  };
  parseCloudApiValue(body, dialect, now, batch, 'forward');
}

type BotWebhook = z.infer<typeof qiscusBotWebhookSchema>;

/** The message, or why it is ignored. */
function readBotMessage(webhook: BotWebhook, opts: QiscusParseOptions, now: Date): InboundMessage | string {
  const { payload } = webhook;
  const from = qiscusFromSchema.safeParse(payload.from).data ?? {};
  const room = qiscusRoomSchema.safeParse(payload.room).data ?? {};
  const message = qiscusMessageSchema.safeParse(payload.message).data ?? {};

  const id = messageId(message);
  if (id === null) return 'message without unique_temp_id, id_str or id';
  const email = nonBlank(from.email);
  if (email === null) return `message ${id}: sender without email`;
  const lowered = email.toLowerCase();
  if (lowered.endsWith(ADMIN_EMAIL_SUFFIX) || opts.ignoreEmails.some((e) => e.trim().toLowerCase() === lowered)) {
    return `message ${id}: sent by ${email} (admin, bot or agent)`;
  }

  const options = roomOptions(room.options);
  const details = options.channel_details;
  // Agents write from the Qiscus dashboard (post_comment_mobile too) and are not in any list we
  // hold; in a WhatsApp room the customer's `email` is their phone number, so an address is staff.
  const source = nonBlank(options.source) ?? nonBlank(webhook.channel?.source);
  if (source === 'wa' && email.includes('@')) {
    return `message ${id}: sent by ${email} (an agent: WhatsApp customers are phone numbers)`;
  }
  const appCode = nonBlank(webhook.app_code);
  const waId = /^\+?\d{6,20}$/.test(email) ? digitsOnly(email) : null;
  const content = readContent(message, payload.message);
  return {
    provider: 'qiscus',
    provider_message_id: id,
    channel_external_id: qiscusChannelKey(webhook.app_code, opts),
    channel_name: nonBlank(details?.name) ?? nonBlank(webhook.channel?.name),
    contact_key: waId ?? email,
    wa_id: waId,
    user_id: null,
    contact_name: nonBlank(from.name),
    type: content.type,
    text: content.text,
    media: content.media,
    reply_to: null,
    timestamp: dateFromUnixSeconds(message.unix_timestamp) ?? dateFromIso(message.timestamp) ?? dateFromIso(message.created_at) ?? now,
    metadata: {
      qiscus: {
        room_id: room.id ?? nonBlank(room.id_str),
        room_name: nonBlank(room.name),
        app_code: appCode,
        source,
      },
      ...content.metadata,
    },
    error: null,
  };
}

/** [ID1] `unique_temp_id` verbatim (WA: `wa_<wamid>`), else `id_str` unless "0", else `id` unless 0. */
function messageId(message: z.infer<typeof qiscusMessageSchema>): string | null {
  const numeric = message.id === undefined ? null : nonBlank(String(message.id));
  return nonBlank(message.unique_temp_id) ?? [nonBlank(message.id_str), numeric].find((id) => id !== null && id !== '0') ?? null;
}

/** A malformed options string reads as `{}`: the message is still worth keeping. */
function roomOptions(raw: unknown): z.infer<typeof qiscusRoomOptionsSchema> {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      value = {};
    }
  }
  return qiscusRoomOptionsSchema.safeParse(value).data ?? {};
}

interface Content {
  type: MessageType;
  text: string | null;
  media: MediaRef | null;
  metadata: Record<string, unknown>;
}

function readContent(message: z.infer<typeof qiscusMessageSchema>, raw: Record<string, unknown>): Content {
  const text = message.text ?? null;
  const payload = message.payload ?? undefined;
  const unsupported = (reason: string): Content => ({
    type: 'unsupported',
    text,
    media: null,
    metadata: { unsupported_type: message.type ?? null, unsupported_reason: reason, raw },
  });

  switch (message.type) {
    case 'text':
      return text === null ? unsupported('text message without text') : { type: 'text', text, media: null, metadata: {} };
    case 'file_attachment': {
      const attachment = qiscusAttachmentSchema.safeParse(payload);
      if (!attachment.success) return unsupported('file_attachment without payload.url');
      const { url, caption, file_name, mime_type } = attachment.data;
      const captionText = nonEmpty(caption) ?? (text === null || isFileMarker(text) ? null : nonEmpty(text));
      const kind = attachmentKind(url, mime_type);
      return {
        type: kind,
        text: captionText,
        media: {
          ref: url,
          kind: 'url',
          mime_type: wellFormedMimeType(mime_type) ?? mimeFromExtension(extensionOf(url)),
          sha256: null,
          filename: nonBlank(file_name) ?? filenameOf(url),
          caption: captionText,
        },
        metadata: {},
      };
    }
    case 'location': {
      const location = qiscusLocationSchema.safeParse(payload);
      if (!location.success) return unsupported('location without latitude/longitude');
      const { latitude, longitude, name, address } = location.data;
      return {
        type: 'location',
        text: nonEmpty(name) ?? nonEmpty(address),
        media: null,
        metadata: { location: { latitude, longitude, name: name ?? null, address: address ?? null, url: null } },
      };
    }
    default:
      return unsupported(message.type === undefined ? 'message without type' : 'unknown type');
  }
}

const VOICE_EXTENSIONS = new Set(['ogg', 'opus', 'oga', 'm4a', 'mp3', 'aac']);
const PHOTO_EXTENSIONS = new Set(['jpg', 'jpeg', 'png', 'webp', 'gif']);
const VIDEO_EXTENSIONS = new Set(['mp4', '3gp', 'mov']);

const MIME_BY_EXTENSION: ReadonlyMap<string, string> = new Map([
  ['ogg', 'audio/ogg'],
  ['opus', 'audio/ogg'],
  ['oga', 'audio/ogg'],
  ['m4a', 'audio/mp4'],
  ['mp3', 'audio/mpeg'],
  ['aac', 'audio/aac'],
  ['jpg', 'image/jpeg'],
  ['jpeg', 'image/jpeg'],
  ['png', 'image/png'],
  ['webp', 'image/webp'],
  ['gif', 'image/gif'],
  ['mp4', 'video/mp4'],
  ['3gp', 'video/3gpp'],
  ['mov', 'video/quicktime'],
  ['pdf', 'application/pdf'],
]);

/**
 * Qiscus has no voice type: audio is recognised by extension or a `ptt` marker in the URL, as the
 * linasbot parser does (REFERENCE §3.2). A given mime type decides first, then a known extension,
 * so a `ptt` elsewhere in the path (an app code, a folder) cannot turn a photo into a voice note.
 */
function attachmentKind(url: string, mimeType: string | undefined): MessageType {
  const mime = mimeType?.toLowerCase() ?? '';
  if (mime.startsWith('audio/')) return 'voice';
  if (mime.startsWith('image/')) return 'photo';
  if (mime.startsWith('video/')) return 'video';
  const extension = extensionOf(url);
  if (VOICE_EXTENSIONS.has(extension)) return 'voice';
  if (PHOTO_EXTENSIONS.has(extension)) return 'photo';
  if (VIDEO_EXTENSIONS.has(extension)) return 'video';
  return pathOf(url).toLowerCase().includes('ptt') ? 'voice' : 'document';
}

/** The URL's path without query or fragment; the raw string when it is not a URL. */
function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url.split(/[?#]/, 1)[0] ?? '';
  }
}

function filenameOf(url: string): string | null {
  const segment = pathOf(url).split('/').pop() ?? '';
  try {
    return nonBlank(decodeURIComponent(segment));
  } catch {
    return nonBlank(segment);
  }
}

function extensionOf(url: string): string {
  const name = pathOf(url).split('/').pop() ?? '';
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot + 1).toLowerCase();
}

function mimeFromExtension(extension: string): string | null {
  return MIME_BY_EXTENSION.get(extension) ?? null;
}

/** The Qiscus SDK writes an attachment's text as `[file] <url> [/file]` when there is no caption. */
function isFileMarker(text: string): boolean {
  return /^\s*\[file\][\s\S]*\[\/file\]\s*$/.test(text);
}

function nonEmpty(value: string | null | undefined): string | null {
  return value === undefined || value === null || value === '' ? null : value;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 64)) : `of type ${typeof value}`;
}

/**
 * Qiscus's webhook adapter: the secret path segment (`/webhooks/qiscus/:secret`) authenticates the
 * request before its body is read; null without a configured secret. The bot's own sends (its
 * email, or the app's admin `{app code}_admin@qismo.com`) are ignored as echoes.
 */
export function qiscusWebhookAdapter({
  webhookSecret,
  botEmail,
  appCode,
}: {
  webhookSecret: string | null;
  botEmail: string | null;
  appCode: string | null;
}): WebhookAdapter | null {
  if (!webhookSecret) return null;
  const ignoreEmails = [botEmail, appCode ? `${appCode}${ADMIN_EMAIL_SUFFIX}` : null].filter((e): e is string => !!e);
  return checkedBeforeBody(
    'qiscus',
    (req) => {
      if (!sameSecret(req.pathSecret, webhookSecret)) throw new DomainError('bad_signature', 'bad webhook secret');
    },
    (body, now) => parseQiscusWebhook(body, { ignoreEmails, appCode }, now),
  );
}
