import type { HistoryItem, Responder, ResponderInput, ResponderResult } from '../ai/responder.js';
import { detectHumanRequest, scoreSentiment } from '../chat/handover-rules.js';
import { detectContactLanguage } from '../chat/language.js';
import type { HandoverReason, Media, MessageType, Provider } from '../chat/types.js';
import { readConversationState, setContactLanguage } from '../store/ai.store.js';
import { completeParts, getConversationRow, lockConversationRow } from '../store/conversation.store.js';
import type { WriteTx } from '../store/group-commit.js';
import { enqueueJob } from '../store/job.store.js';
import { parseJson } from '../store/json.js';
import { listMessages } from '../store/message.store.js';
import type { ContactRow, ConversationRow, MessageRow } from '../store/schema.js';
import { appendOutbound } from './append-outbound.js';
import type { AppContext } from './context.js';
import { handOver } from './hand-over.js';
import { JobFailure, processRunnerOptions, startJobRunner, type Job, type JobHandler, type JobRun, type JobRunner } from './job-runner.js';
import { readMediaBytes } from './transcribe-media.js';

/** The payload of an `ai.reply` job: queued by the ingest with each customer message in `ai` state. */
export interface AiReplyPayload {
  conversation_id: string;
  message_id: string;
  /** Set on the jobs that wait for a transcript or a photo [AI2]: when the waiting began (ISO-8601). */
  waiting_since?: string;
  /** How many times this reply was put off waiting for media. */
  waits?: number;
}

export interface AiWorkerDeps {
  responder: Responder;
  /**
   * Called when a generation starts, with the latest customer message it answers (the outbound side
   * wires WhatsApp's typing indicator to it). Errors are logged, never fail the reply.
   */
  onGenerating?(conversationId: string, lastInboundMessageId: string): void | Promise<void>;
  /** How often the conversation's state is re-read during a generation, to abort it on a takeover [AI3] (default 250 ms). */
  statePollMs?: number;
}

type WorkerCtx = Pick<AppContext, 'config' | 'store' | 'committer' | 'logger' | 'metrics'>;

/** Customer messages beyond the history that are read to find the ones still unanswered. */
const PENDING_LOOKBACK = 20;
/** Customer messages the sentiment rules look at (after the last hand-back or resolve). */
const SENTIMENT_WINDOW = 5;
const MEDIA_TYPES: ReadonlySet<string> = new Set(['voice', 'audio', 'photo', 'video', 'document', 'sticker']);

/** Why a generation was stopped without a reply (not a failure). */
class Superseded extends Error {
  override readonly name = 'Superseded';
}

/**
 * Starts this process's AI worker on `ai.reply` jobs (AI_CONCURRENCY at once; AI_MAX_ATTEMPTS
 * attempts, then the conversation is handed over `ai_failed`).
 */
export function startAiWorker(ctx: WorkerCtx, deps: AiWorkerDeps): JobRunner {
  const { config } = ctx;
  return startJobRunner({
    ...processRunnerOptions(ctx),
    kinds: ['ai.reply'],
    handler: aiReplyHandler(ctx, deps),
    concurrency: config.ai.concurrency,
    maxAttempts: config.ai.maxAttempts,
    backoff: { baseMs: config.ai.retryBaseMs, maxMs: config.ai.retryMaxMs },
  });
}

/**
 * The `ai.reply` job [AI1]–[AI4]:
 * - Debounce: the ingest makes each job due AI_DEBOUNCE_MS after its message. A job whose message is
 *   no longer the latest unanswered customer message completes without replying (the latest one's
 *   job answers them all); so does one whose message was answered already.
 * - The unanswered messages are the customer's messages after the last message of anyone else (a
 *   reply, a notice, an operator's message, a hand-back marker). The reply records them in
 *   `metadata.answers`; it and the job's completion commit in one unit, so a crash before it
 *   loses nothing (the job runs again) and one after it sends nothing twice.
 * - A voice note waits for its transcript (a photo, for a vision model, for its download) by
 *   re-queueing the job, for up to AI_MEDIA_WAIT_MS. A voice note that cannot be transcribed (no
 *   transcriber, or it failed) is handed to an operator (`ai_requested`, note `voice_not_transcribed`)
 *   unless the customer also wrote text: the AI never guesses what was said.
 * - Before generating: a request for a human hands over `user_requested`, angry messages `sentiment`.
 * - During the generation the state is re-read every few hundred ms (it works across processes);
 *   when the conversation leaves `ai` the generation is aborted and nothing is stored [AI3].
 * - The reply (or the responder's hand-over, `ai_requested`) is stored only if, in the storing unit
 *   with the row locked, the conversation is still `ai` and nothing was added to it since the
 *   generation began (a newer customer message has its own job, which answers everything).
 */
