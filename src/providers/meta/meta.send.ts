import { z } from 'zod';
import type { MessageType } from '../../chat/types.js';
import {
  call,
  httpOutcome,
  isAnswer,
  retryAfterMs,
  unconfiguredSender,
  type HttpAnswer,
  type MessageSender,
  type PreparedSend,
  type Recipient,
  type SendOutcome,
} from '../send.js';

export interface MetaSendSettings {
  /** `{META_GRAPH_URL}`, version included. */
  graphUrl: string;
  accessToken: string | null;
  /** Used when a conversation's channel carries no phone_number_id of its own. */
  phoneNumberId: string | null;
  /** One HTTP call's time limit. */
  timeoutMs: number;
}

/** Graph error codes worth trying again (REFERENCE §1.9, §1.10): throughput, maintenance, pair rate, transient server errors. */
const RETRYABLE_CODES = new Set([130429, 131057, 131056, 131000, 131016, 131048, 1, 2, 4, 80007]);

const errorSchema = z.object({
  error: z
    .object({
      code: z.union([z.number(), z.string()]),
      message: z.string().optional(),
      error_user_title: z.string().optional(),
      error_data: z.object({ details: z.string().optional() }).passthrough().optional(),
    })
    .passthrough(),
});

const acceptedSchema = z.object({ messages: z.array(z.object({ id: z.string().min(1) }).passthrough()).min(1) });
const uploadedSchema = z.object({ id: z.string().min(1) });

interface MetaPrepared extends PreparedSend {
  readonly provider: 'meta';
  readonly phoneNumberId: string;
  readonly body: Record<string, unknown>;
}

/** Our message types as Graph's media types (photo → image; voice notes are audio/ogg with opus). */
const MEDIA_TYPE: Partial<Record<MessageType, 'image' | 'document' | 'audio' | 'video' | 'sticker'>> = {
  photo: 'image',
  document: 'document',
  voice: 'audio',
  audio: 'audio',
  video: 'video',
  sticker: 'sticker',
};

/**
 * Meta Cloud API sends (REFERENCE §1.9): `POST {graph}/{phone_number_id}/messages` with the bearer
 * token; media is first uploaded with `POST {graph}/{phone_number_id}/media` (multipart:
 * `messaging_product`, `type`, `file`) and sent by the returned id. Replies carry
 * `context.message_id`; every send carries our message id as `biz_opaque_callback_data`, which
 * Meta echoes in its status webhooks. Mark-as-read with the typing indicator is the same endpoint
 * with `status: read`.
 */
