import { readFileSync } from 'node:fs';
import type { Kysely } from 'kysely';
import type { Provider } from '../../src/chat/types.js';
import type { DB, MessageRow } from '../../src/store/schema.js';
import { TEST_SECRETS, signMeta } from './app.js';

/*
 * Signers and senders for the three provider webhooks (SPEC §4), payload builders in each
 * provider's real wire format (REFERENCE §1.5, §2.5, §3.2), and read-backs of what ingest stored.
 */

export { signMeta };

/** How a request authenticates; every field overrides the correct value the sender uses by default. */
export interface SendOptions {
  /** Meta: the X-Hub-Signature-256 header; null omits it. */
  signature?: string | null;
  /** MontyMobile: the x-webhook-token header; null omits it. */
  token?: string | null;
  /** Qiscus: the secret path segment. */
  secret?: string;
  /** Content-Type header; null omits it. Default application/json. */
  contentType?: string | null;
  /** Aborts the request (e.g. AbortSignal.timeout). */
  signal?: AbortSignal;
}

export interface WebhookAnswer {
  status: number;
  /** Parsed JSON when the answer is JSON, else the text. */
  body: any;
  text: string;
  contentType: string | null;
}

/** The path a provider posts to. */
export function webhookPath(provider: Provider, secret: string = TEST_SECRETS.QISCUS_WEBHOOK_SECRET): string {
  if (provider === 'qiscus') return `/webhooks/qiscus/${encodeURIComponent(secret)}`;
  return `/webhooks/${provider}`;
}

/** The headers the provider would send for `body` (the exact bytes posted). */
export function webhookHeaders(provider: Provider, body: string, options: SendOptions = {}): Record<string, string> {
  const headers: Record<string, string> = {};
  const contentType = options.contentType === undefined ? 'application/json' : options.contentType;
  if (contentType !== null) headers['content-type'] = contentType;
  if (provider === 'meta') {
    const signature = options.signature === undefined ? signMeta(body) : options.signature;
    if (signature !== null) headers['x-hub-signature-256'] = signature;
  }
  if (provider === 'montymobile') {
    const token = options.token === undefined ? TEST_SECRETS.MONTYMOBILE_WEBHOOK_TOKEN : options.token;
    if (token !== null) headers['x-webhook-token'] = token;
  }
  return headers;
}

/** The body as posted: strings and Buffers verbatim, anything else as JSON. */
export function webhookBody(payload: unknown): string {
  return typeof payload === 'string' ? payload : JSON.stringify(payload);
}

/**
 * POSTs one webhook as the provider would: signed (Meta), with the token (MontyMobile) or under the
 * secret path (Qiscus). Rejects only when the connection fails.
 */
export async function sendWebhook(
  baseUrl: string,
  provider: Provider,
  payload: unknown,
  options: SendOptions = {},
): Promise<WebhookAnswer> {
  const body = webhookBody(payload);
  const res = await fetch(`${baseUrl}${webhookPath(provider, options.secret)}`, {
    method: 'POST',
    headers: webhookHeaders(provider, body, options),
    body,
    signal: options.signal,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed, text, contentType: res.headers.get('content-type') };
}

/** The exact text of a provider fixture (src/providers/<provider>/fixtures/<name>.json). */
export function fixtureText(provider: Provider, name: string): string {
  return readFileSync(new URL(`../../src/providers/${provider}/fixtures/${name}.json`, import.meta.url), 'utf8');
}

/** A provider fixture, parsed. */
export function fixture(provider: Provider, name: string): any {
  return JSON.parse(fixtureText(provider, name));
}

/* ---- payload builders (real wire formats) ---- */

export const META_BUSINESS = { display_phone_number: '15550783881', phone_number_id: TEST_SECRETS.META_PHONE_NUMBER_ID } as const;
export const MONTY_BUSINESS = { phone_number_id: '901137269746618', display_phone_number: '96181000111' } as const;

/** Meta's envelope around the given `changes[].value` objects, one change each, in one entry. */
export function metaEnvelope(values: Record<string, unknown>[]): Record<string, unknown> {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: values.map((value) => ({ value: { messaging_product: 'whatsapp', ...value }, field: 'messages' })),
      },
    ],
  };
}

