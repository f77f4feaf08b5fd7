import { wellFormedMimeType } from '../chat/mime-type.js';
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { BlockList, isIP } from 'node:net';
import { Readable } from 'node:stream';
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

/** A Content-Type worth keeping: well-formed, and not a generic binary type (which says nothing about the media). */
export function usefulMimeType(value: string | null | undefined): string | null {
  const v = wellFormedMimeType(value);
  if (!v) return null;
  const base = v.split(';')[0]!.trim().toLowerCase();
  return base === 'application/octet-stream' || base === 'binary/octet-stream' || base === 'application/binary' ? null : v;
}

/** Refuses an announced size over the limit before any byte is read. */
export function checkDeclaredSize(size: number | null, maxBytes: number): void {
  if (size !== null && size > maxBytes)
    throw new MediaFetchError('too_large', `media of ${size} bytes is over the ${maxBytes}-byte limit`, false);
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

/**
 * Where media may be fetched from. URLs from a payload are refused when their host is, or resolves
 * to, an internal address (see blockedAddress), unless `allowHosts` names the host or the address.
 */
export interface FetchPolicy {
  /** Host names and IP addresses (lower-case) exempt from the internal-address check. */
  readonly allowHosts: readonly string[];
}

export const OPEN_POLICY: FetchPolicy = { allowHosts: [] };

/** Redirects followed at most per fetch; each hop is checked like the first URL. */
export const MAX_REDIRECTS = 5;

const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  BLOCKED.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
  ['100::', 64],
  ['2001:db8::', 32],
] as const)
  BLOCKED.addSubnet(net, prefix, 'ipv6');

/**
 * Why an IP address must not be fetched from: loopback, private (RFC 1918, ULA — fd00:ec2::254
 * included), link-local (169.254.169.254, the cloud metadata address, included), CGNAT, multicast,
 * unspecified, reserved and documentation ranges; IPv4-mapped and NAT64 IPv6 by their IPv4 part.
 * Null for a public address.
 */
export function blockedAddress(address: string): string | null {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  if (family === 6) {
    const lower = address.toLowerCase();
    const embedded = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower)?.[1] ?? mappedHex(lower);
    if (embedded) return blockedAddress(embedded);
  }
  return BLOCKED.check(address, family === 4 ? 'ipv4' : 'ipv6') ? `${address} is an internal address` : null;
}

/** `::ffff:7f00:1` (how URL parsing writes a mapped IPv4) as dotted IPv4. */
function mappedHex(address: string): string | null {
  const m = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(address);
  if (!m) return null;
  const hi = parseInt(m[1]!, 16);
  const lo = parseInt(m[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

function isAllowed(policy: FetchPolicy, hostOrAddress: string): boolean {
  return policy.allowHosts.includes(hostOrAddress.toLowerCase());
}

export interface GuardedGetOptions {
  signal: AbortSignal;
  policy: FetchPolicy;
  /** The headers for a hop's URL: credentials only where they belong (asked again after a redirect). */
  headersFor?: (url: URL) => Record<string, string>;
  /** Host names trusted like the allow-list (a configured provider API). */
  trustedHosts?: readonly string[];
}

/**
 * GET with redirects followed by hand (at most MAX_REDIRECTS), every hop checked: http(s) only, and
 * unless allowed, the host must resolve only to public addresses. The connection goes to the very
 * address that was checked (a `lookup` hook on the request), so a DNS answer that changes between
 * check and connect (rebinding) cannot reach an internal address. Throws MediaFetchError
 * (`bad_url`, `blocked_address`, `too_many_redirects`, `unreachable`) or the signal's reason.
 */
export async function guardedGet(url: string, options: GuardedGetOptions, what: string): Promise<Response> {
  let current: URL;
  try {
    current = new URL(url);
  } catch {
    throw new MediaFetchError('bad_url', `${what}: not a URL`, false);
  }
  for (let hop = 0; ; hop++) {
    if (current.protocol !== 'http:' && current.protocol !== 'https:')
      throw new MediaFetchError('bad_url', `${what}: scheme ${current.protocol} is not http(s)`, false);
    const response = await getOnce(current, options, what);
    const location = response.headers.get('location');
    if (![301, 302, 303, 307, 308].includes(response.status) || location === null) return response;
    await discard(response);
    if (hop >= MAX_REDIRECTS) throw new MediaFetchError('too_many_redirects', `${what}: more than ${MAX_REDIRECTS} redirects`, false);
    try {
      current = new URL(location, current);
    } catch {
      throw new MediaFetchError('bad_url', `${what}: redirect to something that is not a URL`, false);
    }
  }
}

function getOnce(url: URL, options: GuardedGetOptions, what: string): Promise<Response> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const exempt = isAllowed(options.policy, host) || (options.trustedHosts ?? []).includes(host);
  if (!exempt && isIP(host) !== 0) {
    const reason = blockedAddress(host);
    if (reason) return Promise.reject(new MediaFetchError('blocked_address', `${what}: ${reason}`, false));
  }
  let blocked: MediaFetchError | null = null;
  const checkedLookup = (
    hostname: string,
    opts: LookupOptions,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    dnsLookup(hostname, { ...opts, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const list = addresses as LookupAddress[];
      if (!exempt) {
        for (const a of list) {
          const reason = isAllowed(options.policy, a.address) ? null : blockedAddress(a.address);
          if (reason) {
            blocked = new MediaFetchError('blocked_address', `${what}: ${hostname} resolves to ${reason}`, false);
            const refused = new Error(blocked.message) as NodeJS.ErrnoException;
            refused.code = 'EBLOCKED';
            return callback(refused, []);
          }
        }
      }
      if (opts.all) return callback(null, list);
      const first = list[0];
      if (!first) return callback(Object.assign(new Error(`${hostname}: no address`), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };
  return new Promise((resolve, reject) => {
    const get = url.protocol === 'https:' ? httpsGet : httpGet;
    const req = get(url, { headers: options.headersFor?.(url) ?? {}, signal: options.signal, lookup: checkedLookup as never }, (res) => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(res.headers)) {
        if (value === undefined) continue;
        for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
      }
      const status = res.statusCode ?? 502;
      const hasBody = ![204, 205, 304].includes(status) && status >= 200;
      if (!hasBody) res.resume();
      resolve(
        new Response(hasBody ? (Readable.toWeb(res) as ReadableStream<Uint8Array>) : null, {
          status: status < 200 || status > 599 ? 502 : status,
          headers,
        }),
      );
    });
    req.on('error', (err) => {
      if (options.signal.aborted) return reject(options.signal.reason);
      if (blocked) return reject(blocked);
      reject(new MediaFetchError('unreachable', `${what}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, true));
    });
  });
}

/**
 * Opens a URL that needs no credentials (Qiscus attachments, MontyMobile media links, imported
 * URLs), through guardedGet. `headers` must not carry credentials.
 */
export async function fetchPlainUrl(
  url: string,
  options: FetchOptions,
  policy: FetchPolicy = OPEN_POLICY,
  headers: Record<string, string> = {},
): Promise<FetchedMedia> {
  let host = '';
  try {
    host = new URL(url).host;
  } catch {
    throw new MediaFetchError('bad_url', 'media URL is not a URL', false);
  }
  const what = `GET ${host}`;
  const response = await guardedGet(url, { signal: options.signal, policy, headersFor: () => headers }, what);
  if (!response.ok) {
    await discard(response);
    throw httpFailure(response.status, what, response.headers.get('retry-after'));
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
