import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { isTranscriberConfigured } from '../ai/responders.js';
import type { Media, Provider } from '../chat/types.js';
import type { Config } from '../config.js';
import { presentMessage } from '../api/present.js';
import { MediaFetchError, type FetchedMedia, type MediaFetcher } from '../providers/media-fetch.js';
import type { Store } from '../store/database.js';
import type { GroupCommitter, WriteTx } from '../store/group-commit.js';
import { getMedia, markMediaFailed, markMediaReady, patchMessageMedia, putMediaBlob } from '../store/media.store.js';
import { enqueueJob } from '../store/job.store.js';
import { getMessageByPk } from '../store/message.store.js';
import type { MediaRow } from '../store/schema.js';
import type { AppContext } from './context.js';
import { JobFailure, processRunnerOptions, startJobRunner, type JobHandler, type JobRun, type JobRunner } from './job-runner.js';

/** The payload of a `media.download` job (queued by the webhook ingest). */
export interface MediaDownloadPayload {
  media_id: string;
}

export interface DownloadMediaDeps {
  config: Pick<Config, 'dataDir' | 'mediaStore' | 'media'>;
  store: Store;
  committer: GroupCommitter;
  fetchers: Partial<Record<Provider, MediaFetcher>>;
  logger?: Logger;
  /**
   * Whether a transcriber is configured [AI2]: a ready voice note or audio then gets
   * `transcript_status: pending` and a `media.transcribe` job (in the same unit), else `unavailable`.
   */
  transcribe?: boolean;
}

/** Where a file-stored media object lives, relative to DATA_DIR: media/<yyyy>/<mm>/<media_id> (month of arrival). */
export function mediaFilePath(mediaId: string, createdAt: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(mediaId)) throw new Error(`unsafe media id ${JSON.stringify(mediaId)}`);
  const at = new Date(createdAt);
  const time = Number.isNaN(at.getTime()) ? new Date() : at;
  return join('media', String(time.getUTCFullYear()), String(time.getUTCMonth() + 1).padStart(2, '0'), mediaId);
}

/**
 * Compares a provider's sha256 with the bytes' digest. Meta gives base64; hex is accepted too.
 * Null when `expected` is neither, so nothing can be checked.
 */
export function sha256Matches(expected: string, digest: Buffer): boolean | null {
  const e = expected.trim();
  if (/^[0-9a-f]{64}$/i.test(e)) return e.toLowerCase() === digest.toString('hex');
  if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(e)) {
    const decoded = Buffer.from(e, e.includes('-') || e.includes('_') ? 'base64url' : 'base64');
    if (decoded.length === 32) return decoded.equals(digest);
  }
  return null;
}

/**
 * The `media.download` job: fetch the bytes from the provider, stream them to a temp file while
 * counting (over `MEDIA_MAX_BYTES` aborts the transfer: failed `too_large`, no retry) and hashing
 * (a sha256 mismatch is retried, then failed), move them into place — DATA_DIR/media/yyyy/mm/<id>
 * by rename, so no half file ever has the final name, or `media_blobs` with MEDIA_STORE=database —
 * and in ONE write unit mark the media row and the message's media `ready` and emit
 * `message_updated`. When the job is given up, both become `failed` with the reason, also with
 * `message_updated`; the message itself is kept.
 */
export function mediaDownloadHandler(deps: DownloadMediaDeps): JobHandler<MediaDownloadPayload> {
  return {
    run: (run) => downloadMedia(deps, run),
    giveUp: (job, failure, tx) => recordFailure(tx, job.payload?.media_id, failure.reason),
  };
}

