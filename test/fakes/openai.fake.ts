import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpFake, sendJson } from './http-fake.js';

/** One scripted answer of `POST /v1/chat/completions`. */
export type ChatScript =
  | { kind: 'text'; content: string }
  | { kind: 'tool'; name: string; arguments: Record<string, unknown> }
  | { kind: 'error'; status: number; message?: string; retryAfterSeconds?: number }
  /** Answers only when `release()` is called (or the client goes away). */
  | { kind: 'hold'; content: string };

export interface ChatRequest {
  body: {
    model: string;
    messages: { role: string; content: unknown; tool_calls?: unknown }[];
    tools?: { type: string; function: { name: string; description?: string; parameters?: unknown } }[];
    [key: string]: unknown;
  };
  headers: IncomingMessage['headers'];
  /** Set when the client closed the connection before the answer was sent (an aborted generation). */
  aborted: boolean;
}

export interface TranscriptionRequest {
  model: string;
  filename: string;
  mimeType: string;
  bytes: Buffer;
  headers: IncomingMessage['headers'];
}

/**
 * The OpenAI HTTP API on a real local server (the parts Switchboard uses):
 * `POST /v1/chat/completions` answers from a script (plain text, a tool call, an error, or an answer
 * held open until released), else `fake answer <n>`; `POST /v1/audio/transcriptions` parses the
 * multipart upload and answers `{text}` from a per-size-or-default transcript. Every request is
 * recorded with its parsed body.
 */
export class OpenAiFake {
  readonly chats: ChatRequest[] = [];
  readonly transcriptions: TranscriptionRequest[] = [];
  private readonly script: ChatScript[] = [];
  private readonly transcriptScript: ({ text: string } | { status: number })[] = [];
  private readonly held: { release: () => void }[] = [];
  private heldWaiters: (() => void)[] = [];
  private answered = 0;
  defaultTranscript = 'fake transcript';

  private constructor(readonly http: HttpFake) {}

  /** The base URL the SDK is given (`OPENAI_BASE_URL`). */
  get baseUrl(): string {
    return `${this.http.baseUrl}/v1`;
  }

  static async start(): Promise<OpenAiFake> {
    let self: OpenAiFake | null = null;
    const http = await HttpFake.start(async (req, res, url) => {
      const fake = self!;
      const body = await readBody(req);
      if (req.method === 'POST' && url.pathname === '/v1/chat/completions') return fake.chat(req, res, body);
      if (req.method === 'POST' && url.pathname === '/v1/audio/transcriptions') return fake.transcribe(req, res, body);
      return sendJson(res, 404, { error: { message: `no route ${req.method} ${url.pathname}`, type: 'invalid_request_error' } });
    });
    self = new OpenAiFake(http);
    return self;
  }

  /** Queues the answers of the next chat requests, in order. */
  push(...answers: ChatScript[]): void {
    this.script.push(...answers);
  }

  /** Queues the answers of the next transcription requests (a text, or an error status). */
  pushTranscript(...answers: ({ text: string } | { status: number })[]): void {
    this.transcriptScript.push(...answers);
  }

  /** Resolves once `count` requests are being held open. */
  waitHeld(count = 1): Promise<void> {
    if (this.held.length >= count) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (this.held.length >= count) resolve();
        else this.heldWaiters.push(check);
      };
      this.heldWaiters.push(check);
    });
  }

  /** Lets every held answer go. */
  release(): void {
    this.held.splice(0).forEach((h) => h.release());
  }

  reset(): void {
    this.chats.length = 0;
    this.transcriptions.length = 0;
    this.script.length = 0;
    this.transcriptScript.length = 0;
    this.release();
  }

  close(): Promise<void> {
    this.release();
    return this.http.close();
  }

  private chat(req: IncomingMessage, res: ServerResponse, raw: Buffer): void {
    const record: ChatRequest = { body: JSON.parse(raw.toString('utf8')), headers: req.headers, aborted: false };
    this.chats.push(record);
    res.on('close', () => {
      if (!res.writableFinished) record.aborted = true;
    });
    const next = this.script.shift() ?? { kind: 'text', content: `fake answer ${this.answered + 1}` };
    const model = record.body.model;
    switch (next.kind) {
      case 'error': {
        const headers: Record<string, string> = {};
        if (next.retryAfterSeconds !== undefined) headers['retry-after'] = String(next.retryAfterSeconds);
        res.writeHead(next.status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify({ error: { message: next.message ?? `fake error ${next.status}`, type: 'server_error', code: null } }));
        return;
      }
      case 'tool':
        this.answered++;
        return sendJson(
          res,
          200,
          completion(
            model,
            {
              role: 'assistant',
              content: null,
              tool_calls: [
                { id: `call_${this.answered}`, type: 'function', function: { name: next.name, arguments: JSON.stringify(next.arguments) } },
              ],
            },
            'tool_calls',
          ),
        );
      case 'text':
        this.answered++;
        return sendJson(res, 200, completion(model, { role: 'assistant', content: next.content }, 'stop'));
      case 'hold':
        this.held.push({
          release: () => {
            if (res.destroyed) return;
            this.answered++;
            sendJson(res, 200, completion(model, { role: 'assistant', content: next.content }, 'stop'));
          },
        });
        this.heldWaiters.splice(0).forEach((fn) => fn());
        return;
    }
  }

  private async transcribe(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    // The platform's own multipart parser (undici), so the fake checks the wire format, not our guess of it.
    const form = await new Request('http://fake/', {
      method: 'POST',
      headers: { 'content-type': req.headers['content-type'] ?? '' },
      body: new Uint8Array(raw),
    }).formData();
    const file = form.get('file');
    if (!(file instanceof Blob)) return sendJson(res, 400, { error: { message: 'file is required', type: 'invalid_request_error' } });
    this.transcriptions.push({
      model: String(form.get('model') ?? ''),
      filename: (file as File).name,
      mimeType: file.type,
      bytes: Buffer.from(await file.arrayBuffer()),
      headers: req.headers,
    });
    const next = this.transcriptScript.shift() ?? { text: this.defaultTranscript };
    if ('status' in next) return sendJson(res, next.status, { error: { message: `fake error ${next.status}`, type: 'server_error' } });
    return sendJson(res, 200, { text: next.text });
  }
}

function completion(model: string, message: Record<string, unknown>, finishReason: string) {
  return {
    id: `chatcmpl-${Math.random().toString(36).slice(2)}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message, finish_reason: finishReason, logprobs: null }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
