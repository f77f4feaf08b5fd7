/**
 * Receiving and placing uploaded bytes on disk: an upload is spooled to a temp file (never the final
 * name), counted against its limit as it arrives, and moved into place by rename only once accepted.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DomainError } from '../chat/errors.js';
import { describeSize } from './upload-rules.js';

/** Bytes kept from the start of an upload, to identify it by its magic numbers. */
const HEAD_BYTES = 64;

export interface SpooledUpload {
  /** The temp file; the caller removes it (or renames it into place). */
  path: string;
  size: number;
  /** Hex sha256 of the bytes. */
  sha256: string;
  head: Buffer;
}

/**
 * Streams an upload into a new temp file under `tempDir`, fsynced. Over `maxBytes` stops the
 * transfer at once with `payload_too_large` and removes the partial file.
 */
export async function spoolUpload(body: Readable, tempDir: string, maxBytes: number): Promise<SpooledUpload> {
  await mkdir(tempDir, { recursive: true });
  const path = join(tempDir, `upload-${randomBytes(8).toString('hex')}.part`);
  const hash = createHash('sha256');
  const head: Buffer[] = [];
  let headLength = 0;
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > maxBytes) {
        return callback(new DomainError('payload_too_large', `the file is over the ${describeSize(maxBytes)} limit for its type`));
      }
      if (headLength < HEAD_BYTES) {
        head.push(chunk.subarray(0, HEAD_BYTES - headLength));
        headLength += Math.min(chunk.length, HEAD_BYTES - headLength);
      }
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  const out = createWriteStream(path, { flags: 'wx' });
  try {
    await pipeline(body, meter, out);
    await syncFile(path);
  } catch (err) {
    // A body that fails before the file is open leaves the open pending: the file appears after the
    // pipeline has rejected. Wait for the stream to close, so the removal comes after its creation.
    if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
    await rm(path, { force: true });
    throw err;
  }
  return { path, size, sha256: hash.digest('hex'), head: Buffer.concat(head) };
}

/**
 * Moves accepted bytes to their final place `finalPath`: a spooled file by rename, a buffer by a new
 * temp file (fsynced) and rename, so no half file ever has the final name; the directory is synced.
 */
export async function placeFile(source: { path: string } | { bytes: Buffer; tempDir: string }, finalPath: string): Promise<void> {
  await mkdir(dirname(finalPath), { recursive: true });
  if ('path' in source) {
    await rename(source.path, finalPath);
  } else {
    await mkdir(source.tempDir, { recursive: true });
    const temp = join(source.tempDir, `place-${randomBytes(8).toString('hex')}.part`);
    try {
      await writeFile(temp, source.bytes, { flag: 'wx' });
      await syncFile(temp);
      await rename(temp, finalPath);
    } finally {
      await rm(temp, { force: true });
    }
  }
  await syncFile(dirname(finalPath)).catch(() => {
    // the rename is atomic; only its durability across a power loss is weaker where directories cannot be synced
  });
}

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
