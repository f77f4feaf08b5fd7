import type { MediaRef } from '../chat/types.js';

/** The bytes of one media object, opened but not yet read. */
export interface FetchedMedia {
  /** The bytes; read once. Abandoning it early (break, throw) releases the connection. */
  body: AsyncIterable<Uint8Array>;
  /** The type the provider states (lookup JSON or Content-Type); null when only a generic one was given. */
  mimeType: string | null;
  /** The size the provider announces (file_size or Content-Length), when it does. */
  declaredSize: number | null;
  /** A sha256 the provider gave while fetching (Meta's lookup), hex or base64, to check the bytes against. */
  sha256: string | null;
}

export interface FetchOptions {
  signal: AbortSignal;
  /** Largest object accepted; a provider that announces more is refused before reading. */
  maxBytes: number;
}

/** The media-fetching half of a provider: opens the bytes a webhook referred to. */
export interface MediaFetcher {
  /** Throws MediaFetchError (or the signal's abort reason). */
  open(ref: Pick<MediaRef, 'ref' | 'kind'>, options: FetchOptions): Promise<FetchedMedia>;
}

/**
 * Why a fetch failed. `reason` is a short stable word (`not_found`, `http_403`, `unreachable`,
 * `url_expired`, `too_large`, `bad_response`, `not_configured`); `retryable` says whether trying
 * again later may help (network errors, 5xx, 404, 408, 429) or not (other 4xx, oversize, no credentials).
 */
export class MediaFetchError extends Error {
  override readonly name = 'MediaFetchError';

  constructor(
    readonly reason: string,
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
  }
}

/**
 * The error for a non-2xx answer. 404 counts as transient: a provider may answer it for media it has
 * not finished storing, and the job's attempts are bounded anyway.
 */
export function httpFailure(status: number, what: string, retryAfter: string | null = null): MediaFetchError {
  const retryable = status === 404 || status === 408 || status === 425 || status === 429 || status >= 500;
  const reason = status === 404 ? 'not_found' : `http_${status}`;
  return new MediaFetchError(reason, `${what} answered ${status}`, retryable, parseRetryAfter(retryAfter));
}

function parseRetryAfter(value: string | null): number | null {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, 3_600_000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.min(Math.max(0, at - Date.now()), 3_600_000);
}

/** fetch() with network failures turned into a retryable MediaFetchError; an abort stays an abort. */
export async function request(url: string, init: RequestInit & { signal: AbortSignal }, what: string): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    if (init.signal.aborted) throw init.signal.reason;
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    throw new MediaFetchError('unreachable', `${what}: ${cause ?? (err as Error).message}`, true);
  }
}

/** Releases a response's connection without reading it. */
export async function discard(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // nothing to release
  }
}

/** The declared length, or null when absent or not a number. */
export function contentLength(response: Response): number | null {
  const raw = response.headers.get('content-length');
  if (raw === null || !/^\d+$/.test(raw.trim())) return null;
  return Number(raw);
}

/** A Content-Type worth keeping: generic binary types say nothing about the media. */
export function usefulMimeType(value: string | null | undefined): string | null {
  const v = value?.trim();
  if (!v) return null;
  const base = v.split(';')[0]!.trim().toLowerCase();
  return base === 'application/octet-stream' || base === 'binary/octet-stream' || base === 'application/binary' ? null : v;
}

/** Refuses an announced size over the limit before any byte is read. */
export function checkDeclaredSize(size: number | null, maxBytes: number): void {
  if (size !== null && size > maxBytes) throw new MediaFetchError('too_large', `media of ${size} bytes is over the ${maxBytes}-byte limit`, false);
}

/** Reads a whole (small) response body, refusing more than `limit` bytes. */
export async function readLimited(response: Response, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  if (!response.body) return Buffer.alloc(0);
  for await (const chunk of response.body) {
    total += chunk.byteLength;
    if (total > limit) {
      // Leaving the loop cancels the stream.
      throw new MediaFetchError('too_large', `${what}: response over ${limit} bytes`, false);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/** Opens a URL that needs no credentials (Qiscus attachments, MontyMobile media links). */
export async function fetchPlainUrl(url: string, options: FetchOptions, headers: Record<string, string> = {}): Promise<FetchedMedia> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MediaFetchError('bad_url', 'media URL is not a URL', false);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new MediaFetchError('bad_url', `media URL scheme ${parsed.protocol} is not http(s)`, false);
  const response = await request(parsed.toString(), { headers, signal: options.signal, redirect: 'follow' }, `GET ${parsed.host}`);
  if (!response.ok) {
    await discard(response);
    throw httpFailure(response.status, `GET ${parsed.host}`, response.headers.get('retry-after'));
  }
  const size = contentLength(response);
  try {
    checkDeclaredSize(size, options.maxBytes);
  } catch (err) {
    await discard(response);
    throw err;
  }
  return { body: bodyOf(response), mimeType: usefulMimeType(response.headers.get('content-type')), declaredSize: size, sha256: null };
}

/** A response body as bytes; an empty body is an empty iterable. */
export function bodyOf(response: Response): AsyncIterable<Uint8Array> {
  return response.body ?? bytesOf(Buffer.alloc(0));
}

export async function* bytesOf(buffer: Buffer): AsyncIterable<Uint8Array> {
  if (buffer.length > 0) yield buffer;
}
