import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Provider } from '../../src/chat/types.js';
import { openStore } from '../../src/store/database.js';
import { metaTextPayload } from '../support/app.js';
import { startChildServer, type ChildServer } from '../support/child-server.js';
import { createPostgresDatabase, createSqliteDatabase, TEST_POSTGRES_URL, type TestDatabase } from '../support/databases.js';
import { montyTextPayload, qiscusTextPayload, sendWebhook } from '../support/webhook-senders.js';
import { WEBHOOK_TEST_ENV } from './harness.js';

/*
 * [IN1][ID5] Crash safety: the server runs as its own OS process; a stream of signed webhooks from
 * 20 concurrent senders is cut by SIGKILL mid-stream; the restarted server gets every webhook that
 * was not answered 200 again (as providers retry), plus a sample of answered ones (as providers may).
 * Every acknowledged message survived the kill; in the end every message is present exactly once,
 * with one AI job and one new_message event, and seq is gap-free in every conversation.
 */

const MESSAGES = 1_500;
const SENDERS = 20;
const KILL_AFTER_ACKS = 500;
const CONTACTS = 40;
const RESENT_ACKED_SAMPLE = 150;
const REQUEST_TIMEOUT_MS = 10_000;

interface Delivery {
  provider: Provider;
  id: string;
  body: string;
}

/** Message i, round-robin over the three providers and CONTACTS customers each. */
function delivery(i: number): Delivery {
  const contact = String(96170000000 + (i % CONTACTS));
  switch (i % 3) {
    case 0:
      return {
        provider: 'meta',
        id: `wamid.CRASH.${i}`,
        body: JSON.stringify(metaTextPayload(`wamid.CRASH.${i}`, contact, `message ${i}`)),
      };
    case 1:
      return {
        provider: 'montymobile',
        id: `wamid.CRASH.${i}`,
        body: JSON.stringify(montyTextPayload(`wamid.CRASH.${i}`, `message ${i}`, contact)),
      };
    default:
      return {
        provider: 'qiscus',
        id: `wa_wamid.CRASH.${i}`,
        body: JSON.stringify(qiscusTextPayload(`wa_wamid.CRASH.${i}`, `message ${i}`, { email: contact, roomId: `room-${contact}` })),
      };
  }
}

/**
 * Delivers the list with `SENDERS` concurrent senders until the list or the time runs out.
 * `afterAck` runs after each 200. Returns what was acknowledged and what was not (error or non-200).
 */
