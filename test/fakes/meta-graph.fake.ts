import { createHash } from 'node:crypto';
import { FailureScript, HttpFake, sendBytes, sendJson } from './http-fake.js';

export interface FakeMetaMedia {
  bytes: Buffer;
  mimeType: string;
  /** What the lookup reports as sha256 (default: the bytes' real digest, hex). */
  sha256?: string | null;
  /** What the lookup reports as file_size (default: the real size; null leaves it out). */
  fileSize?: number | null;
  /** Send the bytes without Content-Length. */
  chunked?: boolean;
}

/**
 * Meta's Graph API media protocol (REFERENCE §1.12) on a real local server:
 * `GET /<version>/<media_id>?phone_number_id=…` with `Authorization: Bearer <token>` answers
 * `{messaging_product, url, mime_type, sha256, file_size, id}`; the URL (a lookaside-style
 * `/whatsapp_business/attachments/?mid=…&hash=…`, new on every lookup) serves the bytes, again only
 * with the bearer token. Tests script failures per media id for the lookup and for the download.
 */
export class MetaGraphFake {
  readonly lookupFailures = new FailureScript();
  readonly downloadFailures = new FailureScript();
  private readonly media = new Map<string, FakeMetaMedia>();
  private readonly stalls = new Map<string, number>();
  private issued = 0;

  private constructor(
    readonly http: HttpFake,
    readonly accessToken: string,
    readonly version: string,
  ) {}

  static async start(accessToken: string, version = 'v25.0'): Promise<MetaGraphFake> {
    let self: MetaGraphFake | null = null;
    const http = await HttpFake.start((req, res, url) => {
      const fake = self!;
      if (req.headers.authorization !== `Bearer ${fake.accessToken}`) {
        return sendJson(res, 401, { error: { message: 'Invalid OAuth access token.', type: 'OAuthException', code: 190 } });
      }
      if (url.pathname === '/whatsapp_business/attachments/') {
        const id = url.searchParams.get('mid') ?? '';
        if ((fake.stalls.get(id) ?? 0) > 0) {
          // Half the bytes, then silence: the connection stays open until the client goes away.
          fake.stalls.set(id, fake.stalls.get(id)! - 1);
          const media = fake.media.get(id)!;
          res.writeHead(200, { 'content-type': media.mimeType, 'content-length': media.bytes.length });
          res.write(media.bytes.subarray(0, media.bytes.length >> 1));
          return;
        }
        const failure = fake.downloadFailures.next(id);
        const media = fake.media.get(id);
        if (failure !== undefined || !media) {
          res.writeHead(failure ?? 404, { 'content-type': 'text/plain' });
          return res.end('URL signature expired');
        }
        return sendBytes(res, media.bytes, media.mimeType, media.chunked);
      }
      if (req.method === 'POST' && new RegExp(`^/${fake.version}/[^/]+/(messages|media)$`).test(url.pathname)) {
        // Media only: sends are "temporarily unavailable" (retryable), so outbound messages stay
        // pending. Suites that look at sends use test/fakes/meta-send.fake.ts.
        return sendJson(res, 503, { error: { message: 'Service temporarily unavailable', type: 'OAuthException', code: 131016 } });
      }
      const m = new RegExp(`^/${fake.version}/([^/]+)$`).exec(url.pathname);
      if (!m) return sendJson(res, 400, { error: { message: 'Unknown path', code: 100 } });
      const id = decodeURIComponent(m[1]!);
      const failure = fake.lookupFailures.next(id);
      const media = fake.media.get(id);
      if (failure !== undefined || !media) {
        return sendJson(res, failure ?? 404, {
          error: { message: `Unsupported get request. Object with ID '${id}' does not exist`, type: 'GraphMethodException', code: 100 },
        });
      }
      fake.issued++;
      const body: Record<string, unknown> = {
        messaging_product: 'whatsapp',
        url: `${fake.http.baseUrl}/whatsapp_business/attachments/?mid=${encodeURIComponent(id)}&ext=1&hash=h${fake.issued}`,
        mime_type: media.mimeType,
        id,
      };
      const sha = media.sha256 === undefined ? createHash('sha256').update(media.bytes).digest('hex') : media.sha256;
      if (sha !== null) body.sha256 = sha;
      const size = media.fileSize === undefined ? media.bytes.length : media.fileSize;
      if (size !== null) body.file_size = String(size);
      return sendJson(res, 200, body);
    });
    self = new MetaGraphFake(http, accessToken, version);
    return self;
  }

  /** `{META_GRAPH_URL}` for the server under test. */
  get graphUrl(): string {
    return `${this.http.baseUrl}/${this.version}`;
  }

  addMedia(id: string, media: FakeMetaMedia): void {
    this.media.set(id, media);
  }

  /** The next `times` downloads of this media send half the bytes and then hang. */
  stallDownloads(id: string, times = 1): void {
    this.stalls.set(id, (this.stalls.get(id) ?? 0) + times);
  }

  lookups(id: string): number {
    return this.http.requestsTo(`/${this.version}/${encodeURIComponent(id)}`).length;
  }

  /** Download URLs requested for this media id, in order. */
  downloads(id: string): string[] {
    return this.http
      .requestsTo('/whatsapp_business/attachments/')
      .filter((r) => r.url.searchParams.get('mid') === id)
      .map((r) => r.url.toString());
  }

  close(): Promise<void> {
    return this.http.close();
  }
}