export function aiReplyHandler(ctx: WorkerCtx, deps: AiWorkerDeps): JobHandler<AiReplyPayload> {
  return {
    run: (run) => replyWithAi(ctx, deps, run),
    giveUp: (job, failure, tx) => recordFailure(ctx, job, failure, tx),
  };
}

interface Snapshot {
  conversation: ConversationRow;
  contact: ContactRow;
  provider: Provider;
  /** The bounded history, oldest first. */
  rows: MessageRow[];
  /** The customer messages after the last message of anyone else, oldest first. */
  pending: MessageRow[];
}

async function replyWithAi(ctx: WorkerCtx, deps: AiWorkerDeps, run: JobRun<AiReplyPayload>): Promise<void> {
  const payload = run.job.payload;
  if (typeof payload?.conversation_id !== 'string' || typeof payload.message_id !== 'string') {
    throw new JobFailure('bad_payload', 'ai.reply job without conversation_id and message_id', { permanent: true });
  }
  const snapshot = await readSnapshot(ctx, payload.conversation_id);
  if (!snapshot || snapshot.conversation.state !== 'ai') return;
  const { pending } = snapshot;
  const last = pending.at(-1);
  // Answered already, or a later message's job will answer this one with it [AI1].
  if (!last || last.message_id !== payload.message_id) return;
  if (!pending.some(isAnswerable)) return;

  const now = new Date();
  if (await waitForMedia(ctx, deps, run, snapshot, now)) return;

  const texts = pending
    .filter(isWords)
    .map((m) => m.text?.trim() ?? '')
    .filter((t) => t.length > 0);
  const language = detectContactLanguage(texts, snapshot.contact.language);
  const decision = rulesDecision(snapshot, texts);
  if (decision) {
    await store(ctx, run, snapshot, language, { kind: 'handover', ...decision });
    return;
  }

  const startedAt = Date.now();
  let result: ResponderResult;
  try {
    result = await generate(ctx, deps, run, snapshot, language);
  } catch (err) {
    if (err instanceof Superseded) {
      ctx.logger.info({ conversationId: snapshot.conversation.id, reason: err.message }, 'AI generation stopped: nothing stored');
      return;
    }
    if (run.signal.aborted) throw run.signal.reason ?? err;
    ctx.metrics.responderErrors.inc({ responder: deps.responder.name });
    const status = (err as { status?: number }).status;
    const retryAfter = retryAfterMs(err);
    throw new JobFailure(status ? `responder_http_${status}` : 'responder_error', err instanceof Error ? err.message : String(err), {
      cause: err,
      retryAfterMs: retryAfter ?? undefined,
    });
  }
  const latencyMs = Date.now() - startedAt;
  const stored = await store(
    ctx,
    run,
    snapshot,
    language,
    result.kind === 'reply'
      ? { kind: 'reply', text: result.text, origin: result.origin, latencyMs }
      : { kind: 'handover', reason: result.reason, note: result.note, origin: result.origin },
  );
  if (stored && result.kind === 'reply') {
    ctx.metrics.aiReplies.inc({ responder: deps.responder.name });
    ctx.metrics.aiReplySeconds.observe({ responder: deps.responder.name }, latencyMs / 1000);
  }
}

