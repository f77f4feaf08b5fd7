import { randomBytes } from 'node:crypto';
import { transition } from '../chat/conversation-state.js';
import { nextStatus } from '../chat/message-status.js';
import type {
  ConversationState,
  InboundBatch,
  InboundMessage,
  InboundOperation,
  Media,
  MessageStatus,
  Provider,
  StatusUpdate,
} from '../chat/types.js';
import { presentConversation, presentMessage } from '../api/present.js';
import { ensureConversation, operatorOf, upsertChannel, upsertContact, type ConversationParts } from '../store/conversation.store.js';
import { appendInbound, findContactByKey, findSenderThread, lockConversationOf } from '../store/inbound.store.js';
import { applyOperation, applyWaitingOperations, hasWaitingOperations } from './apply-lifecycle.js';
import type { GroupCommitter, WriteTx } from '../store/group-commit.js';
import { enqueueJob } from '../store/job.store.js';
import { parseJson, toJson } from '../store/json.js';
import { insertMedia } from '../store/media.store.js';
import {
  findByProviderMessageId,
  findMessage,
  getMessageByPk,
  messageIdForProviderRef,
  updateMessage,
  updateMessageIfStatus,
} from '../store/message.store.js';
import { runNextSendNow, unmatchedOutbound } from '../store/outbox.store.js';
import type { ChannelRow, ContactRow, MessageRow } from '../store/schema.js';

export interface ReceiveResult {
  created: number;
  duplicates: number;
  statusesApplied: number;
  /** Messages not stored because an id or key is too long to index (kept in the journal). */
  unstorable: number;
  /** Replay only: stored messages whose parsed content changed and was written again. */
  refreshed: number;
  /** Provider codes of our messages failed by a status in this webhook (for the outbox's failure metric). */
  sendFailures: string[];
  /** Edits, revokes and system notices applied, stored or kept waiting for their original [ED1][RV1][SY1]; only when the webhook had some. */
  operations?: number;
}

export interface ReceiveOptions {
  /** The responder decides where a new (or reopened) conversation starts: `none` → waiting. */
  responder: 'faq' | 'openai' | 'none';
  /**
   * A replay of a journaled webhook (`switchboard replay`): the body is not journaled again, a
   * stored message whose parsed content differs is rewritten in place (same row, same seq) with a
   * `message_updated` event, and a message stored for the first time changes no conversation state
   * and queues no AI reply (it is history, not a customer waiting).
   */
  replay?: boolean;
  /** [AI1] the AI job of a message is due this long after it arrived, so a burst of messages gets one reply. Default 0. */
  aiDebounceMs?: number;
  /** DATA_DIR: a revoked message's media file is removed from it after COMMIT [RV1]. Absent: the file stays (never served again). */
  dataDir?: string;
}

/**
 * Ingests one accepted webhook in one transaction (through group commit): the raw body into the
 * journal, contacts and conversations, every message idempotently [ID5], statuses forward-only
 * [ST1], event-log rows, and jobs for media and the AI. Resolves only after COMMIT [IN1].
 */
export function receiveWebhook(
  committer: GroupCommitter,
  provider: Provider,
  rawBody: string,
  batch: InboundBatch,
  options: ReceiveOptions,
): Promise<ReceiveResult> {
  return committer.run((tx) => ingest(tx, provider, rawBody, batch, options));
}

