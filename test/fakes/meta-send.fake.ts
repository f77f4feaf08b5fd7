import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_NOTICES } from '../../src/chat/notices.js';
import { sendJson } from './http-fake.js';

/** One multipart part as the fake received it. */
export interface RecordedPart {
  name: string;
  /** The part's text, or for a file: null (see `bytes`). */
  value: string | null;
  filename: string | null;
  contentType: string | null;
  bytes: Buffer | null;
}

export interface RecordedGraphRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** The JSON body of /messages calls. */
  json: Record<string, any> | null;
  /** The multipart parts of /media uploads. */
  parts: RecordedPart[] | null;
  at: number;
}

/** What the fake answers to one request (after `delayMs`, when given). `hang`: never answer (the client times out). */
export type ScriptedAnswer =
  { status: number; body: unknown; headers?: Record<string, string>; delayMs?: number } | { hang: true } | { delayMs: number };

const NOTICE_PATTERNS = Object.values(DEFAULT_NOTICES)
  .flatMap((texts) => Object.values(texts))
  .map(
    (text) =>
      new RegExp(
        `^${text
          .split('{operator_name}')
          .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
          .join('.+')}$`,
        's',
      ),
  );

function isNoticeText(text: unknown): boolean {
  return typeof text === 'string' && NOTICE_PATTERNS.some((p) => p.test(text));
}

/** A Graph error answer in Meta's wire format (REFERENCE §1.9). */
export function graphError(code: number, message: string, status = 400, details = message): ScriptedAnswer {
  return {
    status,
    body: {
      error: {
        message: `(#${code}) ${message}`,
        type: 'OAuthException',
        code,
        error_data: { messaging_product: 'whatsapp', details },
        fbtrace_id: 'AbCdEf123',
      },
    },
  };
}

/**
 * Meta's Graph send API on a real local server (REFERENCE §1.9, §1.12): `POST /<version>/<phone
 * number id>/messages` (JSON; text, media by id, `status: read`) and `POST /<version>/<phone number
 * id>/media` (multipart upload, answers `{id}`), both only with `Authorization: Bearer <token>`.
 * Accepted sends answer `{messaging_product, contacts, messages: [{id: wamid…}]}`. Answers are
 * scripted per recipient (`to`, else `*`); `down()` closes the port (connection refused) and
 * `up()` opens it again on the same port.
 */
/** The script key of media uploads (no recipient). */
const UPLOADS = '#uploads';

export class MetaSendFake {
  readonly requests: RecordedGraphRequest[] = [];
  /**
   * Sends of Switchboard's notice texts (src/chat/notices.ts: "… has joined the conversation" on a
   * takeover …): accepted at once, never scripted, and not in `requests`, `sends()` or `accepted`,
   * so a test counts and scripts only its own messages.
   */
  readonly notices: RecordedGraphRequest[] = [];
  private readonly scripts = new Map<string, ScriptedAnswer[]>();
  private server: Server | null = null;
  private sent = 0;
  private uploads = 0;

  private constructor(
    readonly accessToken: string,
    readonly version: string,
    private port: number,
  ) {}