async function readSnapshot(ctx: WorkerCtx, conversationId: string): Promise<Snapshot | undefined> {
  const db = ctx.store.reader;
  const conversation = await getConversationRow(db, conversationId);
  if (!conversation) return undefined;
  const [parts, page] = await Promise.all([
    completeParts(db, conversation),
    listMessages(db, conversationId, { limit: ctx.config.ai.historyLimit + PENDING_LOOKBACK }),
  ]);
  const { contact } = parts;
  // The page was read after the row: a message it holds beyond the row's last_seq came in meanwhile; it has its own job.
  const rows = page.rows.filter((m) => m.seq <= conversation.last_seq);
  let start = rows.length;
  while (start > 0 && rows[start - 1]!.role === 'user') start--;
  return { conversation, contact, provider: parts.channel.provider as Provider, rows, pending: rows.slice(start) };
}

/**
 * What the customer said, as opposed to how they reacted: a reaction (👍 on our reply) is neither
 * answered nor read as words, though it ends the pending messages like any customer message.
 */
function isWords(m: MessageRow): boolean {
  return m.type !== 'reaction';
}

function isAnswerable(m: MessageRow): boolean {
  return isWords(m) && ((m.text !== null && m.text.trim().length > 0) || MEDIA_TYPES.has(m.type));
}

function mediaOf(m: MessageRow): Media | null {
  return parseJson<Media>(m.media);
}

function isVoice(m: MessageRow): boolean {
  return m.type === 'voice' || m.type === 'audio';
}

/** A voice note whose transcript may still come (download or transcription under way) [AI2]. */
function awaitsTranscript(m: MessageRow): boolean {
  const media = mediaOf(m);
  if (!isVoice(m) || !media) return false;
  return media.status === 'pending' || media.transcript_status === 'pending';
}

function hasTranscript(m: MessageRow): boolean {
  return (m.text?.trim().length ?? 0) > 0 || (mediaOf(m)?.transcript?.trim().length ?? 0) > 0;
}

/**
 * Puts the reply off while a voice note's transcript (or, for a vision model, a photo's download) is
 * still coming: this job completes and a copy due a little later is queued in the same unit.
 * Bounded by AI_MEDIA_WAIT_MS; after it the reply goes ahead without. True when put off.
 */
async function waitForMedia(
  ctx: WorkerCtx,
  deps: AiWorkerDeps,
  run: JobRun<AiReplyPayload>,
  snapshot: Snapshot,
  now: Date,
): Promise<boolean> {
  const vision = ctx.config.ai.vision && deps.responder.name === 'openai';
  const waiting = snapshot.pending.some((m) => awaitsTranscript(m) || (vision && m.type === 'photo' && mediaOf(m)?.status === 'pending'));
  if (!waiting) return false;
  const payload = run.job.payload;
  const since = payload.waiting_since ? Date.parse(payload.waiting_since) : now.getTime();
  if (now.getTime() - since >= ctx.config.ai.mediaWaitMs) {
    ctx.logger.warn(
      { conversationId: payload.conversation_id, messageId: payload.message_id },
      'media still not ready; replying without it',
    );
    return false;
  }
  const waits = (payload.waits ?? 0) + 1;
  const delayMs = Math.min(250 * 2 ** Math.min(waits - 1, 5), 5_000);
  const next: AiReplyPayload = { ...payload, waiting_since: new Date(since).toISOString(), waits };
  await ctx.committer.run(async (tx) => {
    await enqueueJob(tx.db, tx.dialect, {
      kind: 'ai.reply',
      dedupe_key: `${payload.conversation_id}:${payload.message_id}:wait:${waits}`,
      payload: next,
      run_at: new Date(now.getTime() + delayMs),
    });
    await run.complete(tx);
  });
  return true;
}

