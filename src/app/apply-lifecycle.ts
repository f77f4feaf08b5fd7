import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { EditVersion, InboundOperation, Media } from '../chat/types.js';
import { presentConversation, presentMessage } from '../api/present.js';
import { completeParts, ensureConversation, updateConversation } from '../store/conversation.store.js';
import type { WriteTx } from '../store/group-commit.js';
import { lockConversationOf } from '../store/inbound.store.js';
import { parseJson } from '../store/json.js';
import {
  deleteMediaContent,
  hasPendingOperation,
  insertPendingOperation,
  markOperationsApplied,
  moveContactToNumber,
  patchMessageLifecycle,
  stillWaiting,
  waitingOperations,
} from '../store/lifecycle.store.js';
import { appendMessage, findMessage } from '../store/message.store.js';
import type { ChannelRow, ContactRow, ConversationRow, MessageRow } from '../store/schema.js';

/*
 * A message's later life, applied at ingest (src/app/receive-webhook.ts): a customer's edit [ED1]
 * or revoke [RV1] of an earlier message, and WhatsApp's system notices [SY1]. None of them is a
 * message of the thread the customer typed: no unread count, no state change, no AI job.
 */

export interface LifecycleOptions {
  /** Where media files live (DATA_DIR): a revoked message's file is removed after COMMIT. Absent: the file stays, never served. */
  dataDir?: string;
  /** Replay: operations are applied the same way (each is idempotent by its id). */
  replay?: boolean;
}

export type OperationOutcome = 'applied' | 'waiting' | 'duplicate' | 'stored' | 'ignored';

/** Conversation metadata key listing the edits and revokes still waiting for their original [ED3][RV3]. */
export const PENDING_KEY = 'pending_operations';

/**
 * Applies one operation from `contact` on `channel`, in the caller's unit. An edit or revoke whose
 * original is not stored yet waits in pending_operations (listed in the conversation's metadata)
 * and is applied when the original arrives (applyWaitingOperations). A system notice becomes an
 * `event` message; `user_changed_number` moves the contact to the new number [SY2].
 */
export async function applyOperation(
  tx: WriteTx,
  op: InboundOperation,
  channel: ChannelRow,
  contact: ContactRow,
  initialState: string,
  now: Date,
  options: LifecycleOptions,
): Promise<OperationOutcome> {
  const nowIso = now.toISOString();
  const operationId = op.message.provider_message_id;
  const conversation = await conversationOf(tx, channel.id, contact.id, operationId, initialState, nowIso);
  if (op.kind === 'system') return appendSystemEvent(tx, op, conversation, channel, contact, nowIso);

  const targetId = op.target_message_id!;
  const target = await findMessage(tx.db, conversation.id, targetId);
  if (!target) {
    const created = await insertPendingOperation(tx.db, {
      conversation_id: conversation.id,
      kind: op.kind,
      operation_id: operationId,
      target_message_id: targetId,
      payload: JSON.stringify(op),
      received_at: nowIso,
    });
    if (!created) return 'duplicate';
    await listWaiting(tx, conversation, nowIso);
    return 'waiting';
  }
  // An operation applied from the waiting list is remembered there: its redelivery changes nothing.
  if (await hasPendingOperation(tx.db, conversation.id, operationId)) return 'duplicate';
  const updated = op.kind === 'edit' ? await applyEdit(tx, target, op, nowIso) : await applyRevoke(tx, target, op, nowIso, options);
  if (!updated) return 'duplicate';
  tx.emit({ type: 'message_updated', conversation_id: conversation.id, payload: presentMessage(updated) });
  if (updated.seq === conversation.last_seq) await emitConversation(tx, conversation, updated);
  return 'applied';
}

/**
 * After an inbound message is stored in a conversation whose metadata lists waiting operations:
 * applies the ones naming it (edits in their provider order, then a revoke) and returns the row as
 * it now stands. The caller emits the row; no separate `message_updated` is needed.
 */
export async function applyWaitingOperations(
  tx: WriteTx,
  conversation: ConversationRow,
  message: MessageRow,
  now: Date,
  options: LifecycleOptions,
): Promise<{ conversation: ConversationRow; message: MessageRow }> {
  const nowIso = now.toISOString();
  const waiting = await waitingOperations(tx.db, conversation.id, message.message_id);
  if (waiting.length === 0) return { conversation, message };
  const operations = waiting.map((row) => ({ row, op: parseJson<InboundOperation>(row.payload)! }));
  operations.sort((a, b) => rank(a.op) - rank(b.op) || timeOf(a.op) - timeOf(b.op) || a.row.id - b.row.id);
  let current = message;
  for (const { op } of operations) {
    const next = op.kind === 'edit' ? await applyEdit(tx, current, op, nowIso) : await applyRevoke(tx, current, op, nowIso, options);
    if (next) current = next;
  }
  await markOperationsApplied(
    tx.db,
    waiting.map((w) => w.id),
    nowIso,
  );
  return { conversation: await listWaiting(tx, conversation, nowIso), message: current };
}

