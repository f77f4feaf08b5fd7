import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GENERATED_ID_PATTERN } from '../../src/chat/message-id.js';
import { openStore } from '../../src/store/database.js';
import { appendMessage } from '../../src/store/message.store.js';
import { postMeta, metaTextPayload } from '../support/app.js';
import { startChildServer, type ChildServer } from '../support/child-server.js';
import { sampleMessage } from '../support/store-fixtures.js';
import { generateMessageId } from '../../src/chat/message-id.js';

describe('server process lifecycle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-restart-'));
  const env = { DATA_DIR: dir, DATABASE_URL: `sqlite:${join(dir, 'sb.db')}` };
  let server: ChildServer | null = null;
  afterAll(async () => {
    await server?.kill();
  });

  it('[ID7] ids written by one server process read back unchanged after SIGKILL and restart', async () => {
    server = await startChildServer(env);
    const inbound = Array.from({ length: 20 }, (_, i) => `wamid.ID7.${i}`);
    for (const id of inbound) expect((await postMeta(server.url, metaTextPayload(id))).status).toBe(200);
    // Generated ids too: written by another process on the same database while the server runs.
    const store = await openStore(env.DATABASE_URL, { migrate: false });
    const conv = (await store.db.selectFrom('conversations').select('id').executeTakeFirstOrThrow()).id;
    const generated: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await store.db
        .transaction()
        .execute((t) => appendMessage(t, conv, sampleMessage(generateMessageId(), { role: 'assistant' })));
      generated.push(r.row.message_id);
    }
    await store.close();
    const before = await readIds(env.DATABASE_URL);

    await server.kill();
    server = await startChildServer(env);
    const after = await readIds(env.DATABASE_URL);
    expect(after).toEqual(before);
    expect(after.map((r) => r.message_id)).toEqual([...inbound, ...generated]);
    for (const id of generated) expect(id).toMatch(GENERATED_ID_PATTERN);
    // The restarted server still treats a redelivery as the same message [ID5].
    expect((await postMeta(server.url, metaTextPayload(inbound[0]!))).status).toBe(200);
    expect(await readIds(env.DATABASE_URL)).toEqual(before);
  });

  it('SIGTERM shuts down gracefully with exit code 0', async () => {
    server ??= await startChildServer(env);
    const code = await server.stop();
    server = null;
    expect(code).toBe(0);
  });

  it('an invalid configuration value stops the start with a message naming it', async () => {
    await expect(startChildServer({ ...env, PORT: 'not-a-port' }, 1)).rejects.toThrow(/PORT="not-a-port"/);
  });
});

async function readIds(url: string) {
  const store = await openStore(url, { migrate: false });
  try {
    return await store.db.selectFrom('messages').select(['message_id', 'seq', 'metadata']).orderBy('seq').execute();
  } finally {
    await store.close();
  }
}
