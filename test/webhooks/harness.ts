import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { expect } from 'vitest';
import type { Provider } from '../../src/chat/types.js';
import type { Running } from '../../src/main.js';
import type { DB } from '../../src/store/schema.js';
import { startTestServer } from '../support/app.js';
import { sharedDatabases, type DatabaseFactory, type TestDatabase } from '../support/databases.js';
import { eventRows, jobRows, storedMessage, type StoredMessage } from '../support/webhook-senders.js';

/**
 * Server settings for the webhook suites: every provider API points at a closed local port, the
 * job runners poll rarely (they are stopped anyway, see parkBackgroundJobs), and AI jobs come due
 * only after the test (crash-safety runs child servers whose runners are not parked: their AI
 * replies would add messages and events these suites count).
 */
export const WEBHOOK_TEST_ENV: Record<string, string> = {
  JOB_POLL_MS: '60000',
  AI_DEBOUNCE_MS: '600000',
  META_GRAPH_URL: 'http://127.0.0.1:9',
  MONTYMOBILE_API_URL: 'http://127.0.0.1:9',
  QISCUS_API_URL: 'http://127.0.0.1:9',
};

/** SQLite always; the real PostgreSQL server when TEST_POSTGRES_URL is set. */
export function webhookDatabases(): DatabaseFactory[] {
  return sharedDatabases();
}

/** One real server on its own fresh database; restartable on the same DATA_DIR and DATABASE_URL. */
export interface WebhookServer {
  readonly kind: TestDatabase['kind'];
  readonly running: Running;
  readonly url: string;
  readonly db: Kysely<DB>;
  /** Closes the server (graceful) and starts a new one on the same database. */
  restart(): Promise<void>;
  /** Closes the server and drops the database. */
  destroy(): Promise<void>;
}

/**
 * Stops the server's background job runners (media downloads …): these suites prove what ingest
 * stores, so nothing may change the rows behind their back or fetch a fixture's real media URL.
 * The jobs stay queued, as a crashed worker would leave them; other suites prove the runners.
 */
export async function parkBackgroundJobs(running: Running): Promise<Running> {
  await Promise.all(Object.values(running.jobs).map((runner) => runner?.stop()));
  return running;
}

export async function startWebhookServer(factory: DatabaseFactory, env: Record<string, string> = {}): Promise<WebhookServer> {
  const database = await factory.create();
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-webhooks-'));
  const fullEnv = { ...WEBHOOK_TEST_ENV, DATA_DIR: dataDir, DATABASE_URL: database.url, ...env };
  let running = await parkBackgroundJobs(await startTestServer(fullEnv));
  return {
    kind: database.kind,
    get running() {
      return running;
    },
    get url() {
      return running.url;
    },
    get db() {
      return running.ctx.store.db;
    },
    restart: async () => {
      await running.close();
      running = await parkBackgroundJobs(await startTestServer(fullEnv));
    },
    destroy: async () => {
      await running.close();
      await database.destroy();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** What one inbound message must have left behind, whatever its type (SPEC §1, §2, §4). */
export async function expectIngested(db: Kysely<DB>, messageId: string, provider: Provider): Promise<StoredMessage> {
  const m = await storedMessage(db, messageId);
  // [ID1] the provider's id is the key; [ID4] metadata carries it twice.
  expect(m).toMatchObject({
    message_id: messageId,
    role: 'user',
    status: 'received',
    operator_id: null,
    provider_message_id: null,
    client_key: null,
  });
  expect(m.metadata).toMatchObject({ message_id: messageId, source_message_id: messageId, provider });
  expect(m.seq).toBeGreaterThan(0);

  const ai = (await jobRows(db, 'ai.reply')).filter((job) => job.payload.message_id === messageId);
  expect(ai.map(({ dedupe_key, payload }) => ({ dedupe_key, payload }))).toEqual([
    // Queued only with the message's own insert, whose unique index dedupes it: no key of its own.
    { dedupe_key: null, payload: { conversation_id: m.conversation_id, message_id: messageId } },
  ]);

  const events = await eventRows(db, 'new_message', messageId);
  expect(events).toHaveLength(1);
  expect(events[0]!.conversation_id).toBe(m.conversation_id);
  expect(events[0]!.payload).toEqual({
    message_id: m.message_id,
    conversation_id: m.conversation_id,
    seq: m.seq,
    role: 'user',
    type: m.type,
    text: m.text,
    media: m.media === null ? null : { ...m.media, url: `/api/media/${m.media.media_id}` },
    status: 'received',
    error: m.error,
    operator: null,
    reply_to: m.reply_to,
    timestamp: m.timestamp,
    metadata: m.metadata,
  });
  const updates = (await eventRows(db, 'conversation_updated')).filter((e) => e.conversation_id === m.conversation_id);
  expect(updates.length).toBeGreaterThan(0);
  expect(updates.at(-1)!.payload).toMatchObject({ conversation_id: m.conversation_id, state: 'ai' });
  expect(events[0]!.id).toBeLessThan(updates.at(-1)!.id);

  const media = await db.selectFrom('media').selectAll().where('message_pk', '=', m.id).execute();
  const downloads = (await jobRows(db, 'media.download')).filter((job) => media.some((row) => row.media_id === job.payload.media_id));
  if (m.media === null) {
    expect(media).toEqual([]);
  } else {
    expect(m.media).toMatchObject({ status: 'pending', url: null, transcript: null, size: null });
    expect(media).toHaveLength(1);
    expect(media[0]).toMatchObject({
      media_id: m.media.media_id,
      conversation_id: m.conversation_id,
      provider,
      mime_type: m.media.mime_type,
    });
    expect(downloads.map(({ dedupe_key, payload }) => ({ dedupe_key, payload }))).toEqual([
      { dedupe_key: m.media.media_id, payload: { media_id: m.media.media_id } },
    ]);
  }
  return m;
}

/** The journal [IN1]: one row per accepted POST, holding the exact body. */
export async function journalRows(db: Kysely<DB>) {
  return db.selectFrom('webhook_journal').select(['provider', 'body', 'message_count', 'status_count']).orderBy('id').execute();
}