async function ingest(
  tx: WriteTx,
  provider: Provider,
  rawBody: string,
  batch: InboundBatch,
  options: ReceiveOptions,
): Promise<ReceiveResult> {
  const now = new Date();
  const nowIso = now.toISOString();
  if (!options.replay) {
    tx.journal({ provider, received_at: nowIso, body: rawBody, message_count: batch.messages.length, status_count: batch.statuses.length });
  }

  const result: ReceiveResult = { created: 0, duplicates: 0, statusesApplied: 0, unstorable: 0, refreshed: 0, sendFailures: [] };
  const touched = new Map<string, { parts: ConversationParts; last: MessageRow }>();
  for (const parsed of batch.messages) {
    if (!hasIndexableKeys(parsed)) {
      result.unstorable++;
      continue;
    }
    const message = storable(parsed);
    const outcome = await receiveMessage(tx, message, now, options);
    if (outcome === 'refreshed') {
      result.refreshed++;
      continue;
    }
    if (!outcome) {
      result.duplicates++;
      continue;
    }
    result.created++;
    touched.set(outcome.parts.conversation.id, outcome);
  }
  for (const { parts, last } of touched.values()) {
    tx.emit({ type: 'conversation_updated', conversation_id: parts.conversation.id, payload: presentConversation(parts, last) });
  }
  // Rare (an edit, a revoke, a system notice): their own path, after the messages so an original and its edit in one webhook meet.
  if (batch.operations && batch.operations.length > 0) await receiveOperations(tx, batch.operations, now, options, result);
  for (const status of batch.statuses) {
    if (await applyStatus(tx, storable(status), result)) result.statusesApplied++;
  }
  return result;
}

async function receiveOperations(
  tx: WriteTx,
  operations: InboundOperation[],
  now: Date,
  options: ReceiveOptions,
  result: ReceiveResult,
): Promise<void> {
  result.operations = 0;
  const nowIso = now.toISOString();
  for (const parsed of operations) {
    if (!hasIndexableKeys(parsed.message) || (parsed.target_message_id?.length ?? 0) > MAX_KEY_LENGTH) {
      result.unstorable++;
      continue;
    }
    const op = storable(parsed);
    const channel = await channelFor(tx, op.message, nowIso);
    const known = await findContactByKey(tx.db, tx.dialect, channel.id, op.message.contact_key);
    // A redelivered number change: the contact answers to the new number already [SY2].
    const moved = !known && op.new_wa_id ? await findContactByKey(tx.db, tx.dialect, channel.id, op.new_wa_id) : undefined;
    const contact = moved ?? (await contactFor(tx, channel.id, op.message, known, nowIso));
    const initialState = options.responder === 'none' ? 'waiting' : 'ai';
    const outcome = await applyOperation(tx, op, channel, contact, initialState, now, options);
    if (outcome === 'duplicate') result.duplicates++;
    else result.operations++;
  }
}

/*
 * What the databases can hold, whatever a (validly signed) webhook carries. A value they refuse
 * would fail the write every time the provider retries, so it would also hold back every other
 * message of that webhook: such values are made storable here, or their message is left out (the
 * raw body stays in the journal for a replay).
 */

/** Longest provider id, contact key or channel id stored: PostgreSQL cannot index much longer keys. */
const MAX_KEY_LENGTH = 512;

/** JSON nesting kept in metadata; deeper values would overflow JSON.stringify's stack. */
const MAX_DEPTH = 32;

function hasIndexableKeys(m: InboundMessage): boolean {
  return [m.provider_message_id, m.contact_key, m.channel_external_id].every((key) => key.length <= MAX_KEY_LENGTH);
}

/** Replaces U+0000 (PostgreSQL text refuses it) with U+FFFD and cuts nesting below MAX_DEPTH. */
function storable<T>(value: T): T {
  // Nearly every webhook holds neither: then the value is used as it is, not copied.
  return needsCleaning(value, 0) ? cleaned(value, 0) : value;
}

function needsCleaning(value: unknown, depth: number): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (value === null || typeof value !== 'object' || value instanceof Date) return false;
  if (depth >= MAX_DEPTH) return true;
  if (Array.isArray(value)) return value.some((item) => needsCleaning(item, depth + 1));
  for (const [key, item] of Object.entries(value)) if (key.includes('\u0000') || needsCleaning(item, depth + 1)) return true;
  return false;
}

function cleaned<T>(value: T, depth: number): T {
  if (typeof value === 'string') return (value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value) as T;
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  if (depth >= MAX_DEPTH) return '[nested too deep]' as T;
  if (Array.isArray(value)) return value.map((item) => cleaned(item, depth + 1)) as T;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [cleaned(key, depth), cleaned(item, depth + 1)])) as T;
}