/** A Meta status webhook for one of our outbound messages (REFERENCE §1.7). */
export function metaStatusPayload(wamid: string, status: string, options: { errors?: unknown[]; timestamp?: number } = {}) {
  const item: Record<string, unknown> = {
    id: wamid,
    status,
    timestamp: String(options.timestamp ?? Math.floor(Date.now() / 1000)),
    recipient_id: '16505551234',
  };
  if (options.errors) item.errors = options.errors;
  return metaEnvelope([{ metadata: META_BUSINESS, statuses: [item] }]);
}

/** MontyMobile's re-serialised envelope (REFERENCE §2.5): `entry` first, `object` last, `field` before `value`. */
export function montyEnvelope(value: Record<string, unknown>): Record<string, unknown> {
  return {
    entry: [{ id: '859562923476499', changes: [{ field: 'messages', value: { ...value, messaging_product: 'whatsapp' } }] }],
    object: 'whatsapp_business_account',
  };
}

/** A MontyMobile text message; `id` null leaves the id out (Monty sometimes does). */
export function montyTextPayload(id: string | null, body: string, from = '96170123456', timestamp = Math.floor(Date.now() / 1000)) {
  const message: Record<string, unknown> = { from, timestamp: String(timestamp), type: 'text', text: { body } };
  if (id !== null) message.id = id;
  return montyEnvelope({ metadata: MONTY_BUSINESS, contacts: [{ profile: { name: 'Rania' }, wa_id: from }], messages: [message] });
}

/** A MontyMobile status webhook. */
export function montyStatusPayload(wamid: string, status: string, options: { errors?: unknown[] } = {}) {
  const item: Record<string, unknown> = {
    id: wamid,
    status,
    timestamp: String(Math.floor(Date.now() / 1000)),
    recipient_id: '96170123456',
  };
  if (options.errors) item.errors = options.errors;
  return montyEnvelope({ metadata: MONTY_BUSINESS, statuses: [item] });
}

/** A Qiscus bot webhook (`post_comment_mobile`, current format, REFERENCE §3.2) with one text message. */
export function qiscusTextPayload(uniqueTempId: string, text: string, options: { email?: string; roomId?: string; name?: string } = {}) {
  const email = options.email ?? '6281234567890';
  const roomId = options.roomId ?? '139214511';
  const at = new Date();
  const seconds = Math.floor(at.getTime() / 1000);
  return {
    app_code: TEST_SECRETS.QISCUS_APP_CODE,
    channel: { id: 123, name: 'Qiscus 123', source: 'wa' },
    payload: {
      from: {
        avatar_url: 'https://latest-multichannel.qiscus.com/img/default_avatar.svg',
        email,
        id: 0,
        id_str: '0',
        name: options.name ?? 'Budi Santoso',
      },
      message: {
        comment_before_id: 0,
        comment_before_id_str: '0',
        created_at: at.toISOString(),
        disable_link_preview: false,
        extras: null,
        id: 0,
        id_str: '0',
        payload: null,
        text,
        timestamp: at.toISOString(),
        type: 'text',
        unique_temp_id: uniqueTempId,
        unix_nano_timestamp: seconds * 1000,
        unix_timestamp: seconds,
      },
      room: {
        id: roomId,
        id_str: roomId,
        is_public_channel: false,
        name: options.name ?? 'Budi Santoso',
        options: JSON.stringify({
          channel: 'wa',
          channel_details: { channel_id: 963, name: 'Qiscus Cloud Group', phone: '+62628771666489' },
          is_resolved: false,
          is_waiting: true,
          source: 'wa',
        }),
        participants: [{ email }, { email: `${TEST_SECRETS.QISCUS_APP_CODE}_admin@qismo.com` }],
        room_avatar: 'https://latest-multichannel.qiscus.com/img/default_avatar.svg',
        topic_id: roomId,
        topic_id_str: roomId,
        type: 'group',
      },
      type: 'post_comment_mobile',
    },
    type: 'post_comment_mobile',
  };
}

