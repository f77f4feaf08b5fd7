import { expect } from 'vitest';
import type { Running } from '../../src/main.js';
import type { MessageRow } from '../../src/store/schema.js';
import { ApiClient, loginAdmin } from '../api/api-client.js';
import { waitFor } from '../media/support.js';
import { metaMessagesPayload, metaTextPayload, postMeta, startTestServer } from '../support/app.js';
import { createPostgresDatabase, TEST_POSTGRES_URL, type TestDatabase } from '../support/databases.js';

/** The databases the AI suites run on: SQLite always, the real PostgreSQL when TEST_POSTGRES_URL is set. */
export const AI_DATABASES: ('sqlite' | 'postgres')[] = TEST_POSTGRES_URL ? ['sqlite', 'postgres'] : ['sqlite'];

/** One database per suite, and the servers started on it (closed after each test). */
export class AiHarness {
  private database: TestDatabase | null = null;
  private readonly servers: Running[] = [];
  private counter = 0;

  constructor(
    readonly kind: 'sqlite' | 'postgres',
    private readonly baseEnv: () => Record<string, string>,
  ) {}

  async setUp(): Promise<void> {
    if (this.kind === 'postgres') this.database = await createPostgresDatabase();
  }

  async closeServers(): Promise<void> {
    await Promise.all(this.servers.splice(0).map((s) => s.close()));
  }

  async tearDown(): Promise<void> {
    await this.closeServers();
    await this.database?.destroy();
  }

  /** A server with the AI on the fake endpoint, a short debounce and fast job polling. */
  async start(env: Record<string, string> = {}): Promise<Running> {
    const server = await startTestServer({
      JOB_POLL_MS: '20',
      AI_DEBOUNCE_MS: '300',
      AI_RETRY_BASE_MS: '10',
      AI_RETRY_MAX_MS: '40',
      MEDIA_RETRY_BASE_MS: '10',
      MEDIA_RETRY_MAX_MS: '40',
      ...(this.database ? { DATABASE_URL: this.database.url } : {}),
      ...this.baseEnv(),
      ...env,
    });
    this.servers.push(server);
    return server;
  }

  /** A phone number (and id prefix) no other test of this run uses. */
  unique(): string {
    return `961${Date.now().toString().slice(-6)}${String(++this.counter).padStart(3, '0')}`;
  }
}

export function sendText(server: Running, from: string, id: string, body: string): Promise<Response> {
  return postMeta(server.url, metaTextPayload(id, from, body));
}

export function sendMeta(server: Running, from: string, messages: (Record<string, unknown> & { id: string })[]): Promise<Response> {
  return postMeta(server.url, metaMessagesPayload(from, 'Customer', messages));
}

export async function conversationIdOf(server: Running, from: string): Promise<string> {
  return waitFor(async () => {
    const row = await server.ctx.store.reader
      .selectFrom('conversations')
      .innerJoin('contacts', 'contacts.id', 'conversations.contact_id')
      .select('conversations.id')
      .where('contacts.wa_id', '=', from)
      .executeTakeFirst();
    return row?.id;
  }, `conversation of ${from}`);
}

export async function messagesOf(server: Running, conversationId: string): Promise<(MessageRow & { meta: Record<string, any> })[]> {
  const rows = await server.ctx.store.reader
    .selectFrom('messages')
    .selectAll()
    .where('conversation_id', '=', conversationId)
    .orderBy('seq')
    .execute();
  return rows.map((r) => ({ ...r, meta: JSON.parse(r.metadata) }));
}

/** Waits until no `ai.reply` (nor `media.*`) job of the conversation is queued or running any more. */
export async function settled(server: Running, conversationId: string): Promise<void> {
  await waitFor(
    async () => {
      const open = await server.ctx.store.reader
        .selectFrom('jobs')
        .select(['kind', 'payload'])
        .where('kind', 'in', ['ai.reply', 'media.download', 'media.transcribe'])
        .where('status', 'in', ['queued', 'running'])
        .execute();
      const mine = open.filter((j) => j.kind !== 'ai.reply' || JSON.parse(j.payload).conversation_id === conversationId);
      return mine.length === 0;
    },
    `jobs of ${conversationId} to settle`,
    20_000,
  );
}

/** The assistant replies of a conversation, once there are `count` of them and its jobs settled. */
export async function replies(server: Running, conversationId: string, count = 1) {
  await waitFor(
    async () => (await messagesOf(server, conversationId)).filter((m) => m.role === 'assistant').length >= count,
    `${count} AI replies`,
  );
  await settled(server, conversationId);
  return (await messagesOf(server, conversationId)).filter((m) => m.role === 'assistant');
}

export async function conversationRow(server: Running, conversationId: string) {
  return server.ctx.store.reader.selectFrom('conversations').selectAll().where('id', '=', conversationId).executeTakeFirstOrThrow();
}

/** Waits for the conversation to reach `state`, then for its jobs to settle. */
export async function waitState(server: Running, conversationId: string, state: string) {
  await waitFor(
    async () => (await conversationRow(server, conversationId)).state === state,
    `conversation ${conversationId} to be ${state}`,
  );
  await settled(server, conversationId);
  return conversationRow(server, conversationId);
}

/** `outbox.send` jobs of a conversation, with the message each one sends. */
export async function outboxOf(server: Running, conversationId: string) {
  const jobs = await server.ctx.store.reader
    .selectFrom('jobs')
    .select(['payload'])
    .where('kind', '=', 'outbox.send')
    .orderBy('id')
    .execute();
  const mine = jobs
    .map((j) => JSON.parse(j.payload) as { conversation_id: string; message_id: string })
    .filter((p) => p.conversation_id === conversationId);
  const messages = await messagesOf(server, conversationId);
  return mine.map((p) => messages.find((m) => m.message_id === p.message_id)!);
}

export async function admin(server: Running): Promise<ApiClient> {
  return loginAdmin(server.url);
}

/** `message_updated` payloads of one message, from the durable event log. */
export async function messageUpdates(server: Running, messageId: string): Promise<any[]> {
  const events = await server.ctx.store.reader
    .selectFrom('events')
    .selectAll()
    .where('type', '=', 'message_updated')
    .orderBy('id')
    .execute();
  return events.map((e) => JSON.parse(e.payload)).filter((p) => p.message_id === messageId);
}

export function expectGeneratedId(id: string): void {
  expect(id).toMatch(/^msg_\d{14}_[0-9a-f]{8}$/);
}
