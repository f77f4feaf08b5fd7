import type { Provider } from '../chat/types.js';
import type { MediaFetcher } from './media-fetch.js';
import { metaMediaFetcher } from './meta/meta.media.js';
import { metaMessageSender } from './meta/meta.send.js';
import { metaWebhookAdapter } from './meta/meta.webhook.js';
import { montyMediaFetcher } from './montymobile/montymobile.media.js';
import { montyMessageSender } from './montymobile/montymobile.send.js';
import { montyWebhookAdapter } from './montymobile/montymobile.webhook.js';
import { qiscusMediaFetcher } from './qiscus/qiscus.media.js';
import { qiscusMessageSender } from './qiscus/qiscus.send.js';
import { qiscusWebhookAdapter } from './qiscus/qiscus.webhook.js';
import type { MessageSender } from './send.js';
import type { WebhookAdapter } from './webhook-adapter.js';

export type { MediaFetcher } from './media-fetch.js';
export type { MessageSender } from './send.js';
export type { BodyCheck, WebhookAdapter, WebhookRequest } from './webhook-adapter.js';

/*
 * The providers, as three explicit lists: who receives webhooks, who fetches media, who sends.
 * Each provider's parts live in its folder; this file only lists them.
 */

export interface ProviderSecrets {
  meta: { appSecret: string | null };
  montymobile: { webhookToken: string | null; sourceNumber: string | null };
  qiscus: { webhookSecret: string | null; botEmail: string | null; appCode: string | null };
}

/**
 * The webhook adapters. A provider whose secret is not configured has no adapter: its webhook
 * answers 404 rather than accepting unauthenticated input.
 */
export function webhookAdapters(secrets: ProviderSecrets): Partial<Record<Provider, WebhookAdapter>> {
  const adapters = [metaWebhookAdapter(secrets.meta), montyWebhookAdapter(secrets.montymobile), qiscusWebhookAdapter(secrets.qiscus)];
  return Object.fromEntries(adapters.filter((adapter) => adapter !== null).map((adapter) => [adapter.provider, adapter]));
}

export interface MediaSettings {
  meta: { graphUrl: string; accessToken: string | null; phoneNumberId: string | null };
  montymobile: { apiUrl: string; tenant: string | null; apiKey: string | null };
  /** Hosts exempt from the internal-address check on media URLs (MEDIA_FETCH_ALLOW_HOSTS). */
  media: { fetchAllowHosts: readonly string[] };
}

/**
 * The media fetchers, one per provider. Every provider gets one: a fetcher whose
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
 * The message senders, one per provider. A sender whose credentials are missing
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