export function metaMessageSender(settings: MetaSendSettings): MessageSender {
  const token = settings.accessToken;
  if (!token) return unconfiguredSender('META_ACCESS_TOKEN');
  const auth = { authorization: `Bearer ${token}` };
  const timeout = () => AbortSignal.timeout(settings.timeoutMs);
  const phoneOf = (to: Recipient) =>
    to.channelExternalId && /^\d+$/.test(to.channelExternalId) ? to.channelExternalId : settings.phoneNumberId;

  return {
    async prepare(message, options) {
      const phoneNumberId = phoneOf(message.to);
      if (!phoneNumberId)
        return {
          failed: {
            kind: 'permanent',
            error: { code: 'not_configured', title: 'no phone_number_id for this channel (META_PHONE_NUMBER_ID)' },
          },
        };
      const address = addressOf(message.to);
      if (!address)
        return {
          failed: { kind: 'permanent', error: { code: 'no_recipient', title: 'the contact has neither a phone number nor a user id' } },
        };
      const body: Record<string, unknown> = { messaging_product: 'whatsapp', recipient_type: 'individual', ...address };
      if (message.replyTo) body.context = { message_id: message.replyTo };
      body.biz_opaque_callback_data = message.messageId;

      if (!message.media) {
        body.type = 'text';
        body.text = { preview_url: false, body: message.text ?? '' };
        return { prepared: { provider: 'meta', phoneNumberId, body } as MetaPrepared };
      }
      const mediaType = MEDIA_TYPE[message.type] ?? 'document';
      const form = new FormData();
      form.append('messaging_product', 'whatsapp');
      form.append('type', message.media.mimeType);
      form.append(
        'file',
        new Blob([new Uint8Array(message.media.bytes)], { type: message.media.mimeType }),
        message.media.filename ?? defaultName(mediaType, message.media.mimeType),
      );
      const answer = await call(
        `${settings.graphUrl}/${encodeURIComponent(phoneNumberId)}/media`,
        { method: 'POST', headers: auth, body: form },
        { ...options, timeout: timeout() },
      );
      if (!isAnswer(answer)) return { failed: answer };
      const ok = answer.status >= 200 && answer.status < 300;
      const uploaded = ok ? uploadedSchema.safeParse(answer.json) : null;
      if (!uploaded?.success) {
        // A success without an id is Graph misbehaving, not a refusal of the file: upload again.
        const outcome = ok ? null : failure(answer);
        return {
          failed:
            !outcome || outcome.kind === 'accepted'
              ? { kind: 'retryable', error: { code: 'bad_response', title: 'media upload answered without an id' }, retryAfterMs: null }
              : outcome,
        };
      }
      const media: Record<string, unknown> = { id: uploaded.data.id };
      // Graph takes captions on image, video and document; audio and stickers have none.
      if (message.text && (mediaType === 'image' || mediaType === 'video' || mediaType === 'document')) media.caption = message.text;
      if (mediaType === 'document' && message.media.filename) media.filename = message.media.filename;
      body.type = mediaType;
      body[mediaType] = media;
      return { prepared: { provider: 'meta', phoneNumberId, body } as MetaPrepared };
    },

    async send(prepared, options) {
      const { phoneNumberId, body } = prepared as MetaPrepared;
      const answer = await call(
        `${settings.graphUrl}/${encodeURIComponent(phoneNumberId)}/messages`,
        {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        },
        { ...options, timeout: timeout() },
      );
      if (!isAnswer(answer)) return answer;
      if (answer.status >= 200 && answer.status < 300) {
        const accepted = acceptedSchema.safeParse(answer.json);
        // A 2xx without an id still means Meta took the message: it is sent, only unmatched by status webhooks.
        return { kind: 'accepted', providerMessageId: accepted.success ? accepted.data.messages[0]!.id : null };
      }
      return failure(answer);
    },

    async markRead(to, providerMessageId, typing, options) {
      const phoneNumberId = phoneOf(to);
      if (!phoneNumberId) return { kind: 'permanent', error: { code: 'not_configured', title: 'no phone_number_id for this channel' } };
      const body: Record<string, unknown> = { messaging_product: 'whatsapp', status: 'read', message_id: providerMessageId };
      if (typing) body.typing_indicator = { type: 'text' };
      const answer = await call(
        `${settings.graphUrl}/${encodeURIComponent(phoneNumberId)}/messages`,
        {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        },
        { ...options, timeout: timeout() },
      );
      if (!isAnswer(answer)) return answer;
      if (answer.status >= 200 && answer.status < 300) return { kind: 'accepted', providerMessageId: null };
      return failure(answer);
    },
  };
}

/** `to` with the `+` and country code (REFERENCE §1.9: without `+` Meta prepends the business's country code); a BSUID as `recipient`. */
function addressOf(to: Recipient): Record<string, string> | null {
  if (to.waId) return { to: `+${to.waId.replace(/^\+/, '')}` };
  if (to.userId) return { recipient: to.userId };
  return null;
}

/** A Graph error answer as an outcome: the code decides (REFERENCE §1.9), then the HTTP status. */
export function failure(answer: HttpAnswer): SendOutcome {
  const parsed = errorSchema.safeParse(answer.json);
  if (!parsed.success) return httpOutcome(answer.status, `Graph answered ${answer.status}`, answer.headers.get('retry-after'));
  const { code, message, error_user_title: userTitle } = parsed.data.error;
  const numeric = Number(code);
  // Titles come inside `message` as "(#131047) Re-engagement message".
  const title = (userTitle ?? message ?? `Graph error ${code}`).replace(/^\(#\d+\)\s*/, '');
  const error = { code: String(code), title };
  if (RETRYABLE_CODES.has(numeric) || answer.status >= 500 || answer.status === 429) {
    return { kind: 'retryable', error, retryAfterMs: retryAfterMs(answer.headers.get('retry-after')) };
  }
  return { kind: 'permanent', error };
}

function defaultName(mediaType: string, mimeType: string): string {
  const ext =
    mimeType
      .split(';')[0]!
      .split('/')[1]
      ?.replace(/[^a-z0-9]/gi, '') || 'bin';
  return `${mediaType}.${ext}`;
}
