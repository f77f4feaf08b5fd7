import type { Readable } from 'node:stream';
import { presentMessage } from '../api/present.js';
import { isDomainError } from '../chat/errors.js';
import type { Media, MessageType, Provider, ProviderError } from '../chat/types.js';
import { isWindowOpen } from '../chat/window.js';
import type { Kysely, Transaction } from 'kysely';
import type { MessageSender, OutboundMedia, OutboundMessage, PreparedSend, Recipient, SendOutcome } from '../providers/send.js';
import type { WriteTx } from '../store/group-commit.js';
import { parseJson } from '../store/json.js';
import { findMessage, getMessageByPk, updateMessageIfStatus } from '../store/message.store.js';
import {
  earlierPendingSend,
  latestInbound,
  runNextSendNow,
  sendMessageOf,
  sendTarget,
  sendTargetOf,
  setSendMetadataIfStatus,
  setSendOutcomeIfStatus,
  type SendTarget,
} from '../store/outbox.store.js';
import type { DB, MessageRow } from '../store/schema.js';
import type { OutboxSendPayload } from './append-outbound.js';
import type { AppContext } from './context.js';
import {
  backoffDelay,
  JobFailure,
  processRunnerOptions,
  startJobRunner,
  type Job,
  type JobHandler,
  type JobRun,
  type JobRunner,
} from './job-runner.js';
import { readMedia } from './read-media.js';

/** The payload of an `outbox.read` job (queued by markRead): the customer's latest message, to be marked read at the provider. */
export interface OutboxReadPayload {
  conversation_id: string;
  message_id: string;
}

export type MessageSenders = Partial<Record<Provider, MessageSender>>;

type Db = Kysely<DB> | Transaction<DB>;

/**
 * What the sender keeps in `messages.metadata` (beside the message's own keys):
 * - `send_attempts`: provider calls started; `send_started_at`: when the latest started;
 * - `send_open`: true from the committed start of a call until its outcome is committed. Found true
 *   by a later run, it means the process died during the call: the outcome is unknown;
 * - `last_send_error`: the latest retryable error; `pair_limit_hits`: Meta 131056 answers so far;
 * - `provider_message_id` [ID9] and `sent_at` once accepted; `unconfirmed_resent` when an unknown
 *   outcome was resent (OUTBOX_UNCONFIRMED=resend);
 * - `previous_provider_message_ids`: the ids of attempts before an operator's retry, whose
 *   statuses are ignored (src/app/retry-message.ts, which also starts the keys above over).
 */
interface SendMetadata {
  provider?: Provider;
  send_attempts?: number;
  send_started_at?: string;
  send_open?: boolean;
  last_send_error?: ProviderError;
  pair_limit_hits?: number;
  provider_message_id?: string | null;
  sent_at?: string;
  unconfirmed_resent?: boolean;
  [key: string]: unknown;
}

/**
 * A message waits while an earlier one of its conversation is pending. The predecessor's outcome
 * makes the held job due at once (`runNextSendNow`); this poll only covers a job that was running its
 * check at that very moment.
 */
const HOLD_MS = 2_000;
/**
 * The predecessor's outcome cannot make a job due that is running at that moment (held while the
 * outcome was being committed, which on PostgreSQL's concurrent batches is common): so a hold
 * first waits 50 ms, doubling per claim up to HOLD_MS.
 */
function holdDelay(claims: number): number {
  return Math.min(HOLD_MS, 50 * 2 ** Math.min(Math.max(0, claims - 1), 10));
}
/**
 * Claims of one job before the runner gives it up. Holds count as claims, so this is no limit on
 * sends: the sender counts provider calls itself (`send_attempts` against OUTBOX_MAX_ATTEMPTS).
 */
const RUNNER_MAX_CLAIMS = 100_000;
/** Attempts of a best-effort mark-as-read before it is dropped. */
const READ_MAX_ATTEMPTS = 3;
/** Meta's pair rate limit (131056): wait 4^X seconds, X = earlier hits (REFERENCE §1.10). */
const PAIR_LIMIT_CODE = '131056';
const PAIR_LIMIT_MAX_MS = 3_600_000;

export const SEND_UNCONFIRMED: ProviderError = {
  code: 'send_unconfirmed',
  title: 'The server stopped while sending; the provider may or may not have the message. Check with the customer before sending it again.',
};