/** Whether a conversation row lists waiting operations: the webhook path's only check, on a row it has read anyway. */
export function hasWaitingOperations(conversation: ConversationRow): boolean {
  return conversation.metadata.length > 2 && conversation.metadata.includes(`"${PENDING_KEY}"`);
}

function rank(op: InboundOperation): number {
  return op.kind === 'revoke' ? 1 : 0;
}

function timeOf(op: InboundOperation): number {
  return Date.parse(String(op.message.timestamp)) || 0;
}

async function conversationOf(tx: WriteTx, channelId: string, contactId: string, messageId: string, initialState: string, nowIso: string) {
  const existing = await lockConversationOf(tx.db, tx.dialect, channelId, contactId, messageId);
  if (existing) return existing.conversation;
  await ensureConversation(tx.db, channelId, contactId, initialState, nowIso);
  const created = await lockConversationOf(tx.db, tx.dialect, channelId, contactId, messageId);
  if (!created) throw new Error(`conversation of contact ${contactId} vanished after its creation`);
  return created.conversation;
}

/**
 * [ED1] The new text (or caption) replaces the current one; the replaced version goes to
 * `metadata.edits` with its times. An edit older (by provider time) than the one applied last is
 * kept as a version but does not replace the text. Undefined when nothing changes: the edit is
 * known already [ED2], the message is deleted, or it is not the customer's.
 */
async function applyEdit(tx: WriteTx, row: MessageRow, op: InboundOperation, nowIso: string): Promise<MessageRow | undefined> {
  if (row.role !== 'user' || row.deleted_at !== null) return undefined;
  const editId = op.message.provider_message_id;
  const metadata = parseJson<Record<string, unknown>>(row.metadata) ?? {};
  const edits = Array.isArray(metadata['edits']) ? (metadata['edits'] as EditVersion[]) : [];
  if (edits.some((version) => version.edit_id === editId)) return undefined;
  const editedAt = isoOf(op.message.timestamp);
  const lastEditAt = typeof metadata['last_edit_at'] === 'string' ? metadata['last_edit_at'] : null;
  const newText = op.message.text;
  if (lastEditAt !== null && editedAt < lastEditAt) {
    // Arrived late: it was current between its own time and the newer edit's.
    const version: EditVersion = { text: newText, since: editedAt, replaced_at: lastEditAt, edit_id: editId };
    const kept = [...edits, version].sort((a, b) => a.since.localeCompare(b.since));
    return patchMessageLifecycle(tx.db, row.id, { metadata: JSON.stringify({ ...metadata, edits: kept }) }, nowIso);
  }
  const version: EditVersion = { text: row.text, since: lastEditAt ?? row.timestamp, replaced_at: editedAt, edit_id: editId };
  const media = parseJson<Media>(row.media);
  return patchMessageLifecycle(
    tx.db,
    row.id,
    {
      text: newText,
      media: media ? JSON.stringify({ ...media, caption: newText }) : row.media,
      metadata: JSON.stringify({ ...metadata, edits: [...edits, version], last_edit_at: editedAt }),
      edited_at: nowIso,
    },
    nowIso,
  );
}

/** Metadata a deleted message keeps: where it came from, never what it said. */
const KEPT_AFTER_REVOKE = ['provider', 'message_id', 'source_message_id', 'qiscus', 'forwarded', 'frequently_forwarded', 'username'];

/**
 * [RV1] What the customer deleted is deleted: text, caption, transcript, previous versions and
 * content metadata go, the media bytes are removed (the file after COMMIT) and the media object
 * answers 410; the row stays with `deleted_at` so ids and seq never change. Undefined when it is
 * deleted already [RV2] or not the customer's.
 */
