import type { MessageType } from '../../chat/types.js';
import {
  call,
  httpOutcome,
  isAnswer,
  publicUrlMissing,
  unconfiguredSender,
  type HttpAnswer,
  type MessageSender,
  type PreparedSend,
  type SendOutcome,
} from '../send.js';

export interface MontySendSettings {
  apiUrl: string;
  tenant: string | null;
  apiKey: string | null;
  /** The business's WhatsApp number, sent as `source`. */
  sourceNumber: string | null;
  /**
   * Signed public links to operator media (`send-session` takes media by `link` only, REFERENCE
   * §2.3). Null, or a null link (PUBLIC_URL unset): media messages fail as `public_url_missing`.
   */
  mediaLink: ((mediaId: string) => string | null) | null;
  /** REFERENCE §2.3: "AUDIO type doesn't deliver"; voice notes go as DOCUMENT unless set to `audio`. */
  audioAs: 'document' | 'audio';
  timeoutMs: number;
}

interface MontyPrepared extends PreparedSend {
  readonly provider: 'montymobile';
  readonly body: Record<string, unknown>;
}

/** Meta's codes that MontyMobile may pass through in its error answers (unknown, REFERENCE §2.8 q5): retried as Meta's are. */
const RETRYABLE_META_CODES = new Set(['130429', '131057', '131056', '131000', '131016']);

/**
 * MontyMobile session sends (REFERENCE §2.3, observed): `POST {api}/api/v2/WhatsappApi/send-session`
 * with `Tenant` and `api-key` headers, `{to, type (upper case), source, <type>: {...}}`. Success is
 * HTTP 200 with `success: true` and `data.messageId` (a Monty UUID, not a wamid, §2.6): a wamid is
 * taken instead when the answer carries one. Reply context is not sent (unknown whether Monty
 * accepts Meta's `context`; an unknown field could make it refuse the message).
 */
export function montyMessageSender(settings: MontySendSettings): MessageSender {
  const { tenant, apiKey, sourceNumber } = settings;
  if (!tenant || !apiKey) return unconfiguredSender('MONTYMOBILE_TENANT / MONTYMOBILE_API_KEY');
  return {
    async prepare(message) {
      if (!message.to.waId)
        return { failed: { kind: 'permanent', error: { code: 'no_recipient', title: 'the contact has no phone number' } } };
      const base: Record<string, unknown> = { to: message.to.waId.replace(/^\+/, ''), source: sourceNumber ?? undefined };
      if (!message.media) {
        return {
          prepared: { provider: 'montymobile', body: { ...base, type: 'TEXT', text: { body: message.text ?? '' } } } as MontyPrepared,
        };
      }
      const link = settings.mediaLink?.(message.media.mediaId) ?? null;
      if (!link) return { failed: { kind: 'permanent', error: publicUrlMissing('MontyMobile') } };
      const kind = montyType(message.type, settings.audioAs);
      const part: Record<string, unknown> = { link };
      if (kind === 'DOCUMENT')
        part.filename = message.media.filename ?? (message.type === 'voice' || message.type === 'audio' ? 'voice_message.ogg' : 'file');
      if (message.text && kind !== 'AUDIO') part.caption = message.text;
      return { prepared: { provider: 'montymobile', body: { ...base, type: kind, [kind.toLowerCase()]: part } } as MontyPrepared };
    },

    async send(prepared, options) {
      const { body } = prepared as MontyPrepared;
      const answer = await call(
        `${settings.apiUrl}/api/v2/WhatsappApi/send-session`,
        {
          method: 'POST',
          headers: { tenant, 'api-key': apiKey, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        },
        { ...options, timeout: AbortSignal.timeout(settings.timeoutMs) },
      );
      if (!isAnswer(answer)) return answer;
      return montyOutcome(answer);
    },
  };
}

function montyType(type: MessageType, audioAs: 'document' | 'audio'): 'IMAGE' | 'DOCUMENT' | 'AUDIO' | 'VIDEO' {
  if (type === 'photo') return 'IMAGE';
  if (type === 'video') return 'VIDEO';
  if (type === 'voice' || type === 'audio') return audioAs === 'audio' ? 'AUDIO' : 'DOCUMENT';
  return 'DOCUMENT';
}

function montyOutcome(answer: HttpAnswer): SendOutcome {
  const body = (answer.json ?? {}) as { success?: unknown; message?: unknown; code?: unknown; data?: Record<string, unknown> | null };
  const title = typeof body.message === 'string' && body.message ? body.message : `MontyMobile answered ${answer.status}`;
  if (answer.status >= 200 && answer.status < 300 && body.success === true) {
    const data = body.data ?? {};
    const messages = Array.isArray(data.messages) ? (data.messages as { id?: unknown }[]) : [];
    const candidates = [data.wamid, data.waMessageId, messages[0]?.id, data.messageId, data.id];
    const id = candidates.find((c): c is string => typeof c === 'string' && c.length > 0) ?? null;
    return { kind: 'accepted', providerMessageId: id };
  }
  const code = body.code !== undefined && body.code !== null ? String(body.code) : null;
  if (code && RETRYABLE_META_CODES.has(code)) return { kind: 'retryable', error: { code, title }, retryAfterMs: null };
  if (answer.status >= 200 && answer.status < 300) return { kind: 'permanent', error: { code: code ?? 'rejected', title } };
  const outcome = httpOutcome(answer.status, title, answer.headers.get('retry-after'));
  return code && outcome.kind === 'permanent' ? { kind: 'permanent', error: { code, title } } : outcome;
}
