import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/database.js';
import { OpenAiFake } from '../fakes/openai.fake.js';
import { sleep, waitFor } from '../media/support.js';
import { metaTextPayload, postMeta } from '../support/app.js';
import { startChildServer, type ChildServer } from '../support/child-server.js';
import { createPostgresDatabase, createSqliteDatabase, TEST_POSTGRES_URL, type TestDatabase } from '../support/databases.js';

/*
 * [AI1] durability: the server runs as its own OS process and is SIGKILLed while a reply is still
 * in its debounce window, and while the model is generating it. After a restart on the same
 * database the customer gets exactly one reply (the job runs again; its reply and its completion
 * commit together).
 */

const DATABASES: { kind: string; create: () => Promise<TestDatabase> }[] = [
  { kind: 'sqlite', create: createSqliteDatabase },
  ...(TEST_POSTGRES_URL ? [{ kind: 'postgres', create: () => createPostgresDatabase() }] : []),
];

let fake: OpenAiFake;
beforeAll(async () => {
  fake = await OpenAiFake.start();
});
beforeEach(() => fake.reset());
afterAll(async () => {
  await fake.close();
});

async function assistantMessages(url: string) {
  const store = await openStore(url, { migrate: false });
  try {
    const rows = await store.db.selectFrom('messages').select(['message_id', 'metadata', 'text']).where('role', '=', 'assistant').execute();
    const jobs = await store.db.selectFrom('jobs').select(['kind', 'status']).execute();
    return { replies: rows.map((r) => ({ ...r, meta: JSON.parse(r.metadata) })), jobs };
  } finally {
    await store.close();
  }
}

for (const database of DATABASES) {
  describe(`AI reply across SIGKILL on ${database.kind}`, () => {
    let server: ChildServer | null = null;
    let db: TestDatabase | null = null;
    let dataDir: string | null = null;
    afterEach(async () => {
      await server?.kill();
      server = null;
      await db?.destroy();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    async function env(extra: Record<string, string>) {
      db = await database.create();
      dataDir = mkdtempSync(join(tmpdir(), 'sb-ai-crash-'));
      return {
        DATA_DIR: dataDir,
        DATABASE_URL: db.url,
        AI_RESPONDER: 'openai',
        OPENAI_BASE_URL: fake.baseUrl,
        AI_MODEL: 'fake-model',
        JOB_POLL_MS: '50',
        JOB_LOCK_MS: '3000',
        AI_TIMEOUT_MS: '2000',
        MEDIA_DOWNLOAD_TIMEOUT_MS: '2000',
        OUTBOX_SEND_TIMEOUT_MS: '2000',
        META_GRAPH_URL: 'http://127.0.0.1:9',
        ...extra,
      };
    }

    it('[AI1] SIGKILL during a pending debounce: after the restart exactly one reply, answering both messages', async () => {
      const e = await env({ AI_DEBOUNCE_MS: '1500' });
      server = await startChildServer(e);
      expect((await postMeta(server.url, metaTextPayload('wamid.CRASHDEB1', '96171000001', 'hello'))).status).toBe(200);
      expect((await postMeta(server.url, metaTextPayload('wamid.CRASHDEB2', '96171000001', 'price of botox?'))).status).toBe(200);
      await server.kill();
      server = null;
      expect(fake.chats).toEqual([]);

      server = await startChildServer(e);
      const { replies } = await waitFor(async () => {
        const r = await assistantMessages(db!.url);
        return r.replies.length > 0 && r;
      }, 'the reply after the restart');
      await sleep(1500);
      const after = await assistantMessages(db!.url);
      expect(after.replies).toHaveLength(1);
      expect(replies[0]!.meta.answers).toEqual(['wamid.CRASHDEB1', 'wamid.CRASHDEB2']);
      expect(fake.chats).toHaveLength(1);
      expect(after.jobs.filter((j) => j.kind === 'ai.reply').map((j) => j.status)).toEqual(['done', 'done']);
      expect(after.jobs.filter((j) => j.kind === 'outbox.send')).toHaveLength(1);
    }, 60_000);

    it('[AI1] SIGKILL during a generation: the job runs again after its claim lapses; exactly one reply', async () => {
      const e = await env({ AI_DEBOUNCE_MS: '0' });
      fake.push(
        { kind: 'hold', content: 'the first generation, cut by the kill' },
        { kind: 'text', content: 'the answer after the restart' },
      );
      server = await startChildServer(e);
      expect((await postMeta(server.url, metaTextPayload('wamid.CRASHGEN1', '96171000002', 'do you do laser?'))).status).toBe(200);
      await fake.waitHeld(1);
      await server.kill();
      server = null;
      fake.release();

      server = await startChildServer(e);
      await waitFor(async () => (await assistantMessages(db!.url)).replies.length > 0, 'the reply after the restart', 20_000);
      await sleep(1500);
      const after = await assistantMessages(db!.url);
      expect(after.replies.map((r) => r.text)).toEqual(['the answer after the restart']);
      expect(after.replies[0]!.meta.answers).toEqual(['wamid.CRASHGEN1']);
      expect(fake.chats).toHaveLength(2);
      expect(after.jobs.filter((j) => j.kind === 'outbox.send')).toHaveLength(1);
    }, 60_000);
  });
}