async function applyRevoke(
  tx: WriteTx,
  row: MessageRow,
  op: InboundOperation,
  nowIso: string,
  options: LifecycleOptions,
): Promise<MessageRow | undefined> {
  if (row.role !== 'user' || row.deleted_at !== null) return undefined;
  const metadata = parseJson<Record<string, unknown>>(row.metadata) ?? {};
  const kept = Object.fromEntries(KEPT_AFTER_REVOKE.filter((key) => key in metadata).map((key) => [key, metadata[key]]));
  const media = parseJson<Media>(row.media);
  if (media) {
    const path = await deleteMediaContent(tx.db, media.media_id, nowIso);
    const { dataDir } = options;
    // After COMMIT only (a rolled-back revoke keeps its file); synchronous, so the answer to the webhook means it is gone.
    if (path !== null && dataDir !== undefined) {
      tx.afterCommit(() => {
        try {
          rmSync(join(dataDir, path), { force: true });
        } catch {
          // The row says deleted and the file is never served; a leftover file is all that remains.
        }
      });
    }
  }
  const deletedMedia: Media | null = media
    ? {
        media_id: media.media_id,
        mime_type: null,
        url: null,
        status: 'deleted',
        caption: null,
        transcript: null,
        filename: null,
        size: null,
      }
    : null;
  return patchMessageLifecycle(
    tx.db,
    row.id,
    {
      text: null,
      media: deletedMedia ? JSON.stringify(deletedMedia) : null,
      metadata: JSON.stringify({
        ...kept,
        deleted: { by: 'customer', at: nowIso, revoked_at: isoOf(op.message.timestamp), revoke_id: op.message.provider_message_id },
      }),
      deleted_at: nowIso,
    },
    nowIso,
  );
}

/**
 * [SY1] A system notice as an `event` message (role `system`, its body as text, the notice in
 * `metadata.system`), idempotent by its id. [SY2] `user_changed_number` moves the contact to the
 * new number; when another contact of the channel already has it, nothing moves and
 * `metadata.number_change` says so.
 */
async function appendSystemEvent(
  tx: WriteTx,
  op: InboundOperation,
  conversation: ConversationRow,
  channel: ChannelRow,
  contact: ContactRow,
  nowIso: string,
): Promise<OperationOutcome> {
  const m = op.message;
  const extra: Record<string, unknown> = {};
  let movedContact: ContactRow | undefined;
  const existing = await findMessage(tx.db, conversation.id, m.provider_message_id);
  if (existing) return 'duplicate';
  if (op.new_wa_id) {
    movedContact = await moveContactToNumber(tx.db, contact, op.new_wa_id, nowIso);
    extra['number_change'] = movedContact
      ? { from: contact.wa_id, to: op.new_wa_id, applied: true }
      : { from: contact.wa_id, to: op.new_wa_id, applied: false, reason: 'another contact of this channel has that number' };
  }
  const { row, created } = await appendMessage(tx.db, conversation.id, {
    message_id: m.provider_message_id,
    role: 'system',
    type: 'event',
    text: m.text,
    media: null,
    status: 'received',
    error: null,
    operator_id: null,
    operator_name: null,
    reply_to: null,
    timestamp: m.timestamp instanceof Date ? m.timestamp.toISOString() : String(m.timestamp),
    metadata: JSON.stringify({
      ...m.metadata,
      ...extra,
      provider: m.provider,
      message_id: m.provider_message_id,
      source_message_id: m.provider_message_id,
    }),
    provider_message_id: null,
    client_key: null,
  });
  if (!created) return 'duplicate';
  tx.emit({ type: 'new_message', conversation_id: conversation.id, payload: presentMessage(row) });
  const updated = await updateConversation(tx.db, conversation.id, { last_activity_at: nowIso }, nowIso);
  const parts = await completeParts(tx.db, updated);
  tx.emit({ type: 'conversation_updated', conversation_id: conversation.id, payload: presentConversation({ ...parts, channel }, row) });
  return 'stored';
}

/** Rewrites the conversation's list of waiting operations (removed when none is left) and returns the row. */
async function listWaiting(tx: WriteTx, conversation: ConversationRow, nowIso: string): Promise<ConversationRow> {
  const waiting = await stillWaiting(tx.db, conversation.id);
  const metadata = parseJson<Record<string, unknown>>(conversation.metadata) ?? {};
  if (waiting.length === 0 && !(PENDING_KEY in metadata)) return conversation;
  if (waiting.length === 0) delete metadata[PENDING_KEY];
  else
    metadata[PENDING_KEY] = waiting.map((w) => ({
      kind: w.kind,
      operation_id: w.operation_id,
      original_message_id: w.target_message_id,
      received_at: w.received_at,
    }));
  const updated = await updateConversation(tx.db, conversation.id, { metadata: JSON.stringify(metadata) }, nowIso);
  return updated;
}

async function emitConversation(tx: WriteTx, conversation: ConversationRow, last: MessageRow): Promise<void> {
  const parts = await completeParts(tx.db, conversation);
  tx.emit({ type: 'conversation_updated', conversation_id: conversation.id, payload: presentConversation(parts, last) });
}

function isoOf(value: Date | string): string {
  return value instanceof Date ? value.toISOString() : new Date(value).toISOString();
}
