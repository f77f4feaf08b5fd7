import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHmac } from 'node:crypto';
import pino from 'pino';
import { loadConfig } from '../../src/config.js';
import { startServer, type Running } from '../../src/main.js';

export const TEST_SECRETS = {
  META_APP_SECRET: 'test-meta-app-secret',
  META_VERIFY_TOKEN: 'test-verify-token',
  META_ACCESS_TOKEN: 'test-meta-access-token',
  META_PHONE_NUMBER_ID: '106540352242922',
  MONTYMOBILE_WEBHOOK_TOKEN: 'test-monty-token',
  MONTYMOBILE_SOURCE_NUMBER: '96170999999',
  MONTYMOBILE_TENANT: 'tenant-uuid',
  MONTYMOBILE_API_KEY: 'monty-api-key',
  QISCUS_WEBHOOK_SECRET: 'test-qiscus-secret',
  QISCUS_APP_CODE: 'kovof-123',
  QISCUS_SECRET_KEY: 'qiscus-secret-key',
  ADMIN_EMAIL: 'admin@example.test',
  ADMIN_PASSWORD: 'admin-password-1',
} as const;

/**
 * Starts the real server in-process on 127.0.0.1 and a free port, with a fresh SQLite file unless
 * DATABASE_URL is given. Env values override the defaults (provider base URLs → local fakes).
 */
export async function startTestServer(env: Record<string, string> = {}): Promise<Running> {
  const dataDir = env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'sb-app-'));
  const config = loadConfig({
    ...TEST_SECRETS,
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    DATABASE_URL: `sqlite:${join(dataDir, 'switchboard.db')}`,
    LOG_LEVEL: 'silent',
    // The provider fakes listen on 127.0.0.1, an internal address media URLs may not point at otherwise.
    MEDIA_FETCH_ALLOW_HOSTS: '127.0.0.1,localhost',
    ...env,
  });
  return startServer(config, pino({ level: config.logLevel }));
}

export function signMeta(body: string, secret: string = TEST_SECRETS.META_APP_SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** POSTs a signed Meta webhook. */
export function postMeta(baseUrl: string, payload: unknown): Promise<Response> {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return fetch(`${baseUrl}/webhooks/meta`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMeta(body) },
    body,
  });
}

/** A Meta webhook from one contact carrying `messages` (real wire format, REFERENCE §1.5–1.6). */
export function metaMessagesPayload(from: string, name: string, messages: (Record<string, unknown> & { id: string })[]) {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: TEST_SECRETS.META_PHONE_NUMBER_ID },
              contacts: [{ profile: { name }, wa_id: from }],
              messages: messages.map((m) => ({ from, timestamp: String(Math.floor(Date.now() / 1000)), ...m })),
            },
            field: 'messages',
          },
        ],
      },
    ],
  };
}

/** A one-message Meta text webhook in the real wire format. */
export function metaTextPayload(id: string, from = '16505551234', body = `hello ${id}`, timestamp = Math.floor(Date.now() / 1000)) {
  return metaMessagesPayload(from, 'Sheena Nelson', [{ id, timestamp: String(timestamp), type: 'text', text: { body } }]);
}
