import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Provider } from '../chat/types.js';
import { samplePhoto } from './sample-photo.js';
import { CUSTOMERS, SCENARIO, VOICE_NOTE_WORDS, type ScenarioStep, type SimulatedCustomer } from './scenario.js';

/** What the simulator needs to know of the Switchboard it plays against (the same values its server has). */
export interface SimulatorOptions {
  /** Switchboard's base URL, where the webhooks go. */
  switchboardUrl: string;
  /** Port for the simulated provider APIs (0: any free port). */
  port?: number;
  host?: string;
  meta: { appSecret: string; accessToken: string; phoneNumberId: string };
  montymobile: { webhookToken: string; tenant: string; apiKey: string; sourceNumber: string };
  qiscus: { webhookSecret: string; appCode: string; secretKey: string };
  /** Time factor of the scenario: 1 is the realistic pace, 0.1 ten times faster. */
  pace?: number;
  /** Every n-th send is answered with a `failed` status (0: never). Default 8. */
  failEvery?: number;
  /** Hears what happens (a line each), e.g. for the console. */
  onLog?: (line: string) => void;
  /** Hears every message the business sends a customer. */
  onOutbound?: (customer: SimulatedCustomer | null, text: string) => void;
}

/** The base URLs to give Switchboard so that it sends to (and downloads from) this simulator. */
export interface SimulatorUrls {
  META_GRAPH_URL: string;
  MONTYMOBILE_API_URL: string;
  QISCUS_API_URL: string;
  OPENAI_BASE_URL: string;
}

interface StoredMedia {
  bytes: Buffer;
  mimeType: string;
}

/** A message the business sent, as the simulated provider saw it. */
export interface SentToCustomer {
  provider: Provider;
  to: string;
  type: string;
  text: string | null;
  providerMessageId: string;
  at: number;
}

const GRAPH_VERSION = 'v25.0';
/** How long a scripted reaction waits for the business's message it reacts to. */
const REACTION_WAIT_MS = 20_000;

/**
 * A simulated WhatsApp: it plays the providers' side against a running Switchboard through its
 * public interfaces only. It posts signed Meta webhooks, MontyMobile webhooks with their token and
 * Qiscus bot webhooks to the secret path, for scripted customers at a realistic pace; it serves the
 * APIs Switchboard is pointed at (Meta Graph send, media upload and download; MontyMobile
 * send-session; Qiscus bot send; an OpenAI-compatible transcription endpoint whose transcripts are
 * labelled as simulated), and answers each Meta and MontyMobile send with status webhooks
 * sent → delivered → read, and every n-th with `failed`.
 */
export class WhatsAppSimulator {
  readonly sent: SentToCustomer[] = [];
  private readonly media = new Map<string, StoredMedia>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly firstMessageOf = new Map<string, string>();
  private readonly lastBusinessMessageTo = new Map<string, string>();
  private server: Server | null = null;
  private baseUrl = '';
  private sends = 0;
  private stopped = false;
  private switchboardUrl: string;

  constructor(private readonly options: SimulatorOptions) {
    this.switchboardUrl = options.switchboardUrl.replace(/\/+$/, '');
  }

  /** Points the webhooks at another Switchboard URL (known only once that server listens). */
  target(switchboardUrl: string): void {
    this.switchboardUrl = switchboardUrl.replace(/\/+$/, '');
  }

  get pace(): number {
    return this.options.pace ?? 1;
  }