/* ---- read-backs ---- */

const STORED_TABLES = ['webhook_journal', 'messages', 'events', 'jobs', 'media', 'contacts', 'conversations', 'channels'] as const;
export type StoredTable = (typeof STORED_TABLES)[number];

/** Row counts of every table a webhook can write. Equal snapshots: nothing was stored. */
export async function storedCounts(db: Kysely<DB>): Promise<Record<StoredTable, number>> {
  const counts = {} as Record<StoredTable, number>;
  for (const table of STORED_TABLES) {
    const row = await db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .executeTakeFirstOrThrow();
    counts[table] = Number(row.n);
  }
  return counts;
}

/** A stored message with its JSON columns parsed. */
export interface StoredMessage extends Omit<MessageRow, 'metadata' | 'media' | 'error'> {
  metadata: Record<string, any>;
  media: Record<string, any> | null;
  error: { code: string; title: string } | null;
}

function parsed(row: MessageRow): StoredMessage {
  return {
    ...row,
    metadata: JSON.parse(row.metadata),
    media: row.media === null ? null : JSON.parse(row.media),
    error: row.error === null ? null : JSON.parse(row.error),
  };
}

/** Every stored message with this message_id (any conversation). */
export async function messagesWithId(db: Kysely<DB>, messageId: string): Promise<StoredMessage[]> {
  const rows = await db.selectFrom('messages').selectAll().where('message_id', '=', messageId).execute();
  return rows.map(parsed);
}

/** The one stored message with this message_id; throws unless there is exactly one. */
export async function storedMessage(db: Kysely<DB>, messageId: string): Promise<StoredMessage> {
  const rows = await messagesWithId(db, messageId);
  if (rows.length !== 1) throw new Error(`expected one message ${messageId}, found ${rows.length}`);
  return rows[0]!;
}

/** Event-log rows of a type, payload parsed, in log order; optionally only those about one message_id. */
export async function eventRows(
  db: Kysely<DB>,
  type: string,
  messageId?: string,
): Promise<{ id: number; conversation_id: string | null; payload: any }[]> {
  const rows = await db.selectFrom('events').selectAll().where('type', '=', type).orderBy('id').execute();
  return rows
    .map((r) => ({ id: Number(r.id), conversation_id: r.conversation_id, payload: JSON.parse(r.payload) }))
    .filter((e) => messageId === undefined || e.payload?.message_id === messageId);
}

/** Jobs of a kind, payload parsed. */
export async function jobRows(db: Kysely<DB>, kind: string): Promise<{ dedupe_key: string | null; payload: any; status: string }[]> {
  const rows = await db.selectFrom('jobs').selectAll().where('kind', '=', kind).orderBy('id').execute();
  return rows.map((r) => ({ dedupe_key: r.dedupe_key, payload: JSON.parse(r.payload), status: r.status }));
}

/** The contact and conversation a stored message belongs to. */
export async function conversationOf(db: Kysely<DB>, message: Pick<MessageRow, 'conversation_id'>) {
  const conversation = await db.selectFrom('conversations').selectAll().where('id', '=', message.conversation_id).executeTakeFirstOrThrow();
  const contact = await db.selectFrom('contacts').selectAll().where('id', '=', conversation.contact_id).executeTakeFirstOrThrow();
  const channel = await db.selectFrom('channels').selectAll().where('id', '=', conversation.channel_id).executeTakeFirstOrThrow();
  return { conversation, contact, channel };
}