/** The hand-overs decided by rules, before any generation [AI4]. */
function rulesDecision(snapshot: Snapshot, texts: string[]): { reason: HandoverReason; note: string | null } | null {
  for (const text of texts) {
    const request = detectHumanRequest(text);
    if (request) return { reason: 'user_requested', note: `the customer asked for a person (${request.pattern})` };
  }
  const sentiment = scoreSentiment(recentCustomerTexts(snapshot.rows));
  if (sentiment.isAngry) return { reason: 'sentiment', note: `angry messages (score ${sentiment.score}: ${sentiment.signals.join(', ')})` };
  const answerable = snapshot.pending.filter(isAnswerable);
  if (answerable.length > 0 && answerable.every((m) => isVoice(m) && !hasTranscript(m))) {
    return { reason: 'ai_requested', note: 'voice_not_transcribed' };
  }
  return null;
}

/** The customer's latest texts since the last hand-back or resolve, at most SENTIMENT_WINDOW. */
function recentCustomerTexts(rows: MessageRow[]): string[] {
  const texts: string[] = [];
  for (let i = rows.length - 1; i >= 0 && texts.length < SENTIMENT_WINDOW; i--) {
    const m = rows[i]!;
    if (m.type === 'event') break;
    if (m.role === 'user' && m.text?.trim()) texts.unshift(m.text.trim());
  }
  return texts;
}

/** Runs the responder, aborted when the conversation leaves `ai` (polled), the job stops, or AI_TIMEOUT_MS passes. */
async function generate(
  ctx: WorkerCtx,
  deps: AiWorkerDeps,
  run: JobRun<AiReplyPayload>,
  snapshot: Snapshot,
  language: string | null,
): Promise<ResponderResult> {
  const { conversation, pending } = snapshot;
  const controller = new AbortController();
  const signal = AbortSignal.any([controller.signal, run.signal, AbortSignal.timeout(ctx.config.ai.timeoutMs)]);
  const pollMs = deps.statePollMs ?? 250;
  let polling = false;
  const poll = setInterval(() => {
    if (polling) return;
    polling = true;
    readConversationState(ctx.store.reader, conversation.id)
      .then((now) => {
        if (!now || now.state !== 'ai') controller.abort(new Superseded(`conversation is ${now?.state ?? 'gone'}`));
      })
      .catch((err: unknown) => ctx.logger.warn({ err }, 'reading the conversation state during a generation failed'))
      .finally(() => {
        polling = false;
      });
  }, pollMs);
  try {
    try {
      await deps.onGenerating?.(conversation.id, pending.at(-1)!.message_id);
    } catch (err) {
      ctx.logger.warn({ err, conversationId: conversation.id }, 'onGenerating hook failed');
    }
    const history = snapshot.rows.slice(-ctx.config.ai.historyLimit);
    const input: ResponderInput = {
      conversation_id: conversation.id,
      language,
      contact_name: snapshot.contact.name,
      history: history.map(historyItem),
      pending: pending.filter(isWords).map(historyItem),
      consecutive_misses: consecutiveMisses(snapshot.rows.slice(0, snapshot.rows.length - pending.length)),
      signal,
      loadMedia: (mediaId) => loadMedia(ctx, mediaId),
    };
    try {
      return await deps.responder.respond(input);
    } catch (err) {
      if (controller.signal.aborted) throw controller.signal.reason;
      throw err;
    }
  } finally {
    clearInterval(poll);
  }
}

function historyItem(m: MessageRow): HistoryItem {
  const media = mediaOf(m);
  const metadata = parseJson<Record<string, unknown>>(m.metadata) ?? {};
  const transcript = media?.transcript?.trim() || null;
  return {
    message_id: m.message_id,
    role: m.role as HistoryItem['role'],
    type: m.type as MessageType,
    // [RV1] a deleted message is shown as deleted, never as an empty one of its type.
    text: m.deleted_at ? '[the customer deleted this message]' : (m.text ?? transcript),
    event: typeof metadata.event === 'string' ? metadata.event : null,
    timestamp: m.timestamp,
    media: media && media.status === 'ready' ? { media_id: media.media_id, mime_type: media.mime_type, kind: m.type as MessageType } : null,
    operator_name: m.operator_name,
    transcript_status: media?.transcript_status ?? null,
  };
}

