import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DomainError } from '../chat/errors.js';
import type { Media } from '../chat/types.js';
import { parseJson } from '../store/json.js';
import { getMedia, readMediaBlobRange } from '../store/media.store.js';
import { getMessageByPk } from '../store/message.store.js';
import type { AppContext } from './context.js';

/** A ready media object, ready to be streamed in whole or in part. */
export interface MediaContent {
  mediaId: string;
  mimeType: string;
  size: number;
  /** The name the customer's file had, when the provider gave one. */
  filename: string | null;
  /** Bytes `start` … `end` inclusive (0-based). */
  open(start: number, end: number): Readable;
}

const BLOB_CHUNK = 1024 * 1024;

/**
 * Finds a media object's bytes. Unknown and failed media are `media_not_found` (there will never
 * be bytes); media still downloading is `media_not_ready` (a `message_updated` event follows); media
 * of a message the customer deleted is `media_deleted` [RV1].
 */
export async function readMedia(ctx: AppContext, mediaId: string): Promise<MediaContent> {
  const db = ctx.store.reader;
  const media = await getMedia(db, mediaId);
  if (!media) throw new DomainError('media_not_found', 'no such media');
  if (media.status === 'deleted') throw new DomainError('media_deleted', 'the customer deleted this message and its media');
  if (media.status === 'pending') throw new DomainError('media_not_ready', 'the media is still being downloaded');
  if (media.status !== 'ready' || media.size === null)
    throw new DomainError('media_not_found', `the media download failed (${media.error ?? 'unknown'})`);
  const message = await getMessageByPk(db, media.message_pk);
  const filename = parseJson<Media>(message?.media ?? null)?.filename ?? null;
  const base = { mediaId, mimeType: media.mime_type ?? 'application/octet-stream', size: media.size, filename };

  if (media.storage_path !== null) {
    const path = join(ctx.config.dataDir, media.storage_path);
    try {
      await stat(path);
    } catch (err) {
      ctx.logger.error({ err, mediaId, path: media.storage_path }, 'media file of a ready media object is missing');
      throw new DomainError('media_not_found', 'the media file is missing');
    }
    return { ...base, open: (start, end) => createReadStream(path, { start, end }) };
  }
  return {
    ...base,
    // Read in slices, so a large blob never sits in memory whole.
    open: (start, end) =>
      Readable.from(
        (async function* () {
          for (let at = start; at <= end; at += BLOB_CHUNK) {
            const part = await readMediaBlobRange(db, mediaId, at, Math.min(BLOB_CHUNK, end - at + 1));
            if (!part || part.length === 0) throw new Error(`media blob ${mediaId} ended early at byte ${at}`);
            yield part;
          }
        })(),
      ),
  };
}
