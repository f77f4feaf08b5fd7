import { detectContactLanguage } from '../chat/language.js';
import { noticeText, type NoticeKind } from '../chat/notices.js';
import type { Provider } from '../chat/types.js';
import { isWindowOpen } from '../chat/window.js';
import type { Config } from '../config.js';
import { setContactLanguage } from '../store/ai.store.js';
import { completeParts } from '../store/conversation.store.js';
import type { WriteTx } from '../store/group-commit.js';
import { listMessages } from '../store/message.store.js';
import type { ConversationRow, MessageRow } from '../store/schema.js';
import { appendOutbound } from './append-outbound.js';

/** Customer messages read to detect a language the AI worker has not stored yet (AI_RESPONDER=none). */
const DETECT_FROM_MESSAGES = 10;

/**
 * Appends a notice to the customer [AI6] in the caller's unit: a `pending` system message (with its
 * `outbox.send` job) in the contact's detected language (English until one is detected),
 * `metadata.notice` naming its kind. A contact whose language is not stored yet (no AI worker ran
 * for them) gets it detected from their latest messages now, and stored. Nothing when the 24 h
 * window is closed (WhatsApp refuses free-form messages then), the conversation has no inbound
 * message, or AI_NOTICES leaves this kind out.
 */
export async function appendNotice(
  tx: WriteTx,
  config: Pick<Config, 'ai'>,
  conversation: ConversationRow,
  kind: NoticeKind,
  vars: { operator_name?: string },
  now: Date,
): Promise<MessageRow | null> {
  if (!config.ai.notices.includes(kind)) return null;
  if (!isWindowOpen(conversation.last_inbound_at ? new Date(conversation.last_inbound_at) : null, now)) return null;
  const { contact, channel } = await completeParts(tx.db, conversation);
  const language = contact.language ?? (await detectNow(tx, conversation.id, contact.id, now)) ?? 'en';
  const text = noticeText(kind, language, vars, config.ai.noticeOverrides ?? undefined);
  return appendOutbound(
    tx,
    conversation.id,
    channel.provider as Provider,
    {
      role: 'system',
      type: 'text',
      text,
      media: null,
      operator: null,
      reply_to: null,
      metadata: { notice: kind, language },
      client_key: null,
    },
    now,
  );
}

async function detectNow(tx: WriteTx, conversationId: string, contactId: string, now: Date): Promise<string | null> {
  const { rows } = await listMessages(tx.db, conversationId, { limit: DETECT_FROM_MESSAGES });
  const texts = rows.filter((m) => m.role === 'user' && m.text?.trim()).map((m) => m.text!.trim());
  const language = detectContactLanguage(texts, null);
  if (language) await setContactLanguage(tx.db, contactId, language, now.toISOString());
  return language;
}
