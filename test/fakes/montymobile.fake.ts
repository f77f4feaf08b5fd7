import { FailureScript, HttpFake, sendBytes, sendJson } from './http-fake.js';

/** How get-media answers for one media id (all seen in REFERENCE §2.7). */
export type MontyMediaForm = 'binary' | 'json-nested' | 'json-flat' | 'json-url';

export interface FakeMontyMedia {
  bytes: Buffer;
  mimeType: string;
  form: MontyMediaForm;
}

/**
 * MontyMobile's media proxy on a real local server: `GET /api/v2/WhatsappApi/get-media?MediaId=<id>`
 * with the `Tenant` and `api-key` headers answers the raw bytes, `{"data":{"data":"<base64>"}}`,
 * `{"data":"<base64>"}` or `{"url":…}`; `/media/<name>` is the plain media host those URLs and
 * webhook `link`s point to.
 */
export class MontyMobileFake {
  readonly failures = new FailureScript();
  private readonly media = new Map<string, FakeMontyMedia>();
  private readonly files = new Map<string, { bytes: Buffer; mimeType: string }>();

  private constructor(readonly http: HttpFake, readonly tenant: string, readonly apiKey: string) {}

  static async start(tenant: string, apiKey: string): Promise<MontyMobileFake> {
    let self: MontyMobileFake | null = null;
    const http = await HttpFake.start((req, res, url) => {
      const fake = self!;
      if (url.pathname.startsWith('/media/')) {
        const file = fake.files.get(url.pathname.slice('/media/'.length));
        if (!file) return sendJson(res, 404, { message: 'not found' });
        return sendBytes(res, file.bytes, file.mimeType);
      }
      if (url.pathname !== '/api/v2/WhatsappApi/get-media') return sendJson(res, 404, { message: 'nginx 404' });
      if (req.headers.tenant !== fake.tenant || req.headers['api-key'] !== fake.apiKey) {
        return sendJson(res, 401, { success: false, message: 'Unauthorized' });
      }
      const id = url.searchParams.get('MediaId') ?? '';
      const failure = fake.failures.next(id);
      const media = fake.media.get(id);
      if (failure !== undefined || !media) return sendJson(res, failure ?? 404, { success: false, message: 'Media not found' });
      switch (media.form) {
        case 'binary':
          return sendBytes(res, media.bytes, media.mimeType);
        case 'json-nested':
          return sendJson(res, 200, { success: true, data: { data: media.bytes.toString('base64') } });
        case 'json-flat':
          return sendJson(res, 200, { data: media.bytes.toString('base64') });
        case 'json-url': {
          const name = `proxied-${encodeURIComponent(id)}`;
          fake.files.set(name, media);
          return sendJson(res, 200, { url: `${fake.http.baseUrl}/media/${name}` });
        }
      }
    });
    self = new MontyMobileFake(http, tenant, apiKey);
    return self;
  }

  get apiUrl(): string {
    return this.http.baseUrl;
  }

  addMedia(id: string, media: FakeMontyMedia): void {
    this.media.set(id, media);
  }

  /** Hosts a file for webhook `link`/`url` media; returns its URL. */
  hostFile(name: string, bytes: Buffer, mimeType: string): string {
    this.files.set(name, { bytes, mimeType });
    return `${this.http.baseUrl}/media/${name}`;
  }

  getMediaCalls(id: string) {
    return this.http.requestsTo('/api/v2/WhatsappApi/get-media').filter((r) => r.url.searchParams.get('MediaId') === id);
  }

  close(): Promise<void> {
    return this.http.close();
  }
}