async function receiveMessage(tx: WriteTx, m: InboundMessage, now: Date, options: ReceiveOptions) {
  const nowIso = now.toISOString();
  const channel = await channelFor(tx, m, nowIso);
  const initialState = options.responder === 'none' ? 'waiting' : 'ai';
  const messageId = m.provider_message_id;
  const known = await findSenderThread(tx.db, tx.dialect, channel.id, m.contact_key, messageId);
  const contact = await contactFor(tx, channel.id, m, known?.contact, nowIso);
  // The thread read with the contact stays valid: a contact found by its key keeps its id.
  const thread = known?.thread && known.contact.id === contact.id ? known.thread : undefined;
  const { conversation, hasMessage } = thread ?? (await conversationFor(tx, channel.id, contact.id, messageId, initialState, nowIso));
  if (hasMessage) return options.replay && (await refreshMessage(tx, conversation.id, m)) ? 'refreshed' : null;

  // The customer-service window runs from the customer's latest message; a provider clock ahead of ours is clamped.
  const sentAt = Math.min(m.timestamp.getTime(), now.getTime());
  const lastInbound = conversation.last_inbound_at ? Math.max(Date.parse(conversation.last_inbound_at), sentAt) : sentAt;
  const current = conversation.state as ConversationState;
  const state = options.replay ? current : transition(current, 'customer_message', { responder: options.responder });

  const mediaId = m.media ? `md_${randomBytes(10).toString('hex')}` : null;
  const media: Media | null =
    m.media && mediaId
      ? {
          media_id: mediaId,
          mime_type: m.media.mime_type,
          url: null,
          status: 'pending',
          caption: m.media.caption,
          transcript: null,
          filename: m.media.filename,
          size: null,
        }
      : null;
  const appended = await appendInbound(
    tx.db,
    tx.dialect,
    conversation.id,
    {
      state,
      clearOwner: state !== conversation.state,
      last_inbound_at: new Date(lastInbound).toISOString(),
      now: nowIso,
    },
    {
      message_id: messageId,
      role: 'user',
      type: m.type,
      text: m.text,
      media: toJson(media),
      status: 'received',
      error: toJson(m.error),
      operator_id: null,
      operator_name: null,
      reply_to: await quotedMessageId(tx, conversation.id, m.reply_to),
      timestamp: m.timestamp.toISOString(),
      // [ID4] metadata.message_id always equals message_id; inbound messages carry their source id.
      metadata: JSON.stringify({ ...m.metadata, provider: m.provider, message_id: messageId, source_message_id: messageId }),
      provider_message_id: null,
      client_key: null,
      created_at: nowIso,
      updated_at: nowIso,
    },
    state === 'ai' && !options.replay
      ? {
          kind: 'ai.reply',
          payload: { conversation_id: conversation.id, message_id: messageId },
          run_at: options.aiDebounceMs ? new Date(now.getTime() + options.aiDebounceMs).toISOString() : undefined,
        }
      : null,
  );
  // Unreachable while the check above holds; if it ever fails, the unit is undone and the provider retries.
  if (!appended) throw new Error(`message ${messageId} appeared in conversation ${conversation.id} during its own insert`);
  let { conversation: updated, message } = appended;

  if (media && m.media) {
    await insertMedia(tx.db, {
      media_id: media.media_id,
      message_pk: message.id,
      conversation_id: conversation.id,
      provider: m.provider,
      source_ref: m.media.ref,
      source_kind: m.media.kind,
      sha256: m.media.sha256,
      mime_type: m.media.mime_type,
      size: null,
      status: 'pending',
      storage_path: null,
      error: null,
      created_at: nowIso,
      updated_at: nowIso,
    });
    await enqueueJob(tx.db, tx.dialect, { kind: 'media.download', dedupe_key: media.media_id, payload: { media_id: media.media_id } });
  }
  // [ED3][RV3] an edit or revoke that arrived before this message is applied now, before anyone sees it.
  if (hasWaitingOperations(updated))
    ({ conversation: updated, message } = await applyWaitingOperations(tx, updated, message, now, options));
  tx.emit({ type: 'new_message', conversation_id: conversation.id, payload: presentMessage(message) });
  // The channel and contact rows are the ones just upserted: no second read for the conversation event.
  return { parts: { conversation: updated, contact, channel, operator: await operatorOf(tx.db, updated) }, last: message };
}

