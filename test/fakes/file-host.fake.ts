import { FailureScript, HttpFake, sendBytes } from './http-fake.js';

/** A plain file host (Qiscus' CDN): `GET /<path>` serves bytes, no credentials; failures scripted per path. */
export class FileHostFake {
  readonly failures = new FailureScript();
  private readonly files = new Map<string, { bytes: Buffer; mimeType: string; chunked: boolean }>();

  private constructor(readonly http: HttpFake) {}

  static async start(): Promise<FileHostFake> {
    let self: FileHostFake | null = null;
    const http = await HttpFake.start((_req, res, url) => {
      const failure = self!.failures.next(url.pathname);
      const file = self!.files.get(url.pathname);
      if (failure !== undefined || !file) {
        res.writeHead(failure ?? 404, { 'content-type': 'application/xml' });
        return res.end('<Error><Code>AccessDenied</Code></Error>');
      }
      return sendBytes(res, file.bytes, file.mimeType, file.chunked);
    });
    self = new FileHostFake(http);
    return self;
  }

  /** Hosts bytes at `path` (e.g. /kovof-123/image/upload/x.jpg); returns the full URL. */
  host(path: string, bytes: Buffer, mimeType: string, options: { chunked?: boolean } = {}): string {
    this.files.set(path, { bytes, mimeType, chunked: options.chunked ?? false });
    return `${this.http.baseUrl}${path}`;
  }

  hits(path: string): number {
    return this.http.requests.filter((r) => r.url.pathname === path).length;
  }

  close(): Promise<void> {
    return this.http.close();
  }
}