  /** Starts the provider APIs; resolves with the URLs Switchboard must be configured with. */
  async start(): Promise<SimulatorUrls> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.log(`simulator: ${req.method} ${req.url} failed: ${(err as Error).message}`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'simulator error' } }));
      });
    });
    const host = this.options.host ?? '127.0.0.1';
    await new Promise<void>((resolve) => this.server!.listen(this.options.port ?? 0, host, resolve));
    const { port } = this.server.address() as AddressInfo;
    this.baseUrl = `http://${host}:${port}`;
    return this.urls();
  }

  urls(): SimulatorUrls {
    return {
      META_GRAPH_URL: `${this.baseUrl}/meta/${GRAPH_VERSION}`,
      MONTYMOBILE_API_URL: `${this.baseUrl}/montymobile`,
      QISCUS_API_URL: `${this.baseUrl}/qiscus`,
      OPENAI_BASE_URL: `${this.baseUrl}/openai/v1`,
    };
  }

  /** Plays the scripted customers (SCENARIO) once; resolves when the last step was posted. */
  async playScenario(steps: ScenarioStep[] = SCENARIO): Promise<void> {
    const started = Date.now();
    for (const step of [...steps].sort((a, b) => a.at - b.at)) {
      const wait = started + step.at * this.pace - Date.now();
      if (wait > 0) await this.sleep(wait);
      if (this.stopped) return;
      const customer = CUSTOMERS.find((c) => c.key === step.customer);
      if (!customer) throw new Error(`scenario step for unknown customer ${step.customer}`);
      try {
        await this.perform(customer, step);
      } catch (err) {
        this.log(`simulator: ${customer.name} could not write: ${(err as Error).message}`);
      }
    }
  }

  /** A customer writes a text (the interactive mode types through this). */
  async customerWrites(customer: SimulatedCustomer, text: string): Promise<void> {
    await this.perform(customer, { at: 0, customer: customer.key, kind: 'text', text });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  /** The latest message the business sent this number, waited for up to REACTION_WAIT_MS; null if none came. */
  private async businessMessageFor(waId: string): Promise<string | null> {
    const until = Date.now() + REACTION_WAIT_MS;
    for (;;) {
      const target = this.lastBusinessMessageTo.get(waId);
      if (target || this.stopped || Date.now() >= until) return target ?? null;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private async perform(customer: SimulatedCustomer, step: ScenarioStep): Promise<void> {
    const id =
      customer.provider === 'qiscus'
        ? `wa_wamid.SIM${randomBytes(12).toString('hex').toUpperCase()}`
        : `wamid.SIM${randomBytes(12).toString('hex').toUpperCase()}`;
    if (!this.firstMessageOf.has(customer.key)) this.firstMessageOf.set(customer.key, id);
    let message: Record<string, unknown>;
    switch (step.kind) {
      case 'text':
        message = { type: 'text', text: { body: step.text } };
        if (step.quote === 'own_first' && this.firstMessageOf.get(customer.key) !== id) {
          message.context = { from: customer.waId, id: this.firstMessageOf.get(customer.key) };
        }
        break;
      case 'voice': {
        const mediaId = this.putMedia(readFileSync(new URL('./samples/voice-note.ogg', import.meta.url)), 'audio/ogg; codecs=opus');
        message = { type: 'audio', audio: { id: mediaId, mime_type: 'audio/ogg; codecs=opus', voice: true, sha256: this.sha256(mediaId) } };
        break;
      }
      case 'photo': {
        const mediaId = this.putMedia(samplePhoto(), 'image/png');
        message = { type: 'image', image: { id: mediaId, mime_type: 'image/png', sha256: this.sha256(mediaId), caption: step.caption } };
        break;
      }
      case 'reaction': {
        // At a fast pace the script can reach the reaction before the AI's reply (its debounce is not
        // paced): the customer waits for it, as a person would, up to REACTION_WAIT_MS.
        const target = await this.businessMessageFor(customer.waId);
        if (!target) {
          this.log(`simulator: ${customer.name} has nothing to react to yet`);
          return;
        }
        message = { type: 'reaction', reaction: { message_id: target, emoji: step.emoji } };
        break;
      }
    }
    const what =
      step.kind === 'text'
        ? `"${step.text}"`
        : step.kind === 'photo'
          ? `a photo ("${step.caption}")`
          : step.kind === 'voice'
            ? 'a voice note'
            : `a reaction ${step.emoji}`;
    this.log(`${customer.name} (${customer.provider}) → ${what}`);
    if (customer.provider === 'meta')
      await this.postMeta(
        this.metaEnvelope({
          contacts: [{ profile: { name: customer.name }, wa_id: customer.waId }],
          messages: [{ from: customer.waId, id, timestamp: this.now(), ...message }],
        }),
      );
    else if (customer.provider === 'montymobile')
      await this.postMonty(
        this.montyEnvelope({
          contacts: [{ profile: { name: customer.name }, wa_id: customer.waId }],
          messages: [{ from: customer.waId, id, timestamp: this.now(), ...message }],
        }),
      );
    else await this.postQiscus(customer, id, step.kind === 'text' ? step.text : what);
  }

  private metaEnvelope(value: Record<string, unknown>) {
    const { phoneNumberId } = this.options.meta;
    return {
      object: 'whatsapp_business_account',
      entry: [
        {
          id: '102290129340398',
          changes: [
            {
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: '15550783881', phone_number_id: phoneNumberId },
                ...value,
              },
              field: 'messages',
            },
          ],
        },
      ],
    };
  }

  private montyEnvelope(value: Record<string, unknown>) {
    // MontyMobile re-serialises Meta's envelope: `field` before `value`, `object` last.
    return {
      entry: [
        {
          id: '859562923476499',
          changes: [
            {
              field: 'messages',
              value: {
                metadata: { phone_number_id: '901137269746618', display_phone_number: this.options.montymobile.sourceNumber },
                messaging_product: 'whatsapp',
                ...value,
              },
            },
          ],
        },
      ],
      object: 'whatsapp_business_account',
    };
  }

  private async postMeta(payload: unknown): Promise<void> {
    const body = JSON.stringify(payload);
    const signature = `sha256=${createHmac('sha256', this.options.meta.appSecret).update(body).digest('hex')}`;
    await this.post('/webhooks/meta', body, { 'x-hub-signature-256': signature });
  }

  private async postMonty(payload: unknown): Promise<void> {
    await this.post('/webhooks/montymobile', JSON.stringify(payload), { 'x-webhook-token': this.options.montymobile.webhookToken });
  }

  private async postQiscus(customer: SimulatedCustomer, uniqueId: string, text: string): Promise<void> {
    const now = new Date();
    const payload = {
      app_code: this.options.qiscus.appCode,
      channel: { id: 963, name: 'Lumière WhatsApp (Qiscus)', source: 'wa' },
      payload: {
        from: { avatar_url: '', email: customer.waId, id: 0, id_str: '0', name: customer.name },
        message: {
          comment_before_id: 0,
          comment_before_id_str: '0',
          created_at: now.toISOString(),
          disable_link_preview: false,
          extras: null,
          id: 0,
          id_str: '0',
          payload: null,
          text,
          timestamp: now.toISOString(),
          type: 'text',
          unique_temp_id: uniqueId,
          unix_nano_timestamp: now.getTime(),
          unix_timestamp: Math.floor(now.getTime() / 1000),
        },
        room: {
          id: `9${customer.waId.slice(-6)}`,
          id_str: `9${customer.waId.slice(-6)}`,
          is_public_channel: false,
          name: customer.name,
          options: JSON.stringify({
            channel: 'wa',
            channel_details: { channel_id: 963, name: 'Lumière WhatsApp (Qiscus)', phone: '+62628771666489' },
            is_resolved: false,
            is_waiting: false,
            source: 'wa',
          }),
          participants: [{ email: customer.waId }],
          room_avatar: '',
          topic_id: '1',
          topic_id_str: '1',
          type: 'group',
        },
        type: 'post_comment_mobile',
      },
      type: 'post_comment_mobile',
    };
    await this.post(`/webhooks/qiscus/${encodeURIComponent(this.options.qiscus.webhookSecret)}`, JSON.stringify(payload), {});
  }

  /** Posts a webhook; a refused or failed delivery is retried a few times, as providers do. */
  private async post(path: string, body: string, headers: Record<string, string>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await fetch(`${this.switchboardUrl}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body,
        });
        await res.arrayBuffer();
        if (res.ok) return;
        if (res.status < 500 || attempt >= 5) throw new Error(`${path} answered ${res.status}`);
      } catch (err) {
        if (attempt >= 5 || this.stopped) throw err;
      }
      await this.sleep(500 * attempt);
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    const path = url.pathname;
    const body = await readBody(req);
    const meta = `/meta/${GRAPH_VERSION}/`;
    if (path.startsWith('/meta/')) {
      const auth = req.headers.authorization;
      if (auth !== `Bearer ${this.options.meta.accessToken}`) {
        return json(res, 401, { error: { message: 'Invalid OAuth access token.', type: 'OAuthException', code: 190 } });
      }
      if (req.method === 'GET' && path.startsWith('/meta/files/')) {
        const media = this.media.get(decodeURIComponent(path.slice('/meta/files/'.length)));
        if (!media) return json(res, 404, { error: { message: 'not found' } });
        res.writeHead(200, { 'content-type': media.mimeType, 'content-length': media.bytes.length });
        return void res.end(media.bytes);
      }
      if (req.method === 'POST' && path === `${meta}${this.options.meta.phoneNumberId}/messages`)
        return this.metaSend(res, JSON.parse(body.toString('utf8')) as Record<string, unknown>);
      if (req.method === 'POST' && path === `${meta}${this.options.meta.phoneNumberId}/media`) {
        const file = multipartFile(req.headers['content-type'] ?? '', body);
        if (!file) return json(res, 400, { error: { message: '(#100) file is required', code: 100 } });
        return json(res, 200, { id: this.putMedia(file.bytes, file.mimeType) });
      }
      if (req.method === 'GET' && path.startsWith(meta)) {
        const id = decodeURIComponent(path.slice(meta.length));
        const media = this.media.get(id);
        if (!media) return json(res, 404, { error: { message: 'Unsupported get request.', code: 100 } });
        return json(res, 200, {
          messaging_product: 'whatsapp',
          url: `${this.baseUrl}/meta/files/${encodeURIComponent(id)}`,
          mime_type: media.mimeType,
          sha256: this.sha256(id),
          file_size: media.bytes.length,
          id,
        });
      }
    }
    if (req.method === 'POST' && path === '/montymobile/api/v2/WhatsappApi/send-session') {
      const { tenant, apiKey } = this.options.montymobile;
      if (req.headers.tenant !== tenant || req.headers['api-key'] !== apiKey)
        return json(res, 401, { success: false, message: 'Unauthorized' });
      const send = JSON.parse(body.toString('utf8')) as { to?: string; type?: string; text?: { body?: string } };
      const messageId = randomUUID();
      this.record('montymobile', send.to ?? '', String(send.type ?? '').toLowerCase(), send.text?.body ?? null, messageId);
      this.scheduleStatuses('montymobile', messageId, send.to ?? '');
      return json(res, 200, { success: true, data: { messageId }, message: 'Message sent successfully' });
    }
    if (req.method === 'POST' && path === `/qiscus/${this.options.qiscus.appCode}/bot`) {
      if (
        req.headers.qiscus_sdk_secret !== this.options.qiscus.secretKey &&
        req.headers['qiscus-secret-key'] !== this.options.qiscus.secretKey
      ) {
        return json(res, 401, { status: 401, error: { message: 'unauthorized' } });
      }
      const send = JSON.parse(body.toString('utf8')) as { room_id?: string; message?: string; type?: string };
      const customer = CUSTOMERS.find((c) => c.provider === 'qiscus' && `9${c.waId.slice(-6)}` === String(send.room_id));
      this.record(
        'qiscus',
        customer?.waId ?? String(send.room_id),
        send.type ?? 'text',
        send.message ?? null,
        `qiscus_${randomBytes(6).toString('hex')}`,
      );
      return json(res, 200, { status: 200, results: { comment: { id: Date.now(), message: send.message } } });
    }
    if (req.method === 'POST' && path === '/openai/v1/audio/transcriptions') {
      // Nothing listens to the audio here: the words are the sample's, labelled so nobody takes them for a real transcript.
      return json(res, 200, { text: `[simulated transcript] ${VOICE_NOTE_WORDS}` });
    }
    return json(res, 404, { error: { message: `the simulator does not serve ${req.method} ${path}` } });
  }

  private metaSend(res: ServerResponse, send: Record<string, unknown>): void {
    if (send.status === 'read') return json(res, 200, { success: true });
    const to = String(send.to ?? '').replace(/\D/g, '');
    if (!to) return json(res, 400, { error: { message: '(#100) The parameter to is required.', type: 'OAuthException', code: 100 } });
    const type = String(send.type ?? 'text');
    const part = send[type] as { body?: string; caption?: string } | undefined;
    const wamid = `wamid.SIMOUT${randomBytes(12).toString('hex').toUpperCase()}`;
    this.record('meta', to, type, part?.body ?? part?.caption ?? null, wamid);
    this.scheduleStatuses('meta', wamid, to);
    json(res, 200, { messaging_product: 'whatsapp', contacts: [{ input: String(send.to), wa_id: to }], messages: [{ id: wamid }] });
  }

  private record(provider: Provider, to: string, type: string, text: string | null, providerMessageId: string): void {
    this.sent.push({ provider, to, type, text, providerMessageId, at: Date.now() });
    this.lastBusinessMessageTo.set(to, providerMessageId);
    const customer = CUSTOMERS.find((c) => c.waId === to) ?? null;
    this.log(`${customer?.name ?? to} ← ${type}${text ? `: "${text.length > 90 ? `${text.slice(0, 90)}…` : text}"` : ''}`);
    this.options.onOutbound?.(customer, text ?? `[${type}]`);
  }

  /** sent, delivered, read a few seconds apart (scaled by the pace); every n-th send fails after `sent`. */
  private scheduleStatuses(provider: 'meta' | 'montymobile', id: string, to: string): void {
    const failEvery = this.options.failEvery ?? 8;
    const fails = failEvery > 0 && ++this.sends % failEvery === 0;
    const steps: { after: number; status: string }[] = fails
      ? [
          { after: 400, status: 'sent' },
          { after: 1_200, status: 'failed' },
        ]
      : [
          { after: 400, status: 'sent' },
          { after: 1_200, status: 'delivered' },
          { after: 3_000, status: 'read' },
        ];
    for (const step of steps) {
      this.later(step.after * Math.max(this.pace, 0.05), async () => {
        const status: Record<string, unknown> = { id, status: step.status, timestamp: this.now(), recipient_id: to };
        if (step.status === 'failed')
          status.errors = [
            {
              code: 131026,
              title: 'Message undeliverable',
              message: 'Message undeliverable',
              error_data: { details: 'The recipient could not receive this message (simulated).' },
            },
          ];
        if (provider === 'meta') await this.postMeta(this.metaEnvelope({ statuses: [status] }));
        else await this.postMonty(this.montyEnvelope({ statuses: [status] }));
      });
    }
  }

  private putMedia(bytes: Buffer, mimeType: string): string {
    const id = `${Date.now()}${randomBytes(4).readUInt32BE()}`;
    this.media.set(id, { bytes, mimeType });
    return id;
  }

  private sha256(mediaId: string): string {
    return createHash('sha256').update(this.media.get(mediaId)!.bytes).digest('base64');
  }

  private now(): string {
    return String(Math.floor(Date.now() / 1000));
  }

  private later(ms: number, fn: () => Promise<void>): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopped) fn().catch((err: unknown) => this.log(`simulator: a status webhook failed: ${(err as Error).message}`));
    }, ms);
    this.timers.add(timer);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  private log(line: string): void {
    this.options.onLog?.(line);
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The `file` part of a multipart/form-data body (Meta's media upload), with its content type. */
function multipartFile(contentType: string, body: Buffer): { bytes: Buffer; mimeType: string } | null {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  if (!boundary) return null;
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const next = body.indexOf(delimiter, at + delimiter.length);
    if (next < 0) break;
    const part = body.subarray(at + delimiter.length + 2, next - 2);
    const split = part.indexOf('\r\n\r\n');
    const head = part.subarray(0, split).toString('utf8');
    if (/name="file"/i.test(head)) {
      const type = /content-type:\s*([^\r\n]+)/i.exec(head)?.[1]?.trim() ?? 'application/octet-stream';
      return { bytes: part.subarray(split + 4), mimeType: type };
    }
    at = next;
  }
  return null;
}