/**
 * Starts this process's outbox [OUT1]: delivers `outbox.send` jobs through the provider's sender
 * and marks customers' messages read (`outbox.read`). Config: OUTBOX_* and JOB_*.
 */
export function startOutbox(ctx: AppContext, senders: MessageSenders): JobRunner {
  const { config } = ctx;
  const handler = outboxHandler(ctx, senders);
  if (2 * config.outbox.sendTimeoutMs >= 0.9 * config.jobs.lockMs) {
    // Not refused (a test cuts sends this way on purpose), but the engineer on call should know.
    ctx.logger.warn(
      { sendTimeoutMs: config.outbox.sendTimeoutMs, lockMs: config.jobs.lockMs },
      'a media message makes two calls of up to OUTBOX_SEND_TIMEOUT_MS in one claim, which ends at 0.9 × JOB_LOCK_MS: a slow upload and send can end send_unconfirmed',
    );
  }
  return startJobRunner({
    ...processRunnerOptions(ctx, (failure) => failure.reason !== 'held'),
    kinds: ['outbox.send', 'outbox.read'],
    handler,
    onClaim: handler.onClaim,
    onUnclaim: handler.onUnclaim,
    concurrency: config.outbox.concurrency,
    prefetch: config.outbox.prefetch,
    maxAttempts: RUNNER_MAX_CLAIMS,
    backoff: { baseMs: config.outbox.retryBaseMs, maxMs: config.outbox.retryMaxMs },
  });
}

/**
 * The outbox's job handler. For one `outbox.send` job, in order:
 * 1. the message is gone or no longer `pending` → done (an earlier run finished it);
 * 2. an attempt was started and never recorded (`send_open`) → `send_unconfirmed` (or one resend);
 * 3. an earlier message of the conversation is pending → held, nothing sent;
 * 4. the 24 h window is closed → `failed` `window_closed`, no provider call;
 * 5. media is read and uploaded (`prepare`, repeatable), the start of the attempt is committed,
 *    then the one `send` call; its outcome is committed: `sent` with the provider's id [ID9],
 *    a retry after backoff (Retry-After and Meta's pair pacing honoured), or `failed` with
 *    `{code, title}` and `message_updated`. A message's outcome makes the next one due.
 */
export function outboxHandler(ctx: AppContext, senders: MessageSenders): OutboxHandler {
  return {
    onClaim: (jobs, tx) => startOnClaim(ctx, senders, jobs, tx),
    onUnclaim: async (jobs, tx) => {
      // Started in the claim's unit, never called: the start marker goes, as if never claimed.
      for (const { claimed } of jobs) {
        const started = claimed as StartedSend | undefined;
        if (started) await setSendMetadataIfStatus(tx.db, tx.dialect, started.row.id, 'pending', started.previousMetadata);
      }
    },
    run: (run) =>
      run.job.kind === 'outbox.read'
        ? markReadAtProvider(ctx, senders, run as JobRun<OutboxReadPayload>)
        : deliver(ctx, senders, run as JobRun<OutboxSendPayload>),
    giveUp: async (job, failure, tx) => {
      if (job.kind !== 'outbox.send') return;
      const payload = (job as Job<OutboxSendPayload>).payload;
      if (!payload || typeof payload.message_id !== 'string') return;
      const row = await findMessage(tx.db, payload.conversation_id, payload.message_id);
      if (row) await markFailed(ctx, tx, row, { code: failure.reason, title: failure.message });
    },
  };
}

export type OutboxHandler = JobHandler<OutboxSendPayload | OutboxReadPayload> & {
  /** The runner's onClaim: starts ready text sends in the claim's unit (see startOnClaim). */
  onClaim(jobs: readonly Job<OutboxSendPayload | OutboxReadPayload>[], tx: WriteTx): Promise<Map<number, StartedSend>>;
  /** The runner's onUnclaim: a start marker of a job claimed ahead and never run is taken back. */
  onUnclaim(jobs: readonly { job: Job<OutboxSendPayload | OutboxReadPayload>; claimed: unknown }[], tx: WriteTx): Promise<void>;
};

/** An attempt whose start marker is committed: what the one call needs. */
interface StartedSend {
  row: MessageRow;
  meta: SendMetadata;
  attempt: number;
  provider: Provider;
  to: Recipient;
  replyTo: string | null;
  /** The message's metadata before the start marker (restored if the job is handed back unstarted). */
  previousMetadata: string;
}