/** Starts this process's media downloader (config: MEDIA_DOWNLOAD_*, MEDIA_RETRY_*, JOB_*). */
export function startMediaDownloads(ctx: AppContext, fetchers: Partial<Record<Provider, MediaFetcher>>): JobRunner {
  const { config } = ctx;
  return startJobRunner({
    ...processRunnerOptions(ctx),
    kinds: ['media.download'],
    handler: mediaDownloadHandler({
      config,
      store: ctx.store,
      committer: ctx.committer,
      fetchers,
      logger: ctx.logger,
      transcribe: isTranscriberConfigured(config),
    }),
    concurrency: config.media.downloadConcurrency,
    maxAttempts: config.media.downloadMaxAttempts,
    backoff: { baseMs: config.media.retryBaseMs, maxMs: config.media.retryMaxMs },
  });
}

async function downloadMedia(deps: DownloadMediaDeps, run: JobRun<MediaDownloadPayload>): Promise<void> {
  const mediaId = run.job.payload?.media_id;
  if (typeof mediaId !== 'string') throw new JobFailure('bad_payload', 'media.download job without media_id', { permanent: true });
  const media = await getMedia(deps.store.reader, mediaId);
  // Gone, or finished by an earlier run whose job completion was lost: nothing left to do.
  if (!media || media.status !== 'pending') return;
  const fetcher = deps.fetchers[media.provider as Provider];
  if (!fetcher) throw new JobFailure('not_configured', `no media fetcher for ${media.provider}`, { permanent: true });

  const { dataDir, mediaStore } = deps.config;
  const { maxBytes, downloadTimeoutMs } = deps.config.media;
  const timeout = AbortSignal.timeout(downloadTimeoutMs);
  const signal = AbortSignal.any([run.signal, timeout]);
  const tempDir = join(dataDir, 'media', 'tmp');
  await removeLeftovers(tempDir, mediaId);
  const tempPath = join(tempDir, `${mediaId}.${randomBytes(6).toString('hex')}.part`);
  try {
    let written: { size: number; digest: Buffer; fetched: FetchedMedia };
    try {
      const fetched = await fetcher.open({ ref: media.source_ref, kind: media.source_kind as 'provider_id' | 'url' }, { signal, maxBytes });
      written = { ...(await writeTemp(fetched, tempPath, maxBytes, signal)), fetched };
    } catch (err) {
      throw asFailure(err, run.signal, timeout, downloadTimeoutMs);
    }
    const { size, digest, fetched } = written;
    if (size === 0) throw new JobFailure('empty', 'the provider sent no bytes');
    for (const expected of [media.sha256, fetched.sha256]) {
      if (!expected) continue;
      const matches = sha256Matches(expected, digest);
      if (matches === false)
        throw new JobFailure('sha256_mismatch', `sha256 of the ${size} bytes received is not the one the provider gave`);
      if (matches === null) deps.logger?.warn({ mediaId }, 'provider sha256 is neither hex nor base64; not checked');
    }

    const mimeType = media.mime_type ?? fetched.mimeType ?? 'application/octet-stream';
    let storagePath: string | null = null;
    let bytes: Buffer | null = null;
    if (mediaStore === 'database') {
      bytes = await readFile(tempPath);
      await rm(tempPath, { force: true });
    } else {
      storagePath = mediaFilePath(mediaId, media.created_at);
      const finalPath = join(dataDir, storagePath);
      await mkdir(dirname(finalPath), { recursive: true });
      await rename(tempPath, finalPath);
      await syncDirectory(dirname(finalPath));
    }
    let revoked = false;
    try {
      await deps.committer.run(async (tx) => {
        const marked = await markMediaReady(tx.db, mediaId, { storage_path: storagePath, size, mime_type: mimeType });
        // [RV1] the customer deleted the message while it downloaded: the file just put in place must go too.
        if (!marked && storagePath !== null) revoked = (await getMedia(tx.db, mediaId))?.status === 'deleted';
        if (marked) {
          if (bytes) await putMediaBlob(tx.db, mediaId, bytes);
          const message = await getMessageByPk(tx.db, media.message_pk);
          const isAudio = message?.type === 'voice' || message?.type === 'audio';
          const transcript: Partial<Media> = isAudio ? { transcript_status: deps.transcribe ? 'pending' : 'unavailable' } : {};
          await emitMediaChange(tx, media, { status: 'ready', size, mime_type: mimeType, error: null, ...transcript });
          if (isAudio && deps.transcribe) {
            await enqueueJob(tx.db, tx.dialect, { kind: 'media.transcribe', dedupe_key: mediaId, payload: { media_id: mediaId } });
          }
        }
        await run.complete(tx);
      });
    } finally {
      // Also when the unit rolled back (this run lost its claim, say): a deleted message's file is never served.
      if (revoked && storagePath !== null) await rm(join(dataDir, storagePath), { force: true });
    }
  } finally {
    await rm(tempPath, { force: true });
  }
}

