import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateMessageId } from '../../src/chat/message-id.js';
import type { Provider } from '../../src/chat/types.js';
import { appendMessage } from '../../src/store/message.store.js';
import { metaTextPayload } from '../support/app.js';
import {
  eventRows,
  fixtureText,
  metaStatusPayload,
  montyStatusPayload,
  montyTextPayload,
  qiscusTextPayload,
  sendWebhook,
  storedMessage,
  type StoredMessage,
} from '../support/webhook-senders.js';
import { startWebhookServer, webhookDatabases, type WebhookServer } from './harness.js';

/*
 * [ST1] Status webhooks for OUR outbound messages arrive late, twice and out of order. Status only
 * moves forward (pending < sent < delivered < read); failed applies only before delivery and is
 * overtaken by a later delivered/read; a late sent changes nothing (src/chat/message-status.ts).
 * One message_updated event per real change, none for a no-op.
 */

const ERROR_131047 = {
  code: 131047,
  title: 'Re-engagement message',
  message: 'Re-engagement message',
  error_data: { details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.' },
};

type Status = 'sent' | 'delivered' | 'read' | 'failed' | 'played';

for (const database of webhookDatabases()) {
  describe(`[ST1] status webhooks on ${database.kind}`, () => {
    let server: WebhookServer;
    beforeEach(async () => {
      server = await startWebhookServer(database);
    });
    afterEach(async () => {
      await server.destroy();
    });

    /** A customer conversation (opened by an inbound webhook) and our reply in it, sent as `providerId`. */
    async function outboundMessage(provider: Provider, providerId: string, role: 'assistant' | 'operator' = 'assistant'): Promise<string> {
      const opener =
        provider === 'meta'
          ? metaTextPayload(`wamid.IN.${providerId}`)
          : provider === 'montymobile'
            ? montyTextPayload(`wamid.IN.${providerId}`, 'hello')
            : qiscusTextPayload(`wa_wamid.IN.${providerId}`, 'halo');
      expect((await sendWebhook(server.url, provider, opener)).status).toBe(200);
      const inbound = await server.db
        .selectFrom('messages')
        .select('conversation_id')
        .where('message_id', 'like', '%wamid.IN.%')
        .orderBy('id', 'desc')
        .executeTakeFirstOrThrow();
      const messageId = generateMessageId();
      await server.running.ctx.committer.run((tx) =>
        appendMessage(tx.db, inbound.conversation_id, {
          message_id: messageId,
          role,
          type: 'text',
          text: 'our reply',
          media: null,
          status: 'pending',
          error: null,
          operator_id: null,
          operator_name: null,
          reply_to: null,
          timestamp: new Date().toISOString(),
          metadata: JSON.stringify({ message_id: messageId, provider_message_id: providerId }),
          provider_message_id: providerId,
          client_key: null,
        }),
      );
      return messageId;
    }

    /**
     * Posts the statuses one webhook each, in order. After each: if the message's status changed,
     * exactly one new message_updated event carrying the whole message; if not, none and no change.
     */
    async function post(
      provider: Provider,
      messageId: string,
      providerId: string,
      statuses: Status[],
    ): Promise<{ final: StoredMessage; changes: number }> {
      let changes = 0;
      for (const status of statuses) {
        const before = await storedMessage(server.db, messageId);
        const eventsBefore = await eventRows(server.db, 'message_updated', messageId);
        const errors = status === 'failed' ? [ERROR_131047] : undefined;
        const payload =
          provider === 'meta' ? metaStatusPayload(providerId, status, { errors }) : montyStatusPayload(providerId, status, { errors });
        const answer = await sendWebhook(server.url, provider, payload);
        expect(answer.status, answer.text).toBe(200);
        const after = await storedMessage(server.db, messageId);
        const fresh = (await eventRows(server.db, 'message_updated', messageId)).slice(eventsBefore.length);
        if (after.status === before.status) {
          expect(fresh, `${status} after ${before.status} is a no-op`).toEqual([]);
          expect(after).toEqual(before);
          expect(answer.body.statusesApplied).toBe(0);
        } else {
          changes++;
          expect(fresh).toHaveLength(1);
          expect(fresh[0]!.conversation_id).toBe(after.conversation_id);
          expect(fresh[0]!.payload).toMatchObject({
            message_id: messageId,
            status: after.status,
            seq: after.seq,
            role: after.role,
            error: after.error,
          });
          expect(answer.body.statusesApplied).toBe(1);
        }
      }
      return { final: await storedMessage(server.db, messageId), changes };
    }

    // [statuses in arrival order, final status, real changes]
    const SEQUENCES: [Status[], string, number][] = [
      [['sent', 'delivered', 'read'], 'read', 3],
      [['read', 'delivered'], 'read', 1],
      [['read', 'sent'], 'read', 1],
      [['read', 'failed'], 'read', 1],
      [['delivered', 'failed'], 'delivered', 1],
      [['failed', 'delivered'], 'delivered', 2],
      [['failed', 'read', 'delivered'], 'read', 2],
      [['failed', 'sent'], 'failed', 1],
      [['sent', 'failed', 'sent'], 'failed', 2],
      [['delivered', 'delivered', 'sent', 'delivered'], 'delivered', 1],
      [['played'], 'read', 1],
      [['delivered', 'played', 'read'], 'read', 2],
    ];

    for (const [statuses, final, changes] of SEQUENCES) {
      it(`[ST1] Meta ${statuses.join(' → ')} ends ${final} with ${changes} message_updated event(s)`, async () => {
        const messageId = await outboundMessage('meta', 'wamid.OUT1');
        const result = await post('meta', messageId, 'wamid.OUT1', statuses);
        expect(result.final.status).toBe(final);
        expect(result.changes).toBe(changes);
        expect(await eventRows(server.db, 'message_updated', messageId)).toHaveLength(changes);
      });
    }

    it('[ST1] failed stores the provider error; a later delivery clears it (the customer has the message)', async () => {
      const messageId = await outboundMessage('meta', 'wamid.OUT1', 'operator');
      const failed = await post('meta', messageId, 'wamid.OUT1', ['failed']);
      expect(failed.final).toMatchObject({ status: 'failed', error: { code: '131047', title: 'Re-engagement message' } });
      const delivered = await post('meta', messageId, 'wamid.OUT1', ['delivered']);
      expect(delivered.final).toMatchObject({ status: 'delivered', error: null });
    });

    it('[ST1] the failed fixture: code and title of the real error', async () => {
      const messageId = await outboundMessage('meta', 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0QUQ2MjA4NEYyRkExNjMyREUA');
      expect((await sendWebhook(server.url, 'meta', fixtureText('meta', 'status-failed'))).body).toMatchObject({ statusesApplied: 1 });
      expect(await storedMessage(server.db, messageId)).toMatchObject({
        status: 'failed',
        error: { code: '131049', title: 'This message was not delivered to maintain healthy ecosystem engagement.' },
      });
    });

    it('[ST1] sent, delivered and read in ONE webhook: three changes, three events, in order', async () => {
      const messageId = await outboundMessage('meta', 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJPVVRCT1VORDAwMDAwMQA=');
      const answer = await sendWebhook(server.url, 'meta', fixtureText('meta', 'statuses-all'));
      expect(answer.status).toBe(200);
      expect(answer.body.statusesApplied).toBe(3);
      expect((await eventRows(server.db, 'message_updated', messageId)).map((e) => e.payload.status)).toEqual([
        'sent',
        'delivered',
        'read',
      ]);
      expect(await storedMessage(server.db, messageId)).toMatchObject({ status: 'read' });
    });

    it('[ST1] all orders of sent, delivered, read and failed end in read, each change announced once', async () => {
      const all: Status[] = ['sent', 'delivered', 'read', 'failed'];
      const orders = permutations(all);
      expect(orders).toHaveLength(24);
      for (const [i, order] of orders.entries()) {
        const providerId = `wamid.PERM.${i}`;
        const messageId = await outboundMessage('meta', providerId);
        const { final, changes } = await post('meta', messageId, providerId, order);
        expect(final.status, order.join(',')).toBe('read');
        expect(await eventRows(server.db, 'message_updated', messageId)).toHaveLength(changes);
      }
    });

    it('statuses for unknown ids, and for inbound messages, change nothing', async () => {
      const messageId = await outboundMessage('meta', 'wamid.OUT1');
      const inboundId = 'wamid.IN.wamid.OUT1';
      for (const id of ['wamid.UNKNOWN', inboundId, messageId]) {
        const answer = await sendWebhook(server.url, 'meta', metaStatusPayload(id, 'read'));
        expect(answer.body).toMatchObject({ statusesApplied: 0 });
      }
      expect(await storedMessage(server.db, inboundId)).toMatchObject({ status: 'received' });
      expect(await storedMessage(server.db, messageId)).toMatchObject({ status: 'pending' });
      expect(await eventRows(server.db, 'message_updated')).toEqual([]);
    });

    it('[ST1] statuses of one message posted concurrently, many copies each: ends read, no event without a change', async () => {
      const messageId = await outboundMessage('meta', 'wamid.OUT1');
      const bodies = (['sent', 'delivered', 'read', 'failed'] as Status[]).flatMap((s) =>
        Array(5).fill(JSON.stringify(metaStatusPayload('wamid.OUT1', s))),
      );
      const answers = await Promise.all(bodies.map((body) => sendWebhook(server.url, 'meta', body)));
      expect(answers.every((a) => a.status === 200)).toBe(true);
      const events = await eventRows(server.db, 'message_updated', messageId);
      const applied = answers.reduce((n, a) => n + a.body.statusesApplied, 0);
      expect(events).toHaveLength(applied);
      expect(events.length).toBeGreaterThanOrEqual(1);
      expect(events.length).toBeLessThanOrEqual(4);
      expect(events.at(-1)!.payload.status).toBe('read');
      expect(await storedMessage(server.db, messageId)).toMatchObject({ status: 'read' });
    });

    describe('MontyMobile status payloads', () => {
      it('[ST1] the delivered fixture moves our message to delivered', async () => {
        const messageId = await outboundMessage('montymobile', 'wamid.HBgLOTYxNzY0NjY2NzQVAgARGBIxQUE0NzM1RkE1MTVBMzFFRkMA');
        expect((await sendWebhook(server.url, 'montymobile', fixtureText('montymobile', 'status-delivered'))).body).toMatchObject({
          statusesApplied: 1,
        });
        expect(await storedMessage(server.db, messageId)).toMatchObject({ status: 'delivered' });
        expect(await eventRows(server.db, 'message_updated', messageId)).toHaveLength(1);
      });

      it('[ST1] the failed fixture stores 131047', async () => {
        const messageId = await outboundMessage('montymobile', 'wamid.HBgLOTYxNzY0NjY2NzQVAgARGBIyQkI0NzM1RkE1MTVBMzFFRkMA');
        await sendWebhook(server.url, 'montymobile', fixtureText('montymobile', 'status-failed'));
        expect(await storedMessage(server.db, messageId)).toMatchObject({
          status: 'failed',
          error: { code: '131047', title: 'Re-engagement message' },
        });
      });

      for (const [statuses, final, changes] of [
        [['read', 'delivered', 'sent'], 'read', 1],
        [['failed', 'sent', 'delivered'], 'delivered', 2],
        [['delivered', 'failed', 'read'], 'read', 2],
      ] as [Status[], string, number][]) {
        it(`[ST1] MontyMobile ${statuses.join(' → ')} ends ${final}`, async () => {
          const messageId = await outboundMessage('montymobile', 'wamid.MONTY.OUT');
          const result = await post('montymobile', messageId, 'wamid.MONTY.OUT', statuses);
          expect(result).toMatchObject({ final: { status: final }, changes });
        });
      }
    });

    it('[ST1] a Qiscus WhatsApp-forward status is applied too', async () => {
      const messageId = await outboundMessage('qiscus', 'wamid.HBgMNjI4MTU3OTA5MDgwFQIAERgSMDBBQkNERUYwMTIzNDU2Nzg5AA==');
      expect((await sendWebhook(server.url, 'qiscus', fixtureText('qiscus', 'wa-forward-status'))).body).toMatchObject({
        statusesApplied: 1,
      });
      expect(await storedMessage(server.db, messageId)).toMatchObject({ status: 'read' });
    });
  });
}

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}