/**
 * Everything before the call, for the text messages among freshly claimed `outbox.send` jobs,
 * inside the claim's own unit: the message is pending with no open attempt, no earlier message of
 * its conversation is pending, the window is open, a sender exists — then the start marker is
 * written there, so claim and marker cost one commit. Media messages (prepare uploads first, and
 * an upload must not sit inside the open attempt) and every job that fails a check are left to
 * `deliver`'s own path, which decides the same checks again and says why.
 */
async function startOnClaim(
  ctx: AppContext,
  senders: MessageSenders,
  jobs: readonly Job<OutboxSendPayload | OutboxReadPayload>[],
  tx: WriteTx,
): Promise<Map<number, StartedSend>> {
  const startedJobs = new Map<number, StartedSend>();
  const now = new Date();
  for (const job of jobs) {
    if (job.kind !== 'outbox.send') continue;
    const payload = job.payload as OutboxSendPayload | null;
    if (typeof payload?.conversation_id !== 'string' || typeof payload.message_id !== 'string') continue;
    const conversationId = payload.conversation_id;
    const row = await sendMessageOf(tx.db, tx.dialect, conversationId, payload.message_id);
    if (!row || row.status !== 'pending' || row.media !== null) continue;
    const meta = metadataOf(row);
    const attempts = meta.send_attempts ?? 0;
    if (meta.send_open === true || attempts >= ctx.config.outbox.maxAttempts) continue;
    if (await earlierPendingSend(tx.db, tx.dialect, conversationId, row.seq)) continue;
    const target = await sendTargetOf(tx.db, tx.dialect, conversationId);
    if (!target || !isWindowOpen(target.last_inbound_at ? new Date(target.last_inbound_at) : null, now)) continue;
    const provider = (meta.provider ?? target.provider) as Provider;
    if (!senders[provider]) continue;
    const to = await recipientOf(tx.db, conversationId, target);
    const replyTo = row.reply_to ? await quotedProviderId(tx.db, conversationId, row.reply_to) : null;
    const startedMeta: SendMetadata = { ...meta, send_attempts: attempts + 1, send_started_at: now.toISOString(), send_open: true };
    const started = await setSendMetadataIfStatus(tx.db, tx.dialect, row.id, 'pending', JSON.stringify(startedMeta));
    if (started)
      startedJobs.set(job.id, {
        row: started,
        meta: startedMeta,
        attempt: attempts + 1,
        provider,
        to,
        replyTo,
        previousMetadata: row.metadata,
      });
  }
  return startedJobs;
}

