import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/database.js';
import { loginAdmin, type ApiClient } from '../api/api-client.js';
import { graphError, MetaSendFake } from '../fakes/meta-send.fake.js';
import { TEST_SECRETS } from '../support/app.js';
import { startChildServer, type ChildServer } from '../support/child-server.js';
import { createPostgresDatabase, createSqliteDatabase, TEST_POSTGRES_URL, type TestDatabase } from '../support/databases.js';
import { storedMessage } from '../support/webhook-senders.js';
import { openConversation, operatorSends, waitFor } from './support.js';

/*
 * [OUT1] Exactly one send across crashes: the server runs as its own OS process and is SIGKILLed
 * with messages in the outbox — one in the middle of its provider call, two queued behind it
 * (not yet called), one between retries. After a restart each is sent exactly once, and the one
 * whose call was cut short is not sent again: it shows `send_unconfirmed` (OUTBOX_UNCONFIRMED=fail).
 * [OUT2] on two processes sharing PostgreSQL: one Idempotency-Key, ten repeats spread over both
 * processes → one message and one provider call.
 */

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const CHILD_ENV = {
  // Only the messages the test sends: no takeover notices [AI6] in the outbox.
  AI_NOTICES: 'none',
  JOB_POLL_MS: '50',
  // A killed process's claims lapse quickly, so the restarted one takes its jobs over.
  JOB_LOCK_MS: '5000',
  // Longer than the test takes to kill the process while the hanging call is open.
  OUTBOX_SEND_TIMEOUT_MS: '4000',
  OUTBOX_RETRY_BASE_MS: '100',
  OUTBOX_RETRY_MAX_MS: '300',
  OUTBOX_MAX_ATTEMPTS: '1000',
  MEDIA_DOWNLOAD_TIMEOUT_MS: '4000',
  AI_TIMEOUT_MS: '4000',
  MONTYMOBILE_API_URL: 'http://127.0.0.1:9',
  QISCUS_API_URL: 'http://127.0.0.1:9',
  LOG_LEVEL: 'silent',
};

async function setup(database: TestDatabase) {
  cleanups.push(() => database.destroy());
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-outbox-crash-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const meta = await MetaSendFake.start(TEST_SECRETS.META_ACCESS_TOKEN);
  cleanups.push(() => meta.close());
  const env = { ...CHILD_ENV, DATABASE_URL: database.url, DATA_DIR: dataDir, META_GRAPH_URL: meta.graphUrl };
  const store = await openStore(database.url, { migrate: false });
  cleanups.push(() => store.close());
  return { env, meta, store };
}

async function child(env: Record<string, string>): Promise<{ server: ChildServer; admin: ApiClient }> {
  const server = await startChildServer(env);
  cleanups.push(() => (server.process.exitCode === null && server.process.signalCode === null ? server.kill() : undefined));
  return { server, admin: await loginAdmin(server.url) };
}

const databases: { kind: string; create: () => Promise<TestDatabase> }[] = [{ kind: 'sqlite', create: createSqliteDatabase }];
if (TEST_POSTGRES_URL) databases.push({ kind: 'postgres', create: () => createPostgresDatabase() });

