import { createHash } from 'node:crypto';
import type { LegacyConversation } from '../chat/legacy-import.js';
import { cutText, MAX_NAME_LENGTH, MAX_TEXT_LENGTH } from '../chat/text-limits.js';
import type { Media, Provider } from '../chat/types.js';
import type { Store } from '../store/database.js';
import { ensureConversation, updateConversation, upsertChannel, upsertContact } from '../store/conversation.store.js';
import { enqueueJob } from '../store/job.store.js';
import { toJson } from '../store/json.js';
import { appendMessage } from '../store/message.store.js';

export interface ImportTarget {
  provider: Provider;
  /** The business number the legacy conversations belong to (e.g. META_PHONE_NUMBER_ID), or 'legacy'. */
  channelExternalId: string;
}

export interface ImportReport {
  conversations: number;
  conversationsCreated: number;
  messages: number;
  messagesCreated: number;
}

/**
 * Writes parsed legacy conversations in ONE transaction: a failure anywhere imports nothing.
 * Idempotent: conversations are found by (channel, contact) and messages by their [ID8] id, so a
 * second import of the same file creates nothing and changes nothing.
 */
export async function importLegacy(
  store: Store,
  conversations: LegacyConversation[],
  target: ImportTarget,
  onProgress: (done: number, total: number) => void = () => {},
): Promise<ImportReport> {
  const report: ImportReport = { conversations: conversations.length, conversationsCreated: 0, messages: 0, messagesCreated: 0 };
  await store.db.transaction().execute(async (trx) => {
    const now = new Date().toISOString();
    const channel = await upsertChannel(trx, { provider: target.provider, external_id: target.channelExternalId, name: null }, now);
    // One conversation per (channel, contact): a contact's several legacy conversations become one
    // thread, appended oldest first.
    let done = 0;
    for (const legacy of sortByFirstMessage(conversations)) {
      const contact = await upsertContact(
        trx,
        {
          channel_id: channel.id,
          contact_key: legacy.contact.key,
          wa_id: legacy.contact.phone,
          user_id: null,
          name: legacy.contact.name === null ? null : cutText(legacy.contact.name, MAX_NAME_LENGTH),
        },
        now,
      );
      const { row: conversation, created } = await ensureConversation(trx, channel.id, contact.id, legacy.state, now);
      if (created) report.conversationsCreated++;

      let lastInbound: string | null = conversation.last_inbound_at;
      let lastActivity = created ? (null as string | null) : conversation.last_activity_at;
      let added = 0;
      for (const m of legacy.messages) {
        report.messages++;
        const timestamp = m.timestamp.toISOString();
        const mediaId = m.media ? `md_legacy_${createHash('sha256').update(m.media.url).digest('hex').slice(0, 20)}` : null;
        const media: Media | null =
          m.media && mediaId
            ? {
                media_id: mediaId,
                mime_type: null,
                url: null,
                status: 'pending',
                caption: null,
                transcript: null,
                filename: null,
                size: null,
              }
            : null;
        const appended = await appendMessage(trx, conversation.id, {
          message_id: m.message_id,
          role: m.role,
          type: m.type,
          text: m.text === null ? null : cutText(m.text, MAX_TEXT_LENGTH),
          media: toJson(media),
          status: m.role === 'user' ? 'received' : 'sent',
          error: null,
          operator_id: null,
          operator_name: null,
          reply_to: null,
          timestamp,
          metadata: JSON.stringify({ ...m.metadata, imported: true }),
          provider_message_id: null,
          client_key: null,
        });
        if (!appended.created) continue;
        added++;
        if (m.role === 'user' && (!lastInbound || timestamp > lastInbound)) lastInbound = timestamp;
        if (!lastActivity || timestamp > lastActivity) lastActivity = timestamp;
        if (m.media && mediaId) {
          await trx
            .insertInto('media')
            .values({
              media_id: mediaId,
              message_pk: appended.row.id,
              conversation_id: conversation.id,
              provider: target.provider,
              source_ref: m.media.url,
              source_kind: 'url',
              sha256: null,
              mime_type: null,
              size: null,
              status: 'pending',
              storage_path: null,
              error: null,
              created_at: now,
              updated_at: now,
            })
            .onConflict((oc) => oc.column('media_id').doNothing())
            .execute();
          await enqueueJob(trx, store.dialect, { kind: 'media.download', dedupe_key: mediaId, payload: { media_id: mediaId } });
        }
      }
      report.messagesCreated += added;
      onProgress(++done, conversations.length);
      if (created) {
        const updatedAt = legacy.updated_at?.toISOString();
        await updateConversation(
          trx,
          conversation.id,
          {
            last_inbound_at: lastInbound,
            last_activity_at:
              [lastActivity, updatedAt]
                .filter((v): v is string => !!v)
                .sort()
                .pop() ?? now,
            legacy_id: legacy.legacy_id,
            handover: legacy.handover_reason
              ? JSON.stringify({ reason: 'user_requested', at: updatedAt ?? now, note: legacy.handover_reason })
              : null,
            metadata: JSON.stringify({ ...legacy.metadata, legacy_operator_id: legacy.operator_id }),
          },
          now,
        );
      } else if (added > 0) {
        const metadata = JSON.parse(conversation.metadata) as Record<string, unknown>;
        const merged = [...new Set([...((metadata.merged_legacy_ids as string[] | undefined) ?? []), legacy.legacy_id])];
        await updateConversation(
          trx,
          conversation.id,
          {
            last_inbound_at: lastInbound,
            metadata: JSON.stringify({ ...metadata, merged_legacy_ids: merged }),
          },
          now,
        );
      }
    }
  });
  await store.syncCommitted(0);
  return report;
}

function firstTimestamp(c: LegacyConversation): number {
  return c.messages.reduce((min, m) => Math.min(min, m.timestamp.getTime()), Number.POSITIVE_INFINITY);
}

/** Stable: conversations without messages keep their place relative to each other. */
export function sortByFirstMessage(conversations: LegacyConversation[]): LegacyConversation[] {
  return conversations
    .map((c, i) => ({ c, i, t: firstTimestamp(c) }))
    .sort((a, b) => (a.t === b.t ? a.i - b.i : a.t < b.t ? -1 : 1))
    .map((x) => x.c);
}
