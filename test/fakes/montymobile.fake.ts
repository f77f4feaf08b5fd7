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
  /** Session sends received (`POST /api/v2/WhatsappApi/send-session`), with headers and JSON body. */
  readonly sends: { headers: Record<string, string | string[] | undefined>; json: Record<string, any> }[] = [];
  /** Answers for the next sends, in order: an HTTP status, or `rejected` (200 with `success: false`). */
  readonly sendFailures: (number | 'rejected')[] = [];
  private sent = 0;
  private readonly media = new Map<string, FakeMontyMedia>();
  private readonly files = new Map<string, { bytes: Buffer; mimeType: string }>();

  private constructor(
    readonly http: HttpFake,
    readonly tenant: string,
    readonly apiKey: string,
  ) {}

  static async start(tenant: string, apiKey: string): Promise<MontyMobileFake> {
    let self: MontyMobileFake | null = null;
    const http = await HttpFake.start((req, res, url) => {
      const fake = self!;
      if (url.pathname.startsWith('/media/')) {
        const file = fake.files.get(url.pathname.slice('/media/'.length));
        if (!file) return sendJson(res, 404, { message: 'not found' });
        return sendBytes(res, file.bytes, file.mimeType);
      }
      if (url.pathname === '/api/v2/WhatsappApi/send-session' && req.method === 'POST') return fake.sendSession(req, res);
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

  /** REFERENCE §2.3: Tenant + api-key headers; success `{success: true, data: {messageId: <uuid>}}`. */
  private async sendSession(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.headers.tenant !== this.tenant || req.headers['api-key'] !== this.apiKey)
      return sendJson(res, 401, { success: false, message: 'Unauthorized' });
    let json: Record<string, any>;
    try {
      json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return sendJson(res, 400, { success: false, message: 'Invalid body' });
    }
    this.sends.push({ headers: req.headers, json });
    const failure = this.sendFailures.shift();
    if (failure === 'rejected') return sendJson(res, 200, { success: false, message: 'Recipient is not a valid WhatsApp user' });
    if (failure !== undefined) return sendJson(res, failure, { success: false, message: `scripted ${failure}` });
    this.sent++;
    return sendJson(res, 200, {
      success: true,
      data: { messageId: `25b24c9a-aa68-4ea9-9494-${String(this.sent).padStart(12, '0')}` },
      message: 'Message sent successfully',
    });
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
