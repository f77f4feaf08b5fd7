import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Provider } from '../../src/chat/types.js';
import type { Running } from '../../src/main.js';
import { metaTextPayload, startTestServer } from '../support/app.js';
import {
  eventRows,
  fixtureText,
  jobRows,
  messagesWithId,
  metaEnvelope,
  META_BUSINESS,
  montyTextPayload,
  qiscusTextPayload,
  sendWebhook,
} from '../support/webhook-senders.js';
import {
  expectIngested,
  journalRows,
  parkBackgroundJobs,
  startWebhookServer,
  WEBHOOK_TEST_ENV,
  webhookDatabases,
  type WebhookServer,
} from './harness.js';

/*
 * [ID5] A provider message is stored once, whatever the number, timing and process of its
 * deliveries: the same webhook posted 20 times at once, and again after a restart, leaves one
 * message, one AI job, one new_message event; and every delivery is acknowledged with 200.
 */

const COPIES = 20;

const CASES: { provider: Provider; name: string; body: () => string; id: string }[] = [
  { provider: 'meta', name: 'a Meta text', body: () => JSON.stringify(metaTextPayload('wamid.SAME.TEXT')), id: 'wamid.SAME.TEXT' },
  {
    provider: 'meta',
    name: 'a Meta photo',
    body: () => fixtureText('meta', 'image'),
    id: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=',
  },
  {
    provider: 'montymobile',
    name: 'a MontyMobile text',
    body: () => JSON.stringify(montyTextPayload('wamid.SAME.MONTY', 'hi')),
    id: 'wamid.SAME.MONTY',
  },
  {
    provider: 'qiscus',
    name: 'a Qiscus text',
    body: () => JSON.stringify(qiscusTextPayload('wa_wamid.SAME.QISCUS', 'halo')),
    id: 'wa_wamid.SAME.QISCUS',
  },
];

/** Posts the same bytes `copies` times at once; every answer must be 200. */
async function postConcurrently(urls: string[], provider: Provider, body: string, copies = COPIES) {
  const answers = await Promise.all(Array.from({ length: copies }, (_, i) => sendWebhook(urls[i % urls.length]!, provider, body)));
  expect(answers.map((a) => a.status)).toEqual(Array(copies).fill(200));
  return answers;
}

for (const database of webhookDatabases()) {
  describe(`[ID5] redeliveries on ${database.kind}`, () => {
    let server: WebhookServer;
    beforeEach(async () => {
      server = await startWebhookServer(database);
    });
    afterEach(async () => {
      await server.destroy();
    });

    async function expectExactlyOnce(provider: Provider, id: string) {
      const m = await expectIngested(server.db, id, provider);
      expect(await messagesWithId(server.db, id)).toHaveLength(1);
      expect((await jobRows(server.db, 'ai.reply')).filter((j) => j.payload.message_id === id)).toHaveLength(1);
      expect(await eventRows(server.db, 'new_message', id)).toHaveLength(1);
      expect((await eventRows(server.db, 'conversation_updated')).filter((e) => e.payload.last_message?.message_id === id)).toHaveLength(1);
      if (m.media) {
        expect(await server.db.selectFrom('media').select('media_id').execute()).toEqual([{ media_id: m.media.media_id }]);
        expect(await jobRows(server.db, 'media.download')).toHaveLength(1);
      }
      return m;
    }

    for (const c of CASES) {
      it(`[ID5][IN1] ${c.name} posted ${COPIES} times at once, then ${COPIES} times again after a restart: one message, one AI job, one event`, async () => {
        const body = c.body();
        const first = await postConcurrently([server.url], c.provider, body);
        expect(first.filter((a) => a.body.created === 1)).toHaveLength(1);
        expect(first.filter((a) => a.body.duplicates === 1)).toHaveLength(COPIES - 1);
        const stored = await expectExactlyOnce(c.provider, c.id);
        // Every accepted POST is journaled, duplicates too [IN1].
        expect(await journalRows(server.db)).toHaveLength(COPIES);

        await server.restart();
        const again = await postConcurrently([server.url], c.provider, body);
        expect(again.every((a) => a.body.created === 0 && a.body.duplicates === 1)).toBe(true);
        expect(await expectExactlyOnce(c.provider, c.id)).toEqual(stored);
        expect(await journalRows(server.db)).toHaveLength(2 * COPIES);
      });
    }

    it('[ID5] a MontyMobile message without id, posted 20 times at once: one message under its content-hash id', async () => {
      const body = JSON.stringify(montyTextPayload(null, 'no id here', '96170123456', 1766245200));
      await postConcurrently([server.url], 'montymobile', body);
      const rows = await server.db.selectFrom('messages').select('message_id').execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]!.message_id).toMatch(/^mm_[0-9a-f]{32}$/);
      await expectExactlyOnce('montymobile', rows[0]!.message_id);
    });

    it('[ID5] a redelivered batch that gained a message: the old one is a no-op, the new one is stored after it', async () => {
      const message = (id: string) => ({ from: '16505551234', id, timestamp: '1749420000', type: 'text', text: { body: id } });
      const contacts = [{ profile: { name: 'Sheena Nelson' }, wa_id: '16505551234' }];
      expect(
        (await sendWebhook(server.url, 'meta', metaEnvelope([{ metadata: META_BUSINESS, contacts, messages: [message('wamid.OLD')] }])))
          .body,
      ).toMatchObject({ created: 1, duplicates: 0 });
      const answer = await sendWebhook(
        server.url,
        'meta',
        metaEnvelope([{ metadata: META_BUSINESS, contacts, messages: [message('wamid.OLD'), message('wamid.NEW')] }]),
      );
      expect(answer.body).toMatchObject({ created: 1, duplicates: 1 });
      expect((await expectExactlyOnce('meta', 'wamid.OLD')).seq).toBe(1);
      expect((await expectIngested(server.db, 'wamid.NEW', 'meta')).seq).toBe(2);
      const conversation = await server.db.selectFrom('conversations').select(['last_seq', 'unread_count']).executeTakeFirstOrThrow();
      expect(conversation).toEqual({ last_seq: 2, unread_count: 2 });
    });

    it('[ID5] the same webhook delivered to two server processes on one database at the same instant: stored once', async () => {
      const second: Running = await parkBackgroundJobs(
        await startTestServer({
          ...WEBHOOK_TEST_ENV,
          DATA_DIR: server.running.ctx.config.dataDir,
          DATABASE_URL: server.running.ctx.config.databaseUrl,
        }),
      );
      try {
        for (const c of CASES) {
          await postConcurrently([server.url, second.url], c.provider, c.body());
          await expectExactlyOnce(c.provider, c.id);
        }
        // The Meta text and photo share a conversation: seq 1 and 2, no gap left by the losing copies.
        const rows = await server.db.selectFrom('messages').select(['conversation_id', 'seq']).execute();
        const seqs = new Map<string, number[]>();
        for (const row of rows) seqs.set(row.conversation_id, [...(seqs.get(row.conversation_id) ?? []), row.seq]);
        expect([...seqs.values()].map((list) => list.sort((a, b) => a - b)).sort((a, b) => b.length - a.length)).toEqual([
          [1, 2],
          [1],
          [1],
        ]);
      } finally {
        await second.close();
      }
    });
  });
}