for (const database of databases) {
  describe(`outbox crash safety on ${database.kind}`, () => {
    it('[OUT1] SIGKILL during a call, before queued calls and between retries → after restart each is sent once; the cut call shows send_unconfirmed', async () => {
      const { env, meta, store } = await setup(await database.create());
      let { server, admin } = await child(env);
      const hanging = await openConversation(server.url, admin, '96175000001');
      const retrying = await openConversation(server.url, admin, '96175000002');

      meta.script('+96175000001', { hang: true });
      // Retry-After keeps each failed attempt 2 s from the next, so the kill lands between two calls, not in one.
      meta.script(
        '+96175000002',
        ...Array.from({ length: 500 }, () => ({ ...graphError(131000, 'Something went wrong', 500), headers: { 'retry-after': '2' } })),
      );
      const cut = await operatorSends(admin, hanging, 'cut short');
      const queued = [await operatorSends(admin, hanging, 'queued one'), await operatorSends(admin, hanging, 'queued two')];
      const retried = await operatorSends(admin, retrying, 'retried');

      await waitFor('the call in flight and two failed attempts, the second one recorded', async () => {
        const inFlight = meta.sends().some((r) => r.json!.text.body === 'cut short');
        const attempts = meta.sends().filter((r) => r.json!.text.body === 'retried').length;
        if (!inFlight || attempts < 2) return false;
        const row = await storedMessage(store.db, retried.message_id);
        return row.metadata.send_attempts >= 2 && row.metadata.send_open === false;
      });
      expect((await storedMessage(store.db, cut.message_id)).metadata.send_open).toBe(true);
      await server.kill();
      meta.clearScript('+96175000002');
      for (const m of queued) expect((await storedMessage(store.db, m.message_id)).status).toBe('pending');
      expect(meta.accepted).toHaveLength(0);

      ({ server, admin } = await child(env));
      const final = await waitFor(
        'every message settled',
        async () => {
          const rows = await Promise.all([cut, ...queued, retried].map((m) => storedMessage(store.db, m.message_id)));
          return rows.every((r) => r.status !== 'pending') ? rows : null;
        },
        30_000,
      );
      const [cutRow, q1, q2, retriedRow] = final;
      expect(cutRow!.status).toBe('failed');
      expect(cutRow!.error!.code).toBe('send_unconfirmed');
      expect([q1!.status, q2!.status, retriedRow!.status]).toEqual(['sent', 'sent', 'sent']);

      const bodies = meta.sends().map((r) => r.json!.text.body);
      expect(bodies.filter((b) => b === 'cut short')).toHaveLength(1);
      expect(bodies.filter((b) => b === 'queued one')).toHaveLength(1);
      expect(bodies.filter((b) => b === 'queued two')).toHaveLength(1);
      expect(meta.accepted.map((a) => a.json.text.body).sort()).toEqual(['queued one', 'queued two', 'retried']);
      // Order kept across the crash: the queued ones left after the cut one was settled, in seq order.
      expect(meta.accepted.map((a) => a.json.text.body).filter((b) => b.startsWith('queued'))).toEqual(['queued one', 'queued two']);

      // The dashboard shows the unconfirmed message with its code.
      const page = await admin.get(`/api/conversations/${hanging}/messages`);
      const shown = page.body.messages.find((m: any) => m.message_id === cut.message_id);
      expect(shown).toMatchObject({ status: 'failed', error: { code: 'send_unconfirmed' } });
      await server.stop();
    });

    it('[OUT1] OUTBOX_PREFETCH: a graceful stop hands the sends started ahead back (sent once after restart, none unconfirmed); a SIGKILL leaves them send_unconfirmed', async () => {
      const { env: base, meta, store } = await setup(await database.create());
      const env = { ...base, OUTBOX_CONCURRENCY: '1', OUTBOX_PREFETCH: '4' };
      let { server, admin } = await child(env);
      const slow = await openConversation(server.url, admin, '96175000011');
      const others = [await openConversation(server.url, admin, '96175000012'), await openConversation(server.url, admin, '96175000013')];

      // Graceful: the one slot is in a 1.5 s call; the two others are claimed ahead, markers written.
      meta.script('+96175000011', { delayMs: 1_500 });
      const first = await operatorSends(admin, slow, 'in the slot');
      const ahead = [await operatorSends(admin, others[0]!, 'ahead one'), await operatorSends(admin, others[1]!, 'ahead two')];
      await waitFor('both claimed ahead with their start marker', async () => {
        const rows = await Promise.all(ahead.map((m) => storedMessage(store.db, m.message_id)));
        return rows.every((r) => r.metadata.send_open === true);
      });
      expect(meta.sends().map((r) => r.json!.text.body)).toEqual(['in the slot']);
      expect(await server.stop()).toBe(0);
      for (const m of ahead) {
        const row = await storedMessage(store.db, m.message_id);
        expect(row.status).toBe('pending');
        expect(row.metadata.send_open).toBeUndefined();
        expect(row.metadata.send_attempts).toBeUndefined();
      }
      expect((await storedMessage(store.db, first.message_id)).status).toBe('sent');

      ({ server, admin } = await child(env));
      await waitFor(
        'the handed-back sends sent after the restart',
        async () => {
          const rows = await Promise.all(ahead.map((m) => storedMessage(store.db, m.message_id)));
          return rows.every((r) => r.status === 'sent');
        },
        30_000,
      );
      expect(
        meta
          .sends()
          .map((r) => r.json!.text.body)
          .sort(),
      ).toEqual(['ahead one', 'ahead two', 'in the slot']);

      // SIGKILL: what was claimed ahead counts as started, so it comes back send_unconfirmed (the
      // price of OUTBOX_PREFETCH, documented in the README), and nothing is sent twice.
      meta.script('+96175000011', { hang: true });
      const cut = await operatorSends(admin, slow, 'cut short');
      const killedAhead = [
        await operatorSends(admin, others[0]!, 'killed ahead one'),
        await operatorSends(admin, others[1]!, 'killed ahead two'),
      ];
      await waitFor('the call in flight and both claimed ahead', async () => {
        const rows = await Promise.all(killedAhead.map((m) => storedMessage(store.db, m.message_id)));
        return meta.sends().some((r) => r.json!.text.body === 'cut short') && rows.every((r) => r.metadata.send_open === true);
      });
      await server.kill();
      ({ server, admin } = await child(env));
      const final = await waitFor(
        'every message settled',
        async () => {
          const rows = await Promise.all([cut, ...killedAhead].map((m) => storedMessage(store.db, m.message_id)));
          return rows.every((r) => r.status !== 'pending') ? rows : null;
        },
        30_000,
      );
      expect(final.map((r) => r!.error?.code)).toEqual(['send_unconfirmed', 'send_unconfirmed', 'send_unconfirmed']);
      expect(meta.sends().filter((r) => r.json!.text.body.startsWith('killed ahead'))).toHaveLength(0);
      await server.stop();
    }, 90_000);
  });
}

