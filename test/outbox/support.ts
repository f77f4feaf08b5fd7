import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { appendOutbound } from '../../src/app/append-outbound.js';
import type { MessageType, Provider } from '../../src/chat/types.js';
import type { Running } from '../../src/main.js';
import { ApiClient, loginAdmin } from '../api/api-client.js';
import { MetaSendFake } from '../fakes/meta-send.fake.js';
import { metaTextPayload, postMeta, startTestServer, TEST_SECRETS } from '../support/app.js';
import type { DatabaseFactory, TestDatabase } from '../support/databases.js';
import { storedMessage, type StoredMessage } from '../support/webhook-senders.js';

/** Fast retries and polls, so a test sees several attempts in well under a second. */
export const OUTBOX_TEST_ENV: Record<string, string> = {
  // Only the messages a test sends itself: no takeover or hand-over notices [AI6] in the outbox.
  AI_NOTICES: 'none',
  JOB_POLL_MS: '50',
  OUTBOX_RETRY_BASE_MS: '40',
  OUTBOX_RETRY_MAX_MS: '160',
  OUTBOX_SEND_TIMEOUT_MS: '3000',
  MONTYMOBILE_API_URL: 'http://127.0.0.1:9',
  QISCUS_API_URL: 'http://127.0.0.1:9',
};

export interface OutboxServer {
  readonly running: Running;
  readonly url: string;
  readonly meta: MetaSendFake;
  readonly admin: ApiClient;
  readonly database: TestDatabase;
  destroy(): Promise<void>;
}

/** The real server on a fresh database, Meta's Graph API a local fake, logged in as the admin. */
export async function startOutboxServer(factory: DatabaseFactory, env: Record<string, string> = {}): Promise<OutboxServer> {
  const database = await factory.create();
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-outbox-'));
  const meta = await MetaSendFake.start(TEST_SECRETS.META_ACCESS_TOKEN);
  const running = await startTestServer({
    ...OUTBOX_TEST_ENV,
    META_GRAPH_URL: meta.graphUrl,
    DATA_DIR: dataDir,
    DATABASE_URL: database.url,
    ...env,
  });
  const admin = await loginAdmin(running.url);
  return {
    running,
    url: running.url,
    meta,
    admin,
    database,
    destroy: async () => {
      await running.close();
      await meta.close();
      await database.destroy();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A customer writes (a real Meta webhook); the admin takes the conversation over. Returns its id. */
export async function openConversation(
  baseUrl: string,
  admin: ApiClient,
  from: string,
  wamid = `wamid.IN.${from}.${Date.now()}`,
): Promise<string> {
  const res = await postMeta(baseUrl, metaTextPayload(wamid, from, `hello from ${from}`));
  expect(res.status).toBe(200);
  const list = await admin.get(`/api/conversations?q=${from}`);
  expect(list.body.conversations).toHaveLength(1);
  const id = list.body.conversations[0].conversation_id as string;
  const taken = await admin.post(`/api/conversations/${id}/takeover`);
  expect(taken.status).toBe(200);
  // The takeover's notice to the customer goes through the outbox too: let it leave first, so a
  // test's scripted answers and counted calls are the test's own messages'.
  await waitFor('the takeover notice to leave the outbox', async () => {
    const page = await admin.get(`/api/conversations/${id}/messages`);
    return !page.body.messages.some((m: { status: string }) => m.status === 'pending');
  });
  return id;
}

/** The operator's text message; returns the Message answered (201, or 200 for a repeat). */
export async function operatorSends(admin: ApiClient, conversationId: string, text: string, idempotencyKey?: string): Promise<any> {
  const res = await admin.post(
    `/api/conversations/${conversationId}/messages`,
    { text },
    idempotencyKey ? { 'idempotency-key': idempotencyKey } : undefined,
  );
  expect([200, 201], JSON.stringify(res.body)).toContain(res.status);
  return res.body;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until the message has left `pending` (sent or failed) and returns it. */
export function settled(server: { running: Running }, messageId: string, timeoutMs?: number): Promise<StoredMessage> {
  return waitFor(
    `${messageId} to leave pending`,
    async () => {
      const m = await storedMessage(server.running.ctx.store.db, messageId);
      return m.status !== 'pending' ? m : null;
    },
    timeoutMs,
  );
}

/** message_updated events of one message, oldest first: the statuses it showed. */
export async function updates(server: { running: Running }, messageId: string): Promise<any[]> {
  const rows = await server.running.ctx.store.db
    .selectFrom('events')
    .selectAll()
    .where('type', '=', 'message_updated')
    .orderBy('id')
    .execute();
  return rows.map((r) => JSON.parse(r.payload)).filter((p) => p.message_id === messageId);
}

/**
 * Stores an operator's media message as the upload route does: its file, then the message and a
 * `ready` media row in one unit; the outbox is woken for it.
 */
export async function appendMediaMessage(
  server: OutboxServer,
  conversationId: string,
  provider: Provider,
  type: MessageType,
  bytes: Buffer,
  mimeType: string,
  filename: string | null,
  caption: string | null,
): Promise<{ messageId: string; mediaId: string }> {
  const { ctx } = server.running;
  const mediaId = `md_${Math.random().toString(16).slice(2, 14)}`;
  const storagePath = join('media', 'out', mediaId);
  await mkdir(join(ctx.config.dataDir, 'media', 'out'), { recursive: true });
  await writeFile(join(ctx.config.dataDir, storagePath), bytes);
  const now = new Date();
  const message = await ctx.committer.run(async (tx) => {
    const row = await appendOutbound(
      tx,
      conversationId,
      provider,
      {
        role: 'operator',
        type,
        text: caption,
        media: {
          media_id: mediaId,
          mime_type: mimeType,
          url: null,
          status: 'ready',
          caption,
          transcript: null,
          filename,
          size: bytes.length,
        },
        operator: null,
        reply_to: null,
        metadata: {},
        client_key: null,
      },
      now,
    );
    await tx.db
      .insertInto('media')
      .values({
        media_id: mediaId,
        message_pk: row.id,
        conversation_id: conversationId,
        provider,
        source_ref: 'operator',
        source_kind: 'upload',
        sha256: null,
        mime_type: mimeType,
        size: bytes.length,
        status: 'ready',
        storage_path: storagePath,
        error: null,
        created_at: now.toISOString(),
        updated_at: now.toISOString(),
      })
      .execute();
    return row;
  });
  server.running.jobs.outbox.wake();
  return { messageId: message.message_id, mediaId };
}