async function deliver(ctx: AppContext, senders: MessageSenders, run: JobRun<OutboxSendPayload>): Promise<void> {
  const early = run.claimed as StartedSend | undefined;
  if (early) return callProvider(ctx, run, senders[early.provider]!, early, null);
  const { config, store, committer } = ctx;
  const { conversation_id: conversationId, message_id: messageId } = run.job.payload ?? ({} as OutboxSendPayload);
  if (typeof conversationId !== 'string' || typeof messageId !== 'string') {
    throw new JobFailure('bad_payload', 'outbox.send job without conversation_id and message_id', { permanent: true });
  }
  const row = await sendMessageOf(store.reader, store.dialect, conversationId, messageId);
  if (!row || row.status !== 'pending') return;
  let meta = metadataOf(row);
  // An attempt that left no outcome may be on the customer's phone: a message that then cannot be
  // sent (window closed, attempts used up …) says so, not why the resend could not happen.
  const refuse = (error: ProviderError) =>
    finish(ctx, run, row, { kind: 'permanent', error: mayHaveArrived(meta) ? SEND_UNCONFIRMED : error });

  if (meta.send_open === true) {
    if (config.outbox.unconfirmed === 'fail' || meta.unconfirmed_resent === true) {
      ctx.logger.warn({ conversationId, messageId }, 'an attempt started and left no outcome; marking the message send_unconfirmed');
      return finish(ctx, run, row, { kind: 'permanent', error: SEND_UNCONFIRMED });
    }
    meta = { ...meta, unconfirmed_resent: true };
  }

  const earlier = await earlierPendingSend(store.reader, store.dialect, conversationId, row.seq);
  if (earlier)
    throw new JobFailure('held', `waiting for ${earlier.message_id} (seq ${earlier.seq}) to be sent or fail`, {
      retryAfterMs: holdDelay(run.job.attempt),
    });

  const target = await sendTargetOf(store.reader, store.dialect, conversationId);
  if (!target) return refuse({ code: 'conversation_not_found', title: 'the conversation is gone' });
  const now = new Date();
  if (!isWindowOpen(target.last_inbound_at ? new Date(target.last_inbound_at) : null, now)) {
    return refuse({ code: 'window_closed', title: 'the 24 h customer-service window closed before the message could be sent' });
  }
  const attempts = meta.send_attempts ?? 0;
  if (attempts >= config.outbox.maxAttempts) {
    return refuse(meta.last_send_error ?? { code: 'attempts_exhausted', title: 'no attempt succeeded' });
  }

  const provider = (meta.provider ?? target.provider) as Provider;
  const sender = senders[provider];
  if (!sender) return refuse({ code: 'not_configured', title: `no sender for ${provider}` });

  let media: OutboundMedia | null;
  try {
    media = await mediaOf(ctx, row);
  } catch (err) {
    if (isDomainError(err) && err.code === 'media_not_found') return refuse({ code: 'media_missing', title: err.message });
    throw err;
  }
  const to = await recipientOf(store.reader, conversationId, target);
  const replyTo = row.reply_to ? await quotedProviderId(store.reader, conversationId, row.reply_to) : null;
  const outbound = outboundOf(row, to, replyTo, media);
  // Each provider call has its own timeout (OUTBOX_SEND_TIMEOUT_MS, in the sender), reported as a
  // retryable `timeout`; the run's signal is a shutdown or the end of the job's claim.
  const prepared = await sender.prepare(outbound, { signal: run.signal });
  if ('failed' in prepared) {
    // Nothing reached the customer: the attempt counts, without a start marker.
    return recordOutcome(ctx, run, row, meta, attempts + 1, prepared.failed);
  }

  const startedMeta: SendMetadata = { ...meta, send_attempts: attempts + 1, send_started_at: new Date().toISOString(), send_open: true };
  const started = await committer.run(async (tx) => {
    await run.assertClaim(tx);
    return setSendMetadataIfStatus(tx.db, tx.dialect, row.id, 'pending', JSON.stringify(startedMeta));
  });
  if (!started) return;
  return callProvider(
    ctx,
    run,
    sender,
    { row: started, meta: startedMeta, attempt: attempts + 1, provider, to, replyTo, previousMetadata: row.metadata },
    prepared.prepared,
  );
}

function outboundOf(row: MessageRow, to: Recipient, replyTo: string | null, media: OutboundMedia | null): OutboundMessage {
  return { messageId: row.message_id, to, type: row.type as MessageType, text: row.text, media, replyTo };
}

/**
 * The one provider call of an attempt whose start marker is committed, and its outcome. `prepared`
 * is null for a text message started in the claim's unit: its prepare (no I/O for text) runs here,
 * and a failed prepare closes the attempt like a refused call.
 */
async function callProvider(
  ctx: AppContext,
  run: JobRun<OutboxSendPayload>,
  sender: MessageSender,
  started: StartedSend,
  prepared: PreparedSend | null,
): Promise<void> {
  const { row, meta, attempt, provider } = started;
  if (!prepared) {
    const made = await sender.prepare(outboundOf(row, started.to, started.replyTo, null), { signal: run.signal });
    if ('failed' in made) return recordOutcome(ctx, run, row, meta, attempt, made.failed);
    prepared = made.prepared;
  }
  const t0 = process.hrtime.bigint();
  let outcome: SendOutcome;
  try {
    outcome = await sender.send(prepared, { signal: run.signal });
  } catch (err) {
    // Stopping mid-call: the outcome is unknown and the attempt stays open for the next run to judge.
    if (run.signal.aborted) throw err;
    outcome = { kind: 'retryable', error: { code: 'error', title: err instanceof Error ? err.message : String(err) }, retryAfterMs: null };
  }
  // The call is over: its slot takes the next message while this outcome commits. The
  // conversation's next message still waits for it (it is held while this one is pending).
  run.release();
  ctx.metrics.outboxSendSeconds.observe({ provider }, Number(process.hrtime.bigint() - t0) / 1e9);
  ctx.metrics.outboxSends.inc({ provider, outcome: outcome.kind });
  return recordOutcome(ctx, run, row, meta, attempt, outcome);
}