describe.skipIf(!TEST_POSTGRES_URL)('[OUT2] two server processes on PostgreSQL', () => {
  it('[OUT2] ten repeats of one Idempotency-Key over two processes → one message, one provider call; every other message sent once', async () => {
    const { env, meta, store } = await setup(await createPostgresDatabase());
    const a = await child(env);
    const b = await child(env);
    const id = await openConversation(a.server.url, a.admin, '96175000003');
    const repeats = await Promise.all(
      Array.from({ length: 10 }, (_, i) => operatorSends((i % 2 ? b : a).admin, id, 'from two processes', 'key-two-processes')),
    );
    expect(new Set(repeats.map((m) => m.message_id)).size).toBe(1);

    // And messages written on both processes, each delivered once by whichever process claims it.
    const others = await openConversation(b.server.url, b.admin, '96175000004');
    const sent: any[] = [];
    for (let i = 0; i < 10; i++) sent.push(await operatorSends((i % 2 ? a : b).admin, others, `message ${i}`));
    await waitFor(
      'all sent',
      async () => {
        const rows = await Promise.all([repeats[0], ...sent].map((m) => storedMessage(store.db, m.message_id)));
        return rows.every((r) => r.status === 'sent');
      },
      20_000,
    );
    expect(meta.sends().filter((r) => r.json!.text.body === 'from two processes')).toHaveLength(1);
    const bodies = meta
      .sends()
      .filter((r) => r.json!.to === '+96175000004')
      .map((r) => r.json!.text.body);
    expect(bodies).toEqual(Array.from({ length: 10 }, (_, i) => `message ${i}`));
    const count = await store.db
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('conversation_id', '=', id)
      .where('role', '=', 'operator')
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(1);
    await a.server.stop();
    await b.server.stop();
  });
});