/** Streams the body into `path`, counting and hashing; the file is fsynced before it is used. */
async function writeTemp(
  fetched: FetchedMedia,
  path: string,
  maxBytes: number,
  signal: AbortSignal,
): Promise<{ size: number; digest: Buffer }> {
  await mkdir(dirname(path), { recursive: true });
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      // Failing the transform tears the pipeline down, which cancels the download mid-stream.
      if (size > maxBytes) return callback(new MediaFetchError('too_large', `media over the ${maxBytes}-byte limit`, false));
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  await pipeline(fetched.body, meter, createWriteStream(path, { flags: 'wx' }), { signal });
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { size, digest: hash.digest() };
}

/**
 * Deletes temp files an earlier run of this job left behind (its process died mid-transfer). Safe:
 * we hold the job's claim, and a run that lost its claim was aborted before it lapsed.
 */
async function removeLeftovers(tempDir: string, mediaId: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(tempDir);
  } catch {
    return;
  }
  await Promise.all(
    names.filter((n) => n.startsWith(`${mediaId}.`) && n.endsWith('.part')).map((n) => rm(join(tempDir, n), { force: true })),
  );
}

/** Makes a rename durable (best effort: not every platform can fsync a directory). */
async function syncDirectory(path: string): Promise<void> {
  try {
    const handle = await open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // the rename is still atomic; only its durability across power loss is weaker
  }
}

/** Maps whatever an attempt threw to the runner's vocabulary. The runner's own abort passes through. */
function asFailure(err: unknown, runSignal: AbortSignal, timeout: AbortSignal, timeoutMs: number): unknown {
  if (runSignal.aborted) return runSignal.reason ?? err;
  if (err instanceof MediaFetchError) {
    return new JobFailure(err.reason, err.message, { permanent: !err.retryable, retryAfterMs: err.retryAfterMs ?? undefined, cause: err });
  }
  if (err instanceof JobFailure) return err;
  if (timeout.aborted) return new JobFailure('timeout', `download took longer than ${timeoutMs} ms`, { cause: err });
  const code = (err as { code?: string }).code;
  if (code && /^E[A-Z]+$/.test(code) && ['ENOSPC', 'EACCES', 'EROFS', 'EMFILE', 'EIO', 'EEXIST', 'EPERM'].includes(code)) {
    return new JobFailure('storage_error', (err as Error).message, { cause: err });
  }
  // Anything else mid-transfer is the connection dropping (undici reports "terminated").
  return new JobFailure('unreachable', err instanceof Error ? err.message : String(err), { cause: err });
}

async function recordFailure(tx: WriteTx, mediaId: string | undefined, reason: string): Promise<void> {
  if (typeof mediaId !== 'string') return;
  const media = await getMedia(tx.db, mediaId);
  if (!media) return;
  if (await markMediaFailed(tx.db, mediaId, reason)) await emitMediaChange(tx, media, { status: 'failed', error: reason });
}

async function emitMediaChange(tx: WriteTx, media: MediaRow, patch: Parameters<typeof patchMessageMedia>[2]): Promise<void> {
  const message = await patchMessageMedia(tx.db, media.message_pk, patch);
  if (message) tx.emit({ type: 'message_updated', conversation_id: message.conversation_id, payload: presentMessage(message) });
}