/** Commits what one attempt came to, or throws the JobFailure that schedules the next attempt. */
async function recordOutcome(
  ctx: AppContext,
  run: JobRun<OutboxSendPayload>,
  row: MessageRow,
  meta: SendMetadata,
  attempt: number,
  outcome: SendOutcome,
): Promise<void> {
  if (outcome.kind !== 'retryable') return finish(ctx, run, row, outcome);
  const { config, committer } = ctx;
  if (attempt >= config.outbox.maxAttempts) {
    // This attempt's outcome is known; an earlier one resent after leaving none may have arrived.
    const error = meta.unconfirmed_resent === true ? SEND_UNCONFIRMED : outcome.error;
    return finish(ctx, run, row, { kind: 'permanent', error });
  }
  const pairHits = (meta.pair_limit_hits ?? 0) + (outcome.error.code === PAIR_LIMIT_CODE ? 1 : 0);
  const closed: SendMetadata = {
    ...meta,
    send_attempts: attempt,
    send_open: false,
    last_send_error: outcome.error,
    pair_limit_hits: pairHits,
  };
  await committer.run(async (tx) => {
    // A worker that outlived its claim leaves the message to the one that has it now.
    await run.assertClaim(tx);
    await setSendMetadataIfStatus(tx.db, tx.dialect, row.id, 'pending', JSON.stringify(closed));
  });
  const delay =
    outcome.retryAfterMs ??
    (outcome.error.code === PAIR_LIMIT_CODE
      ? // Meta's own pacing for the pair, like a Retry-After: not shortened to OUTBOX_RETRY_MAX_MS.
        Math.min(PAIR_LIMIT_MAX_MS, 1000 * 4 ** (pairHits - 1))
      : backoffDelay(attempt, { baseMs: config.outbox.retryBaseMs, maxMs: config.outbox.retryMaxMs }));
  throw new JobFailure(outcome.error.code, outcome.error.title, { retryAfterMs: delay });
}

/**
 * The final outcome of a message, in one unit with the job's completion: accepted → `sent`
 * (forward only: a status webhook that got there first is kept) with the provider's id in the
 * column and `metadata.provider_message_id`; refused → `failed` with `{code, title}`. Either
 * emits `message_updated` and makes the conversation's next pending message due.
 */
async function finish(
  ctx: AppContext,
  run: JobRun<OutboxSendPayload>,
  row: MessageRow,
  outcome: Exclude<SendOutcome, { kind: 'retryable' }>,
): Promise<void> {
  await ctx.committer.run(async (tx) => {
    if (outcome.kind === 'accepted') await markSent(tx, row, outcome.providerMessageId);
    else await markFailed(ctx, tx, row, outcome.error);
    await run.complete(tx);
  });
}

async function markSent(tx: WriteTx, row: MessageRow, providerMessageId: string | null): Promise<void> {
  let current: MessageRow | undefined = row;
  for (let attempt = 0; attempt < 5 && current; attempt++) {
    const meta: SendMetadata = {
      ...metadataOf(current),
      send_open: false,
      provider_message_id: providerMessageId,
      sent_at: new Date().toISOString(),
    };
    const updated = await setSendOutcomeIfStatus(tx.db, tx.dialect, current.id, current.status, {
      status: current.status === 'pending' ? 'sent' : current.status,
      provider_message_id: providerMessageId,
      metadata: JSON.stringify(meta),
    });
    if (updated) {
      tx.emit({ type: 'message_updated', conversation_id: updated.conversation_id, payload: presentMessage(updated) });
      await unblockNext(tx, updated);
      return;
    }
    current = await getMessageByPk(tx.db, current.id);
  }
}

async function markFailed(ctx: AppContext, tx: WriteTx, row: MessageRow, error: ProviderError): Promise<void> {
  const current = await getMessageByPk(tx.db, row.id);
  if (!current || current.status !== 'pending') return;
  const meta: SendMetadata = { ...metadataOf(current), send_open: false };
  const updated = await updateMessageIfStatus(tx.db, current.id, 'pending', {
    status: 'failed',
    error: JSON.stringify(error),
    metadata: JSON.stringify(meta),
  });
  if (!updated) return;
  tx.emit({ type: 'message_updated', conversation_id: updated.conversation_id, payload: presentMessage(updated) });
  tx.afterCommit(() => ctx.metrics.outboxFailures.inc({ code: error.code }));
  await unblockNext(tx, updated);
}

async function unblockNext(tx: WriteTx, row: MessageRow): Promise<void> {
  await runNextSendNow(tx.db, tx.dialect, row.conversation_id, row.seq);
}

/** An earlier attempt of this message left no outcome (open now, or resent once after one). */
function mayHaveArrived(meta: SendMetadata): boolean {
  return meta.send_open === true || meta.unconfirmed_resent === true;
}

