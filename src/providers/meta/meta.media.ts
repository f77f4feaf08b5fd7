import { z } from 'zod';
import type { FetchPolicy, MediaFetcher } from '../media-fetch.js';
import {
  MediaFetchError,
  OPEN_POLICY,
  bodyOf,
  checkDeclaredSize,
  contentLength,
  discard,
  guardedGet,
  httpFailure,
  readLimited,
  request,
  usefulMimeType,
} from '../media-fetch.js';

export interface MetaMediaSettings {
  /** `{META_GRAPH_URL}`, version included (e.g. https://graph.facebook.com/v25.0). */
  graphUrl: string;
  accessToken: string | null;
  /** Sent as `phone_number_id`, Meta's ownership check, when configured. */
  phoneNumberId: string | null;
  /** Where media URLs may point (the Graph host is always allowed: it is configured). */
  policy?: FetchPolicy;
}

/** Meta's media CDN hosts (besides the Graph host): the only other hosts the access token goes to. */
const META_CDN_HOSTS = [/^lookaside\.fbsbx\.com$/, /(^|\.)fbcdn\.net$/, /(^|\.)whatsapp\.net$/];

/** Whether the bearer token may be sent to this URL: https to a Meta host, or the configured Graph host. */
export function isMetaHost(url: URL, graphUrl: string): boolean {
  const host = url.hostname.toLowerCase();
  if (host === new URL(graphUrl).hostname.toLowerCase()) return true;
  return url.protocol === 'https:' && META_CDN_HOSTS.some((pattern) => pattern.test(host));
}

/** The media lookup answer (REFERENCE §1.12); `file_size` arrives as a string or a number. */
const lookupSchema = z.object({
  url: z.string().min(1),
  mime_type: z.string().optional(),
  sha256: z.string().optional(),
  file_size: z.union([z.string(), z.number()]).optional(),
  id: z.string().optional(),
});

/** Answers on a media URL that mean "this URL expired": get a new one from the media id. */
const EXPIRED_URL_STATUSES = new Set([401, 403, 404, 410]);
/** Lookups per attempt: the first URL plus two fresh ones. */
const MAX_RESOLVES = 3;
const LOOKUP_LIMIT = 64 * 1024;

/**
 * Meta Cloud API media (REFERENCE §1.12): `GET {graph}/{media_id}` with the bearer token gives a URL
 * valid for 5 minutes; `GET url` with the same token gives the bytes. An expired URL (401/403/404/410
 * on it) is re-resolved from the id and tried again, up to three URLs per attempt. The token goes
 * only to Meta's hosts (isMetaHost), also after a redirect; a plain URL (a legacy import's) is
 * fetched without it. Media URLs are checked against the fetch policy, every redirect included.
 */
export function metaMediaFetcher(settings: MetaMediaSettings): MediaFetcher {
  const graphHost = new URL(settings.graphUrl).hostname.toLowerCase();
  const policy = settings.policy ?? OPEN_POLICY;
  return {
    async open(ref, options) {
      if (ref.kind === 'url') return download(ref.ref, () => ({}), { policy, graphHost }, options.signal, options.maxBytes, null);
      const token = settings.accessToken;
      if (!token) throw new MediaFetchError('not_configured', 'META_ACCESS_TOKEN is not set', false);
      const auth = { authorization: `Bearer ${token}` };
      const authFor = (url: URL) => (isMetaHost(url, settings.graphUrl) ? auth : {});

      for (let resolve = 1; resolve <= MAX_RESOLVES; resolve++) {
        const info = await lookup(settings, ref.ref, auth, options.signal);
        const size = info.file_size === undefined ? null : Number(info.file_size);
        checkDeclaredSize(Number.isFinite(size) ? size : null, options.maxBytes);
        try {
          return await download(info.url, authFor, { policy, graphHost }, options.signal, options.maxBytes, info);
        } catch (err) {
          if (err instanceof ExpiredUrl && resolve < MAX_RESOLVES) continue;
          if (err instanceof ExpiredUrl)
            throw new MediaFetchError('url_expired', `media URL still answered ${err.status} after ${MAX_RESOLVES} lookups`, true);
          throw err;
        }
      }
      throw new MediaFetchError('url_expired', 'no usable media URL', true);
    },
  };
}

class ExpiredUrl extends Error {
  constructor(readonly status: number) {
    super(`media URL answered ${status}`);
  }
}

async function lookup(settings: MetaMediaSettings, mediaId: string, auth: Record<string, string>, signal: AbortSignal) {
  const url = new URL(`${settings.graphUrl}/${encodeURIComponent(mediaId)}`);
  if (settings.phoneNumberId) url.searchParams.set('phone_number_id', settings.phoneNumberId);
  const what = 'Graph media lookup';
  const response = await request(url.toString(), { headers: auth, signal }, what);
  if (!response.ok) {
    await discard(response);
    throw httpFailure(response.status, what, response.headers.get('retry-after'));
  }
  const raw = await readLimited(response, LOOKUP_LIMIT, what);
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new MediaFetchError('bad_response', `${what} answered something other than JSON`, true);
  }
  const parsed = lookupSchema.safeParse(json);
  if (!parsed.success) throw new MediaFetchError('bad_response', `${what} answered JSON without a url`, true);
  return parsed.data;
}

async function download(
  url: string,
  headersFor: (url: URL) => Record<string, string>,
  where: { policy: FetchPolicy; graphHost: string },
  signal: AbortSignal,
  maxBytes: number,
  info: z.infer<typeof lookupSchema> | null,
) {
  const what = 'Meta media URL';
  if (!/^https?:\/\//i.test(url)) throw new MediaFetchError(info ? 'bad_response' : 'bad_url', `${what} is not http(s)`, info !== null);
  const response = await guardedGet(url, { signal, policy: where.policy, headersFor, trustedHosts: [where.graphHost] }, what);
  if (!response.ok) {
    await discard(response);
    if (info && EXPIRED_URL_STATUSES.has(response.status)) throw new ExpiredUrl(response.status);
    throw httpFailure(response.status, what, response.headers.get('retry-after'));
  }
  const size = contentLength(response);
  try {
    checkDeclaredSize(size, maxBytes);
  } catch (err) {
    await discard(response);
    throw err;
  }
  return {
    body: bodyOf(response),
    mimeType: usefulMimeType(info?.mime_type) ?? usefulMimeType(response.headers.get('content-type')),
    declaredSize: size,
    sha256: info?.sha256?.trim() || null,
  };
}