async function deliver(url: () => string, list: Delivery[], deadline: number, afterAck: (acked: number) => void = () => {}) {
  const acked: Delivery[] = [];
  const unacked: Delivery[] = [];
  let next = 0;
  const sender = async () => {
    while (next < list.length && Date.now() < deadline) {
      const d = list[next++]!;
      try {
        const answer = await sendWebhook(url(), d.provider, d.body, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        if (answer.status === 200) {
          acked.push(d);
          afterAck(acked.length);
        } else {
          unacked.push(d);
        }
      } catch {
        unacked.push(d);
      }
    }
  };
  await Promise.all(Array.from({ length: SENDERS }, sender));
  unacked.push(...list.slice(next));
  return { acked, unacked };
}

/** Reads back every stored user message id, seqs per conversation, AI jobs and new_message events. */
async function readBack(url: string) {
  const store = await openStore(url, { migrate: false });
  try {
    const messages = await store.db
      .selectFrom('messages')
      .select(['message_id', 'conversation_id', 'seq'])
      .where('role', '=', 'user')
      .execute();
    const conversations = await store.db.selectFrom('conversations').select(['id', 'last_seq']).execute();
    const aiJobs = await store.db.selectFrom('jobs').select('payload').where('kind', '=', 'ai.reply').execute();
    const events = await store.db.selectFrom('events').select('payload').where('type', '=', 'new_message').execute();
    return {
      messages,
      conversations,
      aiJobIds: aiJobs.map((j) => JSON.parse(j.payload).message_id as string),
      eventIds: events.map((e) => JSON.parse(e.payload).message_id as string),
    };
  } finally {
    await store.close();
  }
}

function sample<T>(items: T[], n: number): T[] {
  const step = Math.max(1, Math.floor(items.length / n));
  return items.filter((_, i) => i % step === 0).slice(0, n);
}

const DATABASES: { kind: string; create: () => Promise<TestDatabase>; env?: Record<string, string> }[] = [
  { kind: 'sqlite', create: createSqliteDatabase },
  // The WAL fsynced on the thread pool instead of inside COMMIT: the same guarantee.
  { kind: 'sqlite with SQLITE_SYNC=offloaded', create: createSqliteDatabase, env: { SQLITE_SYNC: 'offloaded' } },
  ...(TEST_POSTGRES_URL ? [{ kind: 'postgres', create: () => createPostgresDatabase() }] : []),
];

for (const database of DATABASES) {
  describe(`crash safety on ${database.kind}`, () => {
    let server: ChildServer | null = null;
    let db: TestDatabase | null = null;
    let dataDir: string | null = null;
    afterEach(async () => {
      await server?.kill();
      await db?.destroy();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    it(`[IN1][ID5] ${MESSAGES} webhooks from ${SENDERS} senders, SIGKILL after ${KILL_AFTER_ACKS} acknowledged, restart, re-send: every message once, none lost`, async () => {
      const deadline = Date.now() + 150_000;
      db = await database.create();
      dataDir = mkdtempSync(join(tmpdir(), 'sb-crash-'));
      const env = { ...WEBHOOK_TEST_ENV, ...database.env, DATA_DIR: dataDir, DATABASE_URL: db.url };
      const all = Array.from({ length: MESSAGES }, (_, i) => delivery(i));

      // Phase 1: the stream, cut by SIGKILL once enough webhooks were acknowledged.
      const first = await startChildServer(env);
      server = first;
      let killing: Promise<void> | null = null;
      const phase1 = await deliver(
        () => first.url,
        all,
        deadline,
        (acked) => {
          if (acked >= KILL_AFTER_ACKS && !killing) killing = first.kill();
        },
      );
      expect(killing, 'the server was killed mid-stream').not.toBeNull();
      await killing;
      server = null;
      expect(phase1.acked.length).toBeGreaterThanOrEqual(KILL_AFTER_ACKS);
      expect(phase1.unacked.length, 'webhooks were cut off by the kill').toBeGreaterThan(0);
      expect(phase1.acked.length + phase1.unacked.length).toBe(MESSAGES);

      // Phase 2: restart on the same database. Everything acknowledged before the kill is there.
      const second = await startChildServer(env);
      server = second;
      const afterCrash = await readBack(db.url);
      const storedAfterCrash = new Set(afterCrash.messages.map((m) => m.message_id));
      const lost = phase1.acked.filter((d) => !storedAfterCrash.has(d.id));
      expect(
        lost.map((d) => d.id),
        'acknowledged but lost',
      ).toEqual([]);

      // Re-send what got no 200, and a sample of what did; retry (bounded) until every answer is 200.
      let pending = [...phase1.unacked, ...sample(phase1.acked, RESENT_ACKED_SAMPLE)];
      for (let round = 0; round < 5 && pending.length > 0 && Date.now() < deadline; round++) {
        pending = (await deliver(() => second.url, pending, deadline)).unacked;
      }
      expect(
        pending.map((d) => d.id),
        'still not acknowledged after the restart',
      ).toEqual([]);

      // Phase 3: a graceful stop, then the whole database is read back.
      expect(await second.stop()).toBe(0);
      server = null;
      const final = await readBack(db.url);
      const ids = final.messages.map((m) => m.message_id);
      expect(ids).toHaveLength(MESSAGES);
      expect(new Set(ids)).toEqual(new Set(all.map((d) => d.id)));
      expect([...final.aiJobIds].sort()).toEqual([...ids].sort());
      expect([...final.eventIds].sort()).toEqual([...ids].sort());

      const seqs = new Map<string, number[]>();
      for (const m of final.messages) seqs.set(m.conversation_id, [...(seqs.get(m.conversation_id) ?? []), m.seq]);
      expect(seqs.size).toBe(3 * CONTACTS);
      for (const conversation of final.conversations) {
        const list = (seqs.get(conversation.id) ?? []).sort((a, b) => a - b);
        expect(list, `seq of ${conversation.id}`).toEqual(Array.from({ length: list.length }, (_, i) => i + 1));
        expect(conversation.last_seq).toBe(list.length);
      }
    }, 180_000);
  });
}