function metadataOf(row: MessageRow): SendMetadata {
  return parseJson<SendMetadata>(row.metadata) ?? {};
}

/** Who receives the conversation's messages. Only Qiscus needs the room, read from the customer's latest webhook. */
async function recipientOf(db: Db, conversationId: string, target: SendTarget): Promise<Recipient> {
  const channelExternalId = target.channel_external_id;
  let roomId: string | null = null;
  if (target.provider !== 'qiscus') return { waId: target.wa_id, userId: target.user_id, channelExternalId, roomId };
  const latest = await latestInbound(db, conversationId);
  const room = parseJson<{ qiscus?: { room_id?: unknown } }>(latest?.metadata ?? null)?.qiscus?.room_id;
  if (typeof room === 'string' || typeof room === 'number') roomId = String(room);
  return { waId: target.wa_id, userId: target.user_id, channelExternalId, roomId };
}

/** The provider's id of a quoted message: a customer's message by its own id [ID1], ours by the id the provider gave it. */
async function quotedProviderId(db: Db, conversationId: string, replyTo: string): Promise<string | null> {
  const quoted = await findMessage(db, conversationId, replyTo);
  if (!quoted) return null;
  return quoted.role === 'user' ? quoted.message_id : quoted.provider_message_id;
}

async function mediaOf(ctx: AppContext, row: MessageRow): Promise<OutboundMedia | null> {
  const media = parseJson<Media>(row.media);
  if (!media) return null;
  const content = await readMedia(ctx, media.media_id);
  const bytes = content.size > 0 ? await readAll(content.open(0, content.size - 1)) : Buffer.alloc(0);
  return { mediaId: media.media_id, bytes, mimeType: media.mime_type ?? content.mimeType, filename: media.filename ?? content.filename };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** `outbox.read`: best effort; an error is retried a few times, then dropped (the customer only misses blue ticks). */
async function markReadAtProvider(ctx: AppContext, senders: MessageSenders, run: JobRun<OutboxReadPayload>): Promise<void> {
  const { conversation_id: conversationId, message_id: messageId } = run.job.payload ?? ({} as OutboxReadPayload);
  if (typeof conversationId !== 'string' || typeof messageId !== 'string') return;
  const target = await readTarget(ctx, senders, conversationId);
  if (!target) return;
  const outcome = await target.sender.markRead!(target.to, messageId, false, { signal: run.signal });
  if (outcome.kind === 'retryable' && run.job.attempt < READ_MAX_ATTEMPTS) {
    throw new JobFailure(outcome.error.code, outcome.error.title, {
      retryAfterMs:
        outcome.retryAfterMs ??
        backoffDelay(run.job.attempt, { baseMs: ctx.config.outbox.retryBaseMs, maxMs: ctx.config.outbox.retryMaxMs }),
    });
  }
  if (outcome.kind !== 'accepted')
    ctx.logger.info({ conversationId, messageId, error: outcome.error }, 'marking a message read at the provider failed; dropped');
}

async function readTarget(
  ctx: AppContext,
  senders: MessageSenders,
  conversationId: string,
): Promise<{ sender: MessageSender; to: Recipient } | null> {
  const target = await sendTarget(ctx.store.reader, conversationId);
  if (!target) return null;
  const sender = senders[target.provider as Provider];
  if (!sender?.markRead) return null;
  return { sender, to: await recipientOf(ctx.store.reader, conversationId, target) };
}

/**
 * Shows the provider's typing indicator to the customer while a reply is prepared (Meta: the
 * customer's message marked read with `typing_indicator`, dismissed by the reply or after 25 s).
 * Best effort, not durable (a typing indicator is worth nothing later): resolves false when the
 * provider has none or the call failed, and never throws. For the AI worker.
 */
export async function showTyping(
  ctx: AppContext,
  senders: MessageSenders,
  conversationId: string,
  inboundMessageId: string,
): Promise<boolean> {
  try {
    const target = await readTarget(ctx, senders, conversationId);
    if (!target) return false;
    const outcome = await target.sender.markRead!(target.to, inboundMessageId, true, {
      signal: AbortSignal.timeout(ctx.config.outbox.sendTimeoutMs),
    });
    return outcome.kind === 'accepted';
  } catch (err) {
    ctx.logger.info({ err, conversationId }, 'typing indicator failed');
    return false;
  }
}
