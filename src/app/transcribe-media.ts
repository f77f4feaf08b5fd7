import { uploadFilename } from '../ai/openai-transcriber.js';
import type { Transcriber } from '../ai/responder.js';
import { presentMessage } from '../api/present.js';
import type { Media } from '../chat/types.js';
import type { WriteTx } from '../store/group-commit.js';
import { parseJson } from '../store/json.js';
import { getMedia, patchMessageMedia } from '../store/media.store.js';
import { getMessageByPk, updateMessage } from '../store/message.store.js';
import type { AppContext } from './context.js';
import { JobFailure, processRunnerOptions, startJobRunner, type JobHandler, type JobRun, type JobRunner } from './job-runner.js';
import { readMedia } from './read-media.js';

/** The payload of a `media.transcribe` job (queued by the media download when a voice note is ready). */
export interface MediaTranscribePayload {
  media_id: string;
}

type TranscribeCtx = Pick<AppContext, 'config' | 'store' | 'committer' | 'logger' | 'metrics'>;

/** The bytes of a ready media object, whole (voice notes and photos are small; WhatsApp caps them at 16 MB / 5 MB). */
export async function readMediaBytes(
  ctx: Pick<AppContext, 'config' | 'store' | 'logger'>,
  mediaId: string,
): Promise<{ bytes: Buffer; mime_type: string; filename: string | null }> {
  const content = await readMedia(ctx as AppContext, mediaId);
  const chunks: Buffer[] = [];
  for await (const chunk of content.open(0, content.size - 1)) chunks.push(chunk as Buffer);
  return { bytes: Buffer.concat(chunks), mime_type: content.mimeType, filename: content.filename };
}

/** Starts this process's transcriber on `media.transcribe` jobs (retried like downloads: MEDIA_RETRY_*, AI_MAX_ATTEMPTS). */
export function startTranscriptions(ctx: TranscribeCtx, transcriber: Transcriber): JobRunner {
  const { config } = ctx;
  return startJobRunner({
    ...processRunnerOptions(ctx),
    kinds: ['media.transcribe'],
    handler: transcribeHandler(ctx, transcriber),
    concurrency: config.ai.concurrency,
    maxAttempts: config.ai.maxAttempts,
    backoff: { baseMs: config.ai.retryBaseMs, maxMs: config.ai.retryMaxMs },
  });
}

/**
 * The `media.transcribe` job [AI2]: posts the downloaded bytes to the transcriber and, in one unit,
 * stores the transcript on the SAME message (`media.transcript`, and `text` when the message has
 * none), `transcript_status: done`, one `message_updated`, and the job's completion. Given up (after
 * its attempts, or an empty transcript), the message says `transcript_status: failed` with the
 * reason in `transcript_error`; the waiting AI reply then goes ahead without it.
 */
export function transcribeHandler(ctx: TranscribeCtx, transcriber: Transcriber): JobHandler<MediaTranscribePayload> {
  return {
    run: (run) => transcribe(ctx, transcriber, run),
    giveUp: async (job, failure, tx) => {
      const mediaId = job.payload?.media_id;
      if (typeof mediaId !== 'string') return;
      await settle(tx, mediaId, { transcript_status: 'failed', transcript_error: failure.reason }, null);
      tx.afterCommit(() => ctx.metrics.transcriptions.inc({ outcome: 'failed' }));
    },
  };
}

async function transcribe(ctx: TranscribeCtx, transcriber: Transcriber, run: JobRun<MediaTranscribePayload>): Promise<void> {
  const mediaId = run.job.payload?.media_id;
  if (typeof mediaId !== 'string') throw new JobFailure('bad_payload', 'media.transcribe job without media_id', { permanent: true });
  const media = await getMedia(ctx.store.reader, mediaId);
  if (!media || media.status !== 'ready') return;
  const message = await getMessageByPk(ctx.store.reader, media.message_pk);
  if (parseJson<Media>(message?.media ?? null)?.transcript_status !== 'pending') return;

  const audio = await readMediaBytes(ctx, mediaId);
  const signal = AbortSignal.any([run.signal, AbortSignal.timeout(ctx.config.ai.timeoutMs)]);
  let text: string;
  try {
    ({ text } = await transcriber.transcribe(
      { bytes: audio.bytes, mime_type: audio.mime_type, filename: uploadFilename(audio.filename, audio.mime_type) },
      signal,
    ));
  } catch (err) {
    if (run.signal.aborted) throw run.signal.reason ?? err;
    ctx.metrics.transcriptions.inc({ outcome: 'retried' });
    const status = (err as { status?: number }).status;
    // 4xx other than 408/429 will not get better: the format or the model is wrong.
    const permanent = status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
    throw new JobFailure(status ? `transcriber_http_${status}` : 'transcriber_error', err instanceof Error ? err.message : String(err), {
      cause: err,
      permanent,
    });
  }
  if (!text) throw new JobFailure('empty_transcript', 'the transcriber heard nothing', { permanent: true });
  await ctx.committer.run(async (tx) => {
    if (await settle(tx, mediaId, { transcript: text, transcript_status: 'done', transcript_error: null }, text)) {
      tx.afterCommit(() => ctx.metrics.transcriptions.inc({ outcome: 'done' }));
    }
    await run.complete(tx);
  });
}

/** Applies the outcome to the message if it still waits for its transcript; emits `message_updated`. */
async function settle(tx: WriteTx, mediaId: string, patch: Partial<Media>, text: string | null): Promise<boolean> {
  const media = await getMedia(tx.db, mediaId);
  if (!media) return false;
  const message = await getMessageByPk(tx.db, media.message_pk);
  if (!message || parseJson<Media>(message.media)?.transcript_status !== 'pending') return false;
  let updated = await patchMessageMedia(tx.db, media.message_pk, patch);
  if (!updated) return false;
  if (text !== null && !updated.text?.trim()) updated = await updateMessage(tx.db, updated.id, { text });
  tx.emit({ type: 'message_updated', conversation_id: updated.conversation_id, payload: presentMessage(updated) });
  return true;
}
