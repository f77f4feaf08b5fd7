import type { InboundBatch, Provider } from '../chat/types.js';
import { WebhookRejected } from './provider-error.js';
import { parseMetaWebhook, startMetaSignatureCheck, verifyMetaSignature } from './meta/meta.webhook.js';
import { parseMontyWebhook, verifyMontyToken } from './montymobile/montymobile.webhook.js';
import { parseQiscusWebhook } from './qiscus/qiscus.webhook.js';
import { timingSafeEqual } from 'node:crypto';
import type { MediaFetcher } from './media-fetch.js';
import { metaMediaFetcher } from './meta/meta.media.js';
import { montyMediaFetcher } from './montymobile/montymobile.media.js';
import { qiscusMediaFetcher } from './qiscus/qiscus.media.js';
import type { MessageSender } from './send.js';
import { metaMessageSender } from './meta/meta.send.js';
import { montyMessageSender } from './montymobile/montymobile.send.js';
import { qiscusMessageSender } from './qiscus/qiscus.send.js';

export type { MediaFetcher } from './media-fetch.js';
export type { MessageSender } from './send.js';

/** What a webhook request looks like to an adapter: no framework types. */
export interface WebhookRequest {
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
  /** The secret path segment (Qiscus). */
  pathSecret?: string;
}

/** The body's half of authentication, fed while the bytes arrive. */
export interface BodyCheck {
  update(chunk: Buffer): void;
  /** Throws WebhookRejected(401) when the bytes read are not the provider's. */
  finish(): void;
}

/** The receiving half of a provider: is this request authentic, and what does it carry. */
export interface WebhookAdapter {
  readonly provider: Provider;
  /** Throws WebhookRejected(401) when the request is not from the provider. */
  verify(request: WebhookRequest): void;
  /**
   * What can be checked before any byte of the body is read (a signature header's presence and
   * shape, a token, the path secret); returns the check the body must still pass. Throws
   * WebhookRejected(401). `verify` on the whole body is the same decision.
   */
  begin(request: Omit<WebhookRequest, 'rawBody'>): BodyCheck;
  /** True when the headers cannot authenticate alone: until `finish`, the body is a stranger's. */
  readonly bodyAuthenticates: boolean;
  /** Throws WebhookRejected(400) for JSON of an unknown shape. */
  parse(body: unknown, now: Date): InboundBatch;
}

export interface ProviderSecrets {
  meta: { appSecret: string | null };
  montymobile: { webhookToken: string | null; sourceNumber: string | null };
  qiscus: { webhookSecret: string | null; botEmail: string | null; appCode: string | null };
}

/** The body check of a request its headers (or path) already authenticated. */
const AUTHENTICATED: BodyCheck = { update: () => {}, finish: () => {} };

