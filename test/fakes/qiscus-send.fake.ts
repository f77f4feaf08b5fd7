import { HttpFake, sendJson } from './http-fake.js';

export interface RecordedQiscusSend {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  json: Record<string, any>;
}

/**
 * Qiscus Omnichannel's bot send on a real local server (REFERENCE §3.3): `POST /<app code>/bot`
 * with `QISCUS_SDK_SECRET: <secret key>` and `{sender_email, message, type, room_id}` answers 200.
 * `failures` holds HTTP statuses the next sends answer, in order.
 */
export class QiscusSendFake {
  readonly sends: RecordedQiscusSend[] = [];
  readonly failures: number[] = [];
  private count = 0;

  private constructor(
    readonly http: HttpFake,
    readonly appCode: string,
    readonly secretKey: string,
  ) {}

  static async start(appCode: string, secretKey: string): Promise<QiscusSendFake> {
    let self: QiscusSendFake | null = null;
    const http = await HttpFake.start(async (req, res, url) => {
      const fake = self!;
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      if (url.pathname !== `/${fake.appCode}/bot` || req.method !== 'POST') return sendJson(res, 404, { status: 404, errors: 'not found' });
      if (req.headers.qiscus_sdk_secret !== fake.secretKey) return sendJson(res, 401, { status: 401, errors: 'unauthorized' });
      let json: Record<string, any>;
      try {
        json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return sendJson(res, 400, { status: 400, errors: 'invalid json' });
      }
      fake.sends.push({ path: url.pathname, headers: req.headers, json });
      const failure = fake.failures.shift();
      if (failure !== undefined) return sendJson(res, failure, { status: failure, errors: 'scripted failure' });
      fake.count++;
      return sendJson(res, 200, {
        status: 200,
        data: { comment: { id_str: String(7000 + fake.count), unique_temp_id: `bq_${fake.count}` } },
      });
    });
    self = new QiscusSendFake(http, appCode, secretKey);
    return self;
  }

  get apiUrl(): string {
    return this.http.baseUrl;
  }

  close(): Promise<void> {
    return this.http.close();
  }
}