/**
 * Replay: writes the parsed content of an already stored message again when it differs (a parser
 * fix). Type, text, reply context, error and the parsed metadata change; the id, seq, status, media
 * and everything added since (transcripts, edits of the row by workers) stay. Returns whether it changed.
 */
async function refreshMessage(tx: WriteTx, conversationId: string, m: InboundMessage): Promise<boolean> {
  const stored = await findMessage(tx.db, conversationId, m.provider_message_id);
  // An edited or deleted message is what the customer made of it since [ED1][RV1]: a replay of the original must not bring it back.
  if (!stored || stored.edited_at !== null || stored.deleted_at !== null) return false;
  const before = parseJson<Record<string, unknown>>(stored.metadata) ?? {};
  const metadata = JSON.stringify({
    ...before,
    ...m.metadata,
    provider: m.provider,
    message_id: stored.message_id,
    source_message_id: stored.message_id,
  });
  const patch = {
    type: m.type,
    text: m.text,
    reply_to: await quotedMessageId(tx, conversationId, m.reply_to),
    error: toJson(m.error),
    metadata,
  };
  if (
    stored.type === patch.type &&
    stored.text === patch.text &&
    stored.reply_to === patch.reply_to &&
    stored.error === patch.error &&
    stored.metadata === patch.metadata
  )
    return false;
  const updated = await updateMessage(tx.db, stored.id, patch);
  tx.emit({ type: 'message_updated', conversation_id: conversationId, payload: presentMessage(updated) });
  return true;
}

/**
 * [ID7][ID9] What a customer's quote or reaction refers to, as the message_id of this conversation's
 * message: the provider names one we sent by its own id (a customer quoting the AI's reply), which
 * becomes ours, so the dashboard and the API find it; an id the conversation does not hold stays as
 * the provider sent it.
 */
async function quotedMessageId(tx: WriteTx, conversationId: string, ref: string | null): Promise<string | null> {
  if (ref === null) return null;
  return (await messageIdForProviderRef(tx.db, conversationId, ref)) ?? ref;
}

/**
 * The conversation of (channel, contact), created when new and locked until COMMIT on PostgreSQL,
 * and whether it holds `messageId` already.
 */
async function conversationFor(tx: WriteTx, channelId: string, contactId: string, messageId: string, initialState: string, nowIso: string) {
  const existing = await lockConversationOf(tx.db, tx.dialect, channelId, contactId, messageId);
  if (existing) return existing;
  await ensureConversation(tx.db, channelId, contactId, initialState, nowIso);
  const created = await lockConversationOf(tx.db, tx.dialect, channelId, contactId, messageId);
  if (!created) throw new Error(`conversation of contact ${contactId} vanished after its creation`);
  return created;
}

/** The sender's contact (`known`: as read by its key), written only when it is new or the webhook tells something new. */
async function contactFor(
  tx: WriteTx,
  channelId: string,
  m: InboundMessage,
  known: ContactRow | undefined,
  nowIso: string,
): Promise<ContactRow> {
  const unchanged =
    known &&
    (m.contact_name === null || m.contact_name === known.name) &&
    (m.wa_id === null || m.wa_id === known.wa_id) &&
    (m.user_id === null || m.user_id === known.user_id) &&
    (!m.contact_username || m.contact_username === known.username);
  if (known && unchanged) return known;
  return upsertContact(
    tx.db,
    {
      channel_id: channelId,
      contact_key: m.contact_key,
      wa_id: m.wa_id,
      user_id: m.user_id,
      name: m.contact_name,
      username: m.contact_username ?? null,
    },
    nowIso,
  );
}

