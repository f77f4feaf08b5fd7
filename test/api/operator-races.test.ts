import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Running } from '../../src/main.js';
import { sharedDatabases, type TestDatabase } from '../support/databases.js';
import { metaTextPayload, postMeta, startTestServer } from '../support/app.js';
import { ApiClient, createOperator, loginAdmin, loginAs } from './api-client.js';

/*
 * §3 "one operator owns it; only they can send" under concurrency: two processes on one database,
 * operators acting at the same moment through both. On PostgreSQL several write batches run at
 * once (and one per process), so each state change must read the conversation locked; a plain read
 * let both operators' takeovers succeed (20 rounds out of 20) and let a reply be stored after its
 * sender's hand-back or an admin's forced takeover (about half the rounds).
 */
const REST_ONLY = { AI_DEBOUNCE_MS: '600000' };
const ROUNDS = 10;

describe.each(sharedDatabases())('operators racing on one conversation, two processes on $kind', (target) => {
  let db: TestDatabase;
  let first: Running;
  let second: Running;
  let admin: ApiClient;
  let adminOnSecond: ApiClient;
  let olga: ApiClient;
  let omarOnSecond: ApiClient;

  beforeAll(async () => {
    db = await target.create();
    first = await startTestServer({ ...REST_ONLY, DATABASE_URL: db.url });
    second = await startTestServer({ ...REST_ONLY, DATABASE_URL: db.url });
    admin = await loginAdmin(first.url);
    adminOnSecond = await loginAdmin(second.url);
    olga = (await createOperator(admin, 'olga@example.test', 'Olga')).client;
    const omar = await createOperator(admin, 'omar@example.test', 'Omar');
    omarOnSecond = await loginAs(second.url, 'omar@example.test', omar.password);
  }, 60_000);
  afterAll(async () => {
    await first?.close();
    await second?.close();
    await db?.destroy();
  });

  async function ingest(wamid: string, from: string): Promise<string> {
    expect((await postMeta(first.url, metaTextPayload(wamid, from))).status).toBe(200);
    const list = await admin.get(`/api/conversations?q=${from}`);
    return list.body.conversations[0].conversation_id as string;
  }

  it('[§3][§7 takeover] two operators taking over at once: one owns it, the other gets owned_by_other, one notice', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const id = await ingest(`wamid.race.take.${round}`, `9617350${String(round).padStart(4, '0')}`);
      const answers = await Promise.all([
        olga.post(`/api/conversations/${id}/takeover`),
        omarOnSecond.post(`/api/conversations/${id}/takeover`),
      ]);
      const won = answers.filter((a) => a.status === 200);
      const lost = answers.filter((a) => a.status !== 200);
      expect(won, `round ${round}`).toHaveLength(1);
      expect(lost[0]!.status).toBe(409);
      expect(lost[0]!.body.error.code).toBe('owned_by_other');
      const details = (await admin.get(`/api/conversations/${id}`)).body;
      expect(details.operator.name).toBe(won[0]!.body.operator.name);
      const joined = details.messages.filter((m: any) => m.metadata.notice === 'operator_joined');
      expect(joined).toHaveLength(1);
      expect(joined[0].text).toContain(won[0]!.body.operator.name);
    }
  }, 60_000);

  it("[§3][AI3] a reply racing its sender's hand-back or an admin's forced takeover is refused or stored before it, never after", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const id = await ingest(`wamid.race.send.${round}`, `9617360${String(round).padStart(4, '0')}`);
      expect((await olga.post(`/api/conversations/${id}/takeover`)).status).toBe(200);
      const forced = round % 2 === 0;
      const [sent, change] = await Promise.all([
        olga.post(`/api/conversations/${id}/messages`, { text: `reply ${round}` }),
        forced ? adminOnSecond.post(`/api/conversations/${id}/takeover`, { force: true }) : olga.post(`/api/conversations/${id}/release`),
      ]);
      expect(change.status).toBe(200);
      const messages = (await admin.get(`/api/conversations/${id}`)).body.messages as any[];
      const reply = messages.find((m) => m.role === 'operator');
      // The change's first message: the admin's "joined" notice, or the release's event marker.
      const changedAt = forced
        ? messages.find((m) => m.metadata.notice === 'operator_joined' && m.text.includes('Administrator')).seq
        : messages.find((m) => m.type === 'event' && m.metadata.event === 'released').seq;
      if (sent.status === 201) {
        expect(reply.seq, `round ${round}`).toBeLessThan(changedAt);
      } else {
        expect(sent.status).toBe(403);
        expect(sent.body.error.code).toBe('not_owner');
        expect(reply).toBeUndefined();
      }
    }
  }, 60_000);
});