  static async start(accessToken: string, version = 'v25.0', port = 0): Promise<MetaSendFake> {
    const fake = new MetaSendFake(accessToken, version, port);
    await fake.up();
    return fake;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** `{META_GRAPH_URL}` for the server under test. */
  get graphUrl(): string {
    return `${this.baseUrl}/${this.version}`;
  }

  /** The next answers to sends for recipient `to` (`+961…`, or `*` for anyone), in order. */
  script(to: string, ...answers: ScriptedAnswer[]): void {
    this.scripts.set(to, [...(this.scripts.get(to) ?? []), ...answers]);
  }

  /** The next answers to media uploads (`POST …/media`), in order; unscripted uploads are taken. */
  scriptUpload(...answers: ScriptedAnswer[]): void {
    this.script(UPLOADS, ...answers);
  }

  /** Drops the answers still scripted for `to`. */
  clearScript(to: string): void {
    this.scripts.delete(to);
  }

  /** Message sends (not mark-as-read), in arrival order. */
  sends(): RecordedGraphRequest[] {
    return this.requests.filter((r) => r.path.endsWith('/messages') && r.json && r.json.status === undefined);
  }

  /** Accepted sends: the wamid each got, with its body. */
  readonly accepted: { wamid: string; json: Record<string, any> }[] = [];

  readRequests(): RecordedGraphRequest[] {
    return this.requests.filter((r) => r.path.endsWith('/messages') && r.json?.status === 'read');
  }

  uploadsReceived(): RecordedGraphRequest[] {
    return this.requests.filter((r) => r.path.endsWith('/media'));
  }

  async up(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Closes the port: the next connections are refused. */
  async down(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  close(): Promise<void> {
    return this.down();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const record: RecordedGraphRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      headers: req.headers,
      json: null,
      parts: null,
      at: Date.now(),
    };
    this.requests.push(record);
    if (req.headers.authorization !== `Bearer ${this.accessToken}`) {
      return sendJson(res, 401, { error: { message: 'Invalid OAuth access token.', type: 'OAuthException', code: 190 } });
    }
    const m = new RegExp(`^/${this.version}/(\\d+)/(messages|media)$`).exec(url.pathname);
    if (!m || req.method !== 'POST')
      return sendJson(res, 400, { error: { message: '(#100) Unknown path components', type: 'OAuthException', code: 100 } });

    if (m[2] === 'media') {
      record.parts = await parseMultipart(raw, String(req.headers['content-type'] ?? ''));
      const file = record.parts.find((p) => p.name === 'file');
      if (!file || !record.parts.some((p) => p.name === 'messaging_product' && p.value === 'whatsapp')) {
        return sendJson(res, 400, { error: { message: '(#100) The parameter file is required.', type: 'OAuthException', code: 100 } });
      }
      const scripted = this.scripts.get(UPLOADS)?.shift();
      if (scripted && (await this.answered(res, scripted))) return;
      this.uploads++;
      return sendJson(res, 200, { id: `90${String(this.uploads).padStart(13, '0')}` });
    }

    try {
      record.json = JSON.parse(raw.toString('utf8')) as Record<string, any>;
    } catch {
      return sendJson(res, 400, { error: { message: '(#100) Invalid JSON', type: 'OAuthException', code: 100 } });
    }
    if (record.json.status === 'read') return sendJson(res, 200, { success: true });
    const to = String(record.json.to ?? record.json.recipient ?? '');
    if (isNoticeText(record.json.text?.body)) {
      // Switchboard's own notices (an operator joined …): taken at once, kept apart from the test's messages.
      this.requests.splice(this.requests.indexOf(record), 1);
      this.notices.push(record);
      return sendJson(res, 200, {
        messaging_product: 'whatsapp',
        contacts: [{ input: to, wa_id: to.replace(/^\+/, '') }],
        messages: [{ id: `wamid.NOTICE${this.notices.length}` }],
      });
    }
    const answer = this.nextAnswer(to);
    if (answer && (await this.answered(res, answer))) return;
    this.sent++;
    const wamid = `wamid.SENT${String(this.sent).padStart(6, '0')}${to.replace(/\D/g, '')}`;
    this.accepted.push({ wamid, json: record.json });
    return sendJson(res, 200, {
      messaging_product: 'whatsapp',
      contacts: [{ input: to, wa_id: to.replace(/^\+/, '') }],
      messages: [{ id: wamid }],
    });
  }

  /** Plays a scripted answer; false when it only delayed the default one. */
  private async answered(res: ServerResponse, answer: ScriptedAnswer): Promise<boolean> {
    if ('hang' in answer) return true; // never answered; the connection closes with the server
    if ('delayMs' in answer && answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
    if (!('status' in answer)) return false;
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    res.end(JSON.stringify(answer.body));
    return true;
  }

  private nextAnswer(to: string): ScriptedAnswer | undefined {
    for (const key of [to, '*']) {
      const queue = this.scripts.get(key);
      if (queue && queue.length > 0) return queue.shift();
    }
    return undefined;
  }
}

/** Parses a multipart/form-data body with the platform's own parser (undici's Response.formData). */
async function parseMultipart(body: Buffer, contentType: string): Promise<RecordedPart[]> {
  const form = await new Response(new Uint8Array(body), { headers: { 'content-type': contentType } }).formData();
  const parts: RecordedPart[] = [];
  for (const [name, value] of form.entries()) {
    if (typeof value === 'string') {
      parts.push({ name, value, filename: null, contentType: null, bytes: null });
    } else {
      parts.push({
        name,
        value: null,
        filename: value.name,
        contentType: value.type || null,
        bytes: Buffer.from(await value.arrayBuffer()),
      });
    }
  }
  return parts;
}