function header(req: Pick<WebhookRequest, 'headers'>, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function sameSecret(given: string | undefined, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The explicit list of webhook adapters. A provider whose secret is not configured has no adapter:
 * its webhook answers 404 rather than accepting unauthenticated input.
 */
export function webhookAdapters(secrets: ProviderSecrets): Partial<Record<Provider, WebhookAdapter>> {
  const adapters: Partial<Record<Provider, WebhookAdapter>> = {};
  const { appSecret } = secrets.meta;
  if (appSecret) {
    adapters.meta = {
      provider: 'meta',
      verify: (req) => {
        if (!verifyMetaSignature(req.rawBody, header(req, 'x-hub-signature-256'), appSecret))
          throw new WebhookRejected(401, 'bad X-Hub-Signature-256');
      },
      begin: (req) => {
        const check = startMetaSignatureCheck(header(req, 'x-hub-signature-256'), appSecret);
        if (!check) throw new WebhookRejected(401, 'bad X-Hub-Signature-256');
        return {
          update: (chunk) => check.update(chunk),
          finish: () => {
            if (!check.matches()) throw new WebhookRejected(401, 'bad X-Hub-Signature-256');
          },
        };
      },
      bodyAuthenticates: true,
      parse: (body, now) => parseMetaWebhook(body, now),
    };
  }
  const { webhookToken, sourceNumber } = secrets.montymobile;
  if (webhookToken) {
    adapters.montymobile = {
      provider: 'montymobile',
      verify: (req) => {
        if (!verifyMontyToken(header(req, 'x-webhook-token'), webhookToken)) throw new WebhookRejected(401, 'bad x-webhook-token');
      },
      begin: (req) => {
        if (!verifyMontyToken(header(req, 'x-webhook-token'), webhookToken)) throw new WebhookRejected(401, 'bad x-webhook-token');
        return AUTHENTICATED;
      },
      bodyAuthenticates: false,
      parse: (body, now) => parseMontyWebhook(body, { sourceNumber }, now),
    };
  }
  const { webhookSecret, botEmail, appCode } = secrets.qiscus;
  if (webhookSecret) {
    const ignoreEmails = [botEmail, appCode ? `${appCode}_admin@qismo.com` : null].filter((e): e is string => !!e);
    adapters.qiscus = {
      provider: 'qiscus',
      verify: (req) => {
        if (!sameSecret(req.pathSecret, webhookSecret)) throw new WebhookRejected(401, 'bad webhook secret');
      },
      begin: (req) => {
        if (!sameSecret(req.pathSecret, webhookSecret)) throw new WebhookRejected(401, 'bad webhook secret');
        return AUTHENTICATED;
      },
      bodyAuthenticates: false,
      parse: (body, now) => parseQiscusWebhook(body, { ignoreEmails, appCode }, now),
    };
  }
  return adapters;
}

export interface MediaSettings {
  meta: { graphUrl: string; accessToken: string | null; phoneNumberId: string | null };
  montymobile: { apiUrl: string; tenant: string | null; apiKey: string | null };
  /** Hosts exempt from the internal-address check on media URLs (MEDIA_FETCH_ALLOW_HOSTS). */
  media: { fetchAllowHosts: readonly string[] };
}

/**
 * The explicit list of media fetchers, one per provider. Every provider gets one: a fetcher whose
 * credentials are missing fails its downloads with `not_configured` rather than leaving them pending.
 */
export function mediaFetchers(settings: MediaSettings): Record<Provider, MediaFetcher> {
  const policy = { allowHosts: settings.media.fetchAllowHosts };
  return {
    meta: metaMediaFetcher({ ...settings.meta, policy }),
    montymobile: montyMediaFetcher({ ...settings.montymobile, policy }),
    qiscus: qiscusMediaFetcher(policy),
  };
}

export interface SendSettings {
  meta: { graphUrl: string; accessToken: string | null; phoneNumberId: string | null };
  montymobile: { apiUrl: string; tenant: string | null; apiKey: string | null; sourceNumber: string | null; audioAs: 'document' | 'audio' };
  qiscus: {
    apiUrl: string;
    appCode: string | null;
    secretKey: string | null;
    botEmail: string | null;
    attachmentForm: 'payload' | 'top_level';
  };
  outbox: { sendTimeoutMs: number };
}

/**
 * The explicit list of message senders, one per provider. A sender whose credentials are missing
 * fails its messages as `not_configured` rather than leaving them pending. MontyMobile and Qiscus
 * take media by public link only: `mediaLink` gives a signed /media-links URL (src/app/media-links.ts)
 * or null when PUBLIC_URL is unset, and then their media messages fail as `public_url_missing`.
 */
export function messageSenders(
  settings: SendSettings,
  mediaLink: ((mediaId: string) => string | null) | null = null,
): Record<Provider, MessageSender> {
  const timeoutMs = settings.outbox.sendTimeoutMs;
  return {
    meta: metaMessageSender({ ...settings.meta, timeoutMs }),
    montymobile: montyMessageSender({ ...settings.montymobile, mediaLink, timeoutMs }),
    qiscus: qiscusMessageSender({ ...settings.qiscus, mediaLink, timeoutMs }),
  };
}
