import { call, httpOutcome, isAnswer, publicUrlMissing, unconfiguredSender, type MessageSender, type PreparedSend } from '../send.js';

export interface QiscusSendSettings {
  apiUrl: string;
  appCode: string | null;
  secretKey: string | null;
  /** `sender_email` of bot replies; default the app's admin `<app code>_admin@qismo.com`. */
  botEmail: string | null;
  /** Signed public links to operator media (the bot API takes attachments by URL); null, or a null link (PUBLIC_URL unset): media fails as `public_url_missing`. */
  mediaLink: ((mediaId: string) => string | null) | null;
  /**
   * The attachment body, unknown (REFERENCE §3.3, §3.9 q3): `payload` sends `payload.{url, caption}`
   * (the SDK's file_attachment shape), `top_level` sends `attachment_url` and `caption`.
   */
  attachmentForm: 'payload' | 'top_level';
  timeoutMs: number;
}

interface QiscusPrepared extends PreparedSend {
  readonly provider: 'qiscus';
  readonly body: Record<string, unknown>;
}

/**
 * Qiscus bot replies (REFERENCE §3.3): `POST {api}/{app code}/bot` with the `QISCUS_SDK_SECRET`
 * header and `{sender_email, message, type, room_id}`. Any 2xx is success (the answer body is not
 * documented); Qiscus sends no delivery statuses we match, so the message stays `sent`.
 */
export function qiscusMessageSender(settings: QiscusSendSettings): MessageSender {
  const { appCode, secretKey } = settings;
  if (!appCode || !secretKey) return unconfiguredSender('QISCUS_APP_CODE / QISCUS_SECRET_KEY');
  const senderEmail = settings.botEmail ?? `${appCode}_admin@qismo.com`;
  return {
    async prepare(message) {
      const roomId = message.to.roomId;
      if (!roomId)
        return { failed: { kind: 'permanent', error: { code: 'no_recipient', title: 'no Qiscus room is known for this conversation' } } };
      const base = { sender_email: senderEmail, room_id: String(roomId) };
      if (!message.media)
        return { prepared: { provider: 'qiscus', body: { ...base, message: message.text ?? '', type: 'text' } } as QiscusPrepared };
      const url = settings.mediaLink?.(message.media.mediaId) ?? null;
      if (!url) return { failed: { kind: 'permanent', error: publicUrlMissing('Qiscus') } };
      const caption = message.text ?? '';
      const body =
        settings.attachmentForm === 'payload'
          ? { ...base, type: 'file_attachment', message: caption, payload: { url, caption } }
          : { ...base, type: 'file_attachment', message: caption, attachment_url: url, caption };
      return { prepared: { provider: 'qiscus', body } as QiscusPrepared };
    },

    async send(prepared, options) {
      const { body } = prepared as QiscusPrepared;
      const answer = await call(
        `${settings.apiUrl}/${encodeURIComponent(appCode)}/bot`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', QISCUS_SDK_SECRET: secretKey },
          body: JSON.stringify(body),
        },
        { ...options, timeout: AbortSignal.timeout(settings.timeoutMs) },
      );
      if (!isAnswer(answer)) return answer;
      if (answer.status >= 200 && answer.status < 300) {
        const comment = (answer.json as { data?: { comment?: { unique_temp_id?: unknown; id_str?: unknown } } } | null)?.data?.comment;
        const id = [comment?.unique_temp_id, comment?.id_str].find((c): c is string => typeof c === 'string' && c.length > 0) ?? null;
        return { kind: 'accepted', providerMessageId: id };
      }
      const text = answer.json as { errors?: unknown; message?: unknown } | null;
      const title =
        typeof text?.message === 'string'
          ? text.message
          : typeof text?.errors === 'string'
            ? text.errors
            : `Qiscus answered ${answer.status}`;
      return httpOutcome(answer.status, title, answer.headers.get('retry-after'));
    },
  };
}
