import { createHash } from 'node:crypto';
import { metaMessagesPayload, TEST_SECRETS } from '../support/app.js';

/** Polls `probe` until it returns a value other than undefined/false; fails after `timeoutMs`. */
export async function waitFor<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(5 * (i + 1), 50)));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function sha256Base64(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('base64');
}

/** Distinct bytes of a given size (so a mix-up between two media would show). */
export function sampleBytes(size: number, seed: string): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(seed).digest();
  for (let at = 0; at < size; at += block.length) {
    block.copy(out, at, 0, Math.min(block.length, size - at));
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

/** A Meta media (`image` by default) webhook in the real wire format (REFERENCE §1.6); `sha256` as Meta sends it (base64). */
export function metaImagePayload(
  wamid: string,
  mediaId: string,
  options: { sha256?: string; mimeType?: string; caption?: string; from?: string; type?: 'image' | 'video' | 'document' } = {},
) {
  const from = options.from ?? '16505551234';
  const type = options.type ?? 'image';
  const image: Record<string, unknown> = { mime_type: options.mimeType ?? 'image/jpeg', id: mediaId };
  if (options.sha256) image.sha256 = options.sha256;
  if (options.caption) image.caption = options.caption;
  return metaMessagesPayload(from, 'Sheena Nelson', [{ id: wamid, type, [type]: image }]);
}

/** A MontyMobile webhook (Meta's envelope re-serialised, REFERENCE §2.5) carrying one media message. */
export function montyMediaPayload(
  wamid: string,
  type: 'image' | 'audio' | 'document',
  media: Record<string, unknown>,
  from = '96170123456',
) {
  return {
    entry: [
      {
        id: '859562923476499',
        changes: [
          {
            field: 'messages',
            value: {
              metadata: { phone_number_id: '901137269746618', display_phone_number: '96181000111' },
              contacts: [{ profile: { name: 'Rania' }, wa_id: from }],
              messages: [{ from, id: wamid, timestamp: String(Math.floor(Date.now() / 1000)), type, [type]: media }],
              messaging_product: 'whatsapp',
            },
          },
        ],
      },
    ],
    object: 'whatsapp_business_account',
  };
}

/** A Qiscus bot webhook (REFERENCE §3.2) with a `file_attachment` at `url`. */
export function qiscusAttachmentPayload(uniqueTempId: string, url: string, caption = 'Tess') {
  const now = new Date();
  return {
    app_code: TEST_SECRETS.QISCUS_APP_CODE,
    channel: { id: 123, name: 'Qiscus 123', source: 'wa' },
    payload: {
      from: {
        avatar_url: 'https://latest-multichannel.qiscus.com/img/default_avatar.svg',
        email: '6281234567890',
        id: 0,
        id_str: '0',
        name: 'Budi Santoso',
      },
      message: {
        comment_before_id: 0,
        comment_before_id_str: '0',
        created_at: now.toISOString(),
        disable_link_preview: false,
        extras: null,
        id: 0,
        id_str: '0',
        payload: { url, caption },
        text: caption,
        timestamp: now.toISOString(),
        type: 'file_attachment',
        unique_temp_id: uniqueTempId,
        unix_nano_timestamp: now.getTime(),
        unix_timestamp: Math.floor(now.getTime() / 1000),
      },
      room: {
        id: '139214511',
        id_str: '139214511',
        is_public_channel: false,
        name: 'Budi Santoso',
        options: JSON.stringify({
          channel: 'wa',
          channel_details: { channel_id: 963, name: 'Qiscus Cloud Group', phone: '+62628771666489' },
          is_resolved: false,
          is_waiting: true,
          source: 'wa',
        }),
        participants: [{ email: '6281234567890' }, { email: `${TEST_SECRETS.QISCUS_APP_CODE}_admin@qismo.com` }],
        room_avatar: 'https://latest-multichannel.qiscus.com/img/default_avatar.svg',
        topic_id: '139214511',
        topic_id_str: '139214511',
        type: 'group',
      },
      type: 'post_comment_mobile',
    },
    type: 'post_comment_mobile',
  };
}

export function postMonty(baseUrl: string, payload: unknown): Promise<Response> {
  return fetch(`${baseUrl}/webhooks/montymobile`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-webhook-token': TEST_SECRETS.MONTYMOBILE_WEBHOOK_TOKEN },
    body: JSON.stringify(payload),
  });
}

export function postQiscus(baseUrl: string, payload: unknown): Promise<Response> {
  return fetch(`${baseUrl}/webhooks/qiscus/${TEST_SECRETS.QISCUS_WEBHOOK_SECRET}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
}