/** AI replies in a row (newest first, customer messages skipped) that were clarifying questions. */
function consecutiveMisses(rows: MessageRow[]): number {
  let misses = 0;
  for (let i = rows.length - 1; i >= 0; i--) {
    const m = rows[i]!;
    if (m.role === 'user') continue;
    if (m.role !== 'assistant') break;
    if (parseJson<Record<string, unknown>>(m.metadata)?.clarifying !== true) break;
    misses++;
  }
  return misses;
}

async function loadMedia(ctx: WorkerCtx, mediaId: string): Promise<{ bytes: Buffer; mime_type: string }> {
  const { bytes, mime_type } = await readMediaBytes(ctx, mediaId);
  return { bytes, mime_type };
}

type Outcome =
  | { kind: 'reply'; text: string; origin: ResponderResult['origin']; latencyMs: number }
  | { kind: 'handover'; reason: HandoverReason; note: string | null; origin?: ResponderResult['origin'] };

/**
 * The one unit that records the outcome and completes the job [AI3]: with the conversation's row
 * locked, it must still be `ai` and hold nothing newer than the snapshot. True when recorded.
 */
async function store(
  ctx: WorkerCtx,
  run: JobRun<AiReplyPayload>,
  snapshot: Snapshot,
  language: string | null,
  outcome: Outcome,
): Promise<boolean> {
  const { conversation, contact, pending } = snapshot;
  return ctx.committer.run(async (tx) => {
    const row = await lockConversationRow(tx.db, tx.dialect, conversation.id);
    const current = row && row.state === 'ai' && row.last_seq === conversation.last_seq;
    if (!row || !current) {
      await run.complete(tx);
      return false;
    }
    const now = new Date();
    if (language && language !== contact.language) await setContactLanguage(tx.db, contact.id, language, now.toISOString());
    if (outcome.kind === 'handover') {
      await handOver(tx, ctx, row, outcome.reason, outcome.note, now);
    } else {
      await appendReply(tx, snapshot, outcome, now);
    }
    await run.complete(tx);
    return true;
  });

  async function appendReply(tx: WriteTx, s: Snapshot, reply: Extract<Outcome, { kind: 'reply' }>, now: Date): Promise<void> {
    const { origin } = reply;
    const metadata: Record<string, unknown> = {
      handled_by: origin.handled_by,
      answers: pending.map((m) => m.message_id),
      answers_up_to_seq: pending.at(-1)!.seq,
      latency_ms: reply.latencyMs,
    };
    if (origin.model) metadata.model = origin.model;
    if (origin.knowledge_id) metadata.knowledge_id = origin.knowledge_id;
    if (origin.knowledge_question) metadata.knowledge_question = origin.knowledge_question;
    if (origin.score !== undefined && origin.score !== null) metadata.score = origin.score;
    if (origin.clarifying) metadata.clarifying = true;
    await appendOutbound(
      tx,
      s.conversation.id,
      s.provider,
      {
        role: 'assistant',
        type: 'text',
        text: reply.text,
        media: null,
        operator: null,
        reply_to: null,
        metadata,
        client_key: null,
      },
      now,
    );
  }
}

/** The job failed for good (AI_MAX_ATTEMPTS failed generations): an operator takes it from here (`ai_failed`) [AI4]. */
async function recordFailure(ctx: WorkerCtx, job: Job<AiReplyPayload>, failure: JobFailure, tx: WriteTx): Promise<void> {
  const conversationId = job.payload?.conversation_id;
  if (typeof conversationId !== 'string' || failure.reason === 'bad_payload') return;
  const row = await lockConversationRow(tx.db, tx.dialect, conversationId);
  if (!row || row.state !== 'ai') return;
  await handOver(tx, ctx, row, 'ai_failed', `${failure.reason}: ${failure.message}`.slice(0, 500), new Date());
}

/** A provider's Retry-After (seconds) on a 429/503, from the SDK's error headers. */
function retryAfterMs(err: unknown): number | null {
  const headers = (err as { headers?: Headers | Record<string, string> }).headers;
  const raw = headers instanceof Headers ? headers.get('retry-after') : headers?.['retry-after'];
  if (!raw) return null;
  const seconds = Number(raw);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds * 1000, 300_000) : null;
}
