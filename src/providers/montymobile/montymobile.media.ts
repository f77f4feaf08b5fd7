import {
  MediaFetchError,
  bodyOf,
  bytesOf,
  checkDeclaredSize,
  contentLength,
  discard,
  fetchPlainUrl,
  httpFailure,
  readLimited,
  request,
  usefulMimeType,
  OPEN_POLICY,
  type FetchOptions,
  type FetchPolicy,
  type FetchedMedia,
  type MediaFetcher,
} from '../media-fetch.js';

export interface MontyMediaSettings {
  /** `{MONTYMOBILE_API_URL}`, e.g. https://whatsapp-notification.montymobile.com */
  apiUrl: string;
  tenant: string | null;
  apiKey: string | null;
  /** Where media links may point (checked on every redirect). */
  policy?: FetchPolicy;
}

/**
 * MontyMobile media (REFERENCE §2.7). A media id goes through Monty's proxy
 * `GET {api}/api/v2/WhatsappApi/get-media?MediaId=<id>` with the `Tenant` and `api-key` headers; it
 * answers the raw bytes, or JSON (`Content-Type: …json`) carrying them as base64 in `data.data` or
 * `data`, or a `url` (also `data.url`) fetched plainly. A media `link`/`url` from the webhook is
 * fetched plainly.
 */
export function montyMediaFetcher(settings: MontyMediaSettings): MediaFetcher {
  return {
    async open(ref, options) {
      if (ref.kind === 'url') return fetchPlainUrl(ref.ref, options, settings.policy ?? OPEN_POLICY);
      const { tenant, apiKey } = settings;
      if (!tenant || !apiKey)
        throw new MediaFetchError('not_configured', 'MONTYMOBILE_TENANT and MONTYMOBILE_API_KEY are needed for media', false);
      const url = new URL(`${settings.apiUrl}/api/v2/WhatsappApi/get-media`);
      url.searchParams.set('MediaId', ref.ref);
      const what = 'MontyMobile get-media';
      const response = await request(url.toString(), { headers: { Tenant: tenant, 'api-key': apiKey }, signal: options.signal }, what);
      if (!response.ok) {
        await discard(response);
        throw httpFailure(response.status, what, response.headers.get('retry-after'));
      }
      const type = response.headers.get('content-type') ?? '';
      if (/json/i.test(type)) return fromJson(response, options, what, settings.policy ?? OPEN_POLICY);
      const size = contentLength(response);
      try {
        checkDeclaredSize(size, options.maxBytes);
      } catch (err) {
        await discard(response);
        throw err;
      }
      return { body: bodyOf(response), mimeType: usefulMimeType(type), declaredSize: size, sha256: null };
    },
  };
}

async function fromJson(response: Response, options: FetchOptions, what: string, policy: FetchPolicy): Promise<FetchedMedia> {
  // base64 is 4/3 of the bytes; the margin covers the JSON around it.
  const raw = await readLimited(response, Math.ceil((options.maxBytes * 4) / 3) + 64 * 1024, what);
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new MediaFetchError('bad_response', `${what} declared JSON but sent something else`, true);
  }
  const data = field(json, 'data');
  const base64 = typeof data === 'string' ? data : field(data, 'data');
  if (typeof base64 === 'string' && base64.length > 0) {
    const bytes = decodeBase64(base64);
    if (!bytes) throw new MediaFetchError('bad_response', `${what} sent data that is not base64`, true);
    checkDeclaredSize(bytes.length, options.maxBytes);
    const mime = field(data, 'mimeType') ?? field(data, 'mime_type') ?? field(json, 'mime_type');
    return {
      body: bytesOf(bytes),
      mimeType: usefulMimeType(typeof mime === 'string' ? mime : null),
      declaredSize: bytes.length,
      sha256: null,
    };
  }
  const link = field(json, 'url') ?? field(data, 'url');
  if (typeof link === 'string' && link.length > 0) return fetchPlainUrl(link, options, policy);
  throw new MediaFetchError('bad_response', `${what} answered JSON without data or url`, true);
}

function field(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, key)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

/** Standard or URL-safe base64, optionally a data: URL; null when it is not base64. */
function decodeBase64(text: string): Buffer | null {
  const payload = text.startsWith('data:') ? text.slice(text.indexOf(',') + 1) : text;
  const compact = payload.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(compact) || compact.length % 4 === 1) return null;
  return Buffer.from(compact, compact.includes('-') || compact.includes('_') ? 'base64url' : 'base64');
}