/**
 * Channels are few and never deleted, and a named one never changes: once committed, its row is
 * kept per committer (one per database) and the webhook path skips the look-up.
 */
const committedChannels = new WeakMap<object, Map<string, ChannelRow>>();

async function channelFor(tx: WriteTx, m: InboundMessage, nowIso: string): Promise<ChannelRow> {
  let cache = committedChannels.get(tx.owner);
  if (!cache) committedChannels.set(tx.owner, (cache = new Map()));
  const key = `${m.provider}\u0000${m.channel_external_id}`;
  const cached = cache.get(key);
  if (cached && (cached.name !== null || m.channel_name === null)) return cached;
  const channel = await upsertChannel(tx.db, { provider: m.provider, external_id: m.channel_external_id, name: m.channel_name }, nowIso);
  tx.afterCommit(() => cache.set(key, channel));
  return channel;
}

/**
 * Applies one delivery status to our outbound message(s) with that provider id, forward only [ST1].
 * A status for a provider id we have not recorded, naming one of our ids as Meta's callback data,
 * is matched by that: the send's acceptance was not committed yet, or was lost in a crash (the
 * message then shows `send_unconfirmed`, and this status proves the customer has it). The
 * provider id is recorded on it at the same time [ID9] — unless it is the id of an attempt before
 * an operator's retry. A message that leaves `pending` this way lets its conversation's next
 * message go at once, as the sender's own outcome would; a failure's code is added to
 * `result.sendFailures`.
 */
async function applyStatus(tx: WriteTx, status: StatusUpdate, result: ReceiveResult): Promise<boolean> {
  let applied = false;
  let rows = await findByProviderMessageId(tx.db, status.provider_message_id);
  if (rows.length === 0 && status.callback_data && /^msg_\d{14}_[0-9a-f]{8}$/.test(status.callback_data)) {
    rows = [];
    for (const row of await unmatchedOutbound(tx.db, status.callback_data)) {
      const known = JSON.parse(row.metadata) as Record<string, unknown>;
      // The id of an attempt before an operator's retry: that attempt's news, not this one's.
      if (Array.isArray(known.previous_provider_message_ids) && known.previous_provider_message_ids.includes(status.provider_message_id))
        continue;
      const metadata = {
        ...known,
        provider_message_id: status.provider_message_id,
        send_open: false,
      };
      const recorded = await updateMessageIfStatus(tx.db, row.id, row.status, {
        provider_message_id: status.provider_message_id,
        metadata: JSON.stringify(metadata),
      });
      if (!recorded) continue;
      // A status that moves nothing still told us the provider id: show it.
      if (nextStatus(recorded.status as MessageStatus, status.status) === null) {
        tx.emit({ type: 'message_updated', conversation_id: recorded.conversation_id, payload: presentMessage(recorded) });
        applied = true;
      }
      rows.push(recorded);
    }
  }
  for (let row of rows) {
    for (let attempt = 0; attempt < 5; attempt++) {
      const next = nextStatus(row.status as MessageStatus, status.status);
      if (next === null) break;
      const updated = await updateMessageIfStatus(tx.db, row.id, row.status, {
        status: next,
        // A delivery after a failure proves the customer has the message: the failure's error goes.
        error: next === 'failed' ? toJson(status.error) : row.status === 'failed' ? null : row.error,
      });
      if (updated) {
        tx.emit({ type: 'message_updated', conversation_id: updated.conversation_id, payload: presentMessage(updated) });
        if (row.status === 'pending') await runNextSendNow(tx.db, tx.dialect, updated.conversation_id, updated.seq);
        if (next === 'failed') result.sendFailures.push(status.error?.code ?? 'unknown');
        applied = true;
        break;
      }
      const reread = await getMessageByPk(tx.db, row.id);
      if (!reread) break;
      row = reread;
    }
  }
  return applied;
}
