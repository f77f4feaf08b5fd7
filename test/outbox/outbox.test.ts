import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { updateConversation } from '../../src/store/conversation.store.js';
import { graphError, type ScriptedAnswer } from '../fakes/meta-send.fake.js';
import { sharedDatabases } from '../support/databases.js';
import { metaStatusPayload, sendWebhook, storedMessage } from '../support/webhook-senders.js';
import { openConversation, operatorSends, settled, startOutboxServer, updates, waitFor, type OutboxServer } from './support.js';

/*
 * [OUT1] The sender delivers the outbox to Meta's Graph API (a real local fake): retries on
 * refused connections, 5xx and rate limits, fails for good on permanent errors with the
 * provider's code and title, keeps one conversation's messages in seq order without holding up
 * the others, checks the 24 h window again before each attempt, and sends one message once.
 */

for (const database of sharedDatabases()) {
  describe(`outbox on ${database.kind}`, () => {
    let server: OutboxServer;
    beforeEach(async () => {
      server = await startOutboxServer(database);
    });
    afterEach(async () => {
      await server.destroy();
    });

    const sendsTo = (to: string) => server.meta.sends().filter((r) => r.json!.to === to);

    it('[OUT1] down, then 500, then 130429, then up → delivered once, pending → sent; statuses move it to delivered and read, out of order included [ST1][ID9]', async () => {
      const id = await openConversation(server.url, server.admin, '96171000001');
      await server.meta.down();
      const message = await operatorSends(server.admin, id, 'Hello after the outage');
      expect(message.status).toBe('pending');
      // The refused connection is recorded as a finished attempt; then the provider comes back failing.
      await waitFor(
        'a refused attempt',
        async () => (await storedMessage(server.running.ctx.store.db, message.message_id)).metadata.send_attempts >= 1,
      );
      const waiting = await (await fetch(`${server.url}/metrics`)).text();
      expect(waiting).toMatch(/switchboard_outbox_depth 1\n/);
      expect(Number(/switchboard_outbox_oldest_pending_seconds ([\d.e-]+)/.exec(waiting)![1])).toBeGreaterThan(0);
      server.meta.script(
        '+96171000001',
        { status: 500, body: { error: { message: 'An unknown error has occurred.', type: 'OAuthException', code: 1 } } },
        graphError(130429, 'Rate limit hit', 429, 'Cloud API message throughput has been reached.'),
      );
      await server.meta.up();
      const sent = await settled(server, message.message_id);

      expect(sent.status).toBe('sent');
      expect(sendsTo('+96171000001')).toHaveLength(3);
      expect(server.meta.accepted).toHaveLength(1);
      const wamid = server.meta.accepted[0]!.wamid;
      expect(sent.provider_message_id).toBe(wamid);
      expect(sent.metadata.provider_message_id).toBe(wamid);
      expect(sent.metadata.message_id).toBe(message.message_id);
      expect(sent.metadata.send_attempts).toBe(4);
      expect(sent.metadata.send_open).toBe(false);
      expect(sent.error).toBeNull();
      // The exact body Meta got: our id as callback data, the number with its + [REFERENCE §1.9].
      expect(server.meta.accepted[0]!.json).toEqual({
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to: '+96171000001',
        biz_opaque_callback_data: message.message_id,
        type: 'text',
        text: { preview_url: false, body: 'Hello after the outage' },
      });
      expect((await updates(server, message.message_id)).map((m) => m.status)).toEqual(['sent']);

      // Status webhooks for the returned id: read before delivered, then a late sent.
      for (const status of ['read', 'delivered', 'sent']) {
        expect((await sendWebhook(server.url, 'meta', metaStatusPayload(wamid, status))).status).toBe(200);
      }
      const final = await storedMessage(server.running.ctx.store.db, message.message_id);
      expect(final.status).toBe('read');
      expect((await updates(server, message.message_id)).map((m) => m.status)).toEqual(['sent', 'read']);
      // Nothing was sent again.
      await server.running.jobs.outbox.idle();
      expect(sendsTo('+96171000001')).toHaveLength(3);

      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      // The suites send no notices (AI_NOTICES=none in OUTBOX_TEST_ENV): every count is this message's.
      expect(server.meta.notices).toHaveLength(0);
      expect(metrics).toMatch(/switchboard_outbox_sends_total\{provider="meta",outcome="accepted"\} 1\n/);
      expect(metrics).toMatch(/switchboard_outbox_sends_total\{provider="meta",outcome="retryable"\} 3/);
      expect(metrics).toMatch(/switchboard_outbox_send_duration_seconds_count\{provider="meta"\} 4\n/);
      expect(metrics).toMatch(/switchboard_outbox_depth 0/);
      expect(metrics).toMatch(/switchboard_outbox_oldest_pending_seconds 0/);
    });

    it('[OUT1] 131047 → failed with the code and title, message_updated, no retry; failures counted by code', async () => {
      const id = await openConversation(server.url, server.admin, '96171000002');
      server.meta.script(
        '+96171000002',
        graphError(
          131047,
          'Re-engagement message',
          400,
          'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
        ),
      );
      const message = await operatorSends(server.admin, id, 'Too late?');
      const failed = await settled(server, message.message_id);
      expect(failed.status).toBe('failed');
      expect(failed.error).toEqual({ code: '131047', title: 'Re-engagement message' });
      expect(failed.provider_message_id).toBeNull();
      const shown = await updates(server, message.message_id);
      expect(shown.map((m) => [m.status, m.error])).toEqual([['failed', { code: '131047', title: 'Re-engagement message' }]]);
      await server.running.jobs.outbox.idle();
      expect(sendsTo('+96171000002')).toHaveLength(1);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toMatch(/switchboard_outbox_failures_total\{code="131047"\} 1/);
      expect(metrics).toMatch(/switchboard_outbox_sends_total\{provider="meta",outcome="permanent"\} 1/);
    });

    it('[OUT1] order: three messages while the provider fails the first twice arrive in seq order; another conversation is not held up', async () => {
      const a = await openConversation(server.url, server.admin, '96171000003');
      const b = await openConversation(server.url, server.admin, '96171000004');
      // The first failure is also slow: it holds one send slot while B's message is written and sent.
      server.meta.script(
        '+96171000003',
        { ...graphError(131000, 'Something went wrong', 500), delayMs: 1500 } as ScriptedAnswer,
        graphError(131000, 'Something went wrong', 500),
      );
      const first = await operatorSends(server.admin, a, 'one');
      const second = await operatorSends(server.admin, a, 'two');
      const third = await operatorSends(server.admin, a, 'three');
      await waitFor('the slow first attempt', async () => sendsTo('+96171000003').length >= 1);
      const other = await operatorSends(server.admin, b, 'elsewhere');
      for (const m of [first, second, third, other]) expect((await settled(server, m.message_id)).status).toBe('sent');

      expect(sendsTo('+96171000003').map((r) => r.json!.text.body)).toEqual(['one', 'one', 'one', 'two', 'three']);
      const acceptedOrder = server.meta.accepted.map((s) => s.json.text.body);
      expect(acceptedOrder.filter((t) => t !== 'elsewhere')).toEqual(['one', 'two', 'three']);
      // B went out while A's first message was still being retried.
      expect(acceptedOrder.indexOf('elsewhere')).toBeLessThan(acceptedOrder.indexOf('one'));
      const seqs = await Promise.all(
        [first, second, third].map(async (m) => (await storedMessage(server.running.ctx.store.db, m.message_id)).seq),
      );
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    });

    it('[OUT1] a message failed for good does not hold the next one back', async () => {
      const a = await openConversation(server.url, server.admin, '96171000005');
      server.meta.script('+96171000005', graphError(131026, 'Message undeliverable'));
      const first = await operatorSends(server.admin, a, 'undeliverable');
      const second = await operatorSends(server.admin, a, 'next');
      expect((await settled(server, first.message_id)).error).toEqual({ code: '131026', title: 'Message undeliverable' });
      expect((await settled(server, second.message_id)).status).toBe('sent');
      expect(sendsTo('+96171000005').map((r) => r.json!.text.body)).toEqual(['undeliverable', 'next']);
    });

    it('[§3 window] the window closed before an attempt → failed window_closed, no provider call', async () => {
      const id = await openConversation(server.url, server.admin, '96171000006');
      await server.meta.down();
      const message = await operatorSends(server.admin, id, 'written inside the window');
      await waitFor(
        'a refused attempt',
        async () => (await storedMessage(server.running.ctx.store.db, message.message_id)).metadata.send_attempts >= 1,
      );
      const longAgo = new Date(Date.now() - 25 * 3600 * 1000).toISOString();
      await server.running.ctx.committer.run((tx) => updateConversation(tx.db, id, { last_inbound_at: longAgo }, new Date().toISOString()));
      await server.meta.up();
      const failed = await settled(server, message.message_id);
      expect(failed.status).toBe('failed');
      expect(failed.error!.code).toBe('window_closed');
      expect(sendsTo('+96171000006')).toHaveLength(0);
      expect((await updates(server, message.message_id)).map((m) => m.error?.code)).toEqual(['window_closed']);
    });

    it('[OUT2] the same send repeated 10 times with one Idempotency-Key → one message, one provider call', async () => {
      const id = await openConversation(server.url, server.admin, '96171000007');
      const answers = [];
      for (let i = 0; i < 10; i++) answers.push(await operatorSends(server.admin, id, 'only once', 'key-once'));
      expect(new Set(answers.map((m) => m.message_id)).size).toBe(1);
      await settled(server, answers[0].message_id);
      await server.running.jobs.outbox.idle();
      expect(sendsTo('+96171000007')).toHaveLength(1);
      const count = await server.running.ctx.store.db
        .selectFrom('messages')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('conversation_id', '=', id)
        .where('role', '=', 'operator')
        .executeTakeFirstOrThrow();
      expect(Number(count.n)).toBe(1);
    });

    it('[OUT1] 131056 (pair rate limit): that recipient waits 4^X seconds; another recipient is served meanwhile', async () => {
      const paced = await openConversation(server.url, server.admin, '96171000009');
      const other = await openConversation(server.url, server.admin, '96171000013');
      server.meta.script('+96171000009', graphError(131056, '(Business Account, Consumer Account) pair rate limit hit'));
      const first = await operatorSends(server.admin, paced, 'paced');
      await waitFor('the 131056 answer', async () => sendsTo('+96171000009').length >= 1);
      const meanwhile = await operatorSends(server.admin, other, 'not paced');
      expect((await settled(server, meanwhile.message_id)).status).toBe('sent');
      const sent = await settled(server, first.message_id);
      expect(sent.status).toBe('sent');
      expect(sent.metadata.pair_limit_hits).toBe(1);
      const [hit, retry] = sendsTo('+96171000009');
      expect(retry!.at - hit!.at).toBeGreaterThanOrEqual(950);
      expect(sendsTo('+96171000013')[0]!.at).toBeLessThan(retry!.at);
    });

    it('[OUT1] HTTP 429 with Retry-After: the next attempt waits as long as the provider asked', async () => {
      const id = await openConversation(server.url, server.admin, '96171000008');
      server.meta.script('+96171000008', {
        status: 429,
        body: { error: { message: 'Too many calls', code: 80007 } },
        headers: { 'retry-after': '1' },
      });
      const message = await operatorSends(server.admin, id, 'after a pause');
      const sent = await settled(server, message.message_id);
      expect(sent.status).toBe('sent');
      const [first, second] = sendsTo('+96171000008');
      expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
    });
  });
}

/*
 * A call cut short with no recorded outcome. Here the runner itself cuts it: the claim's deadline
 * (0.9 × JOB_LOCK_MS) comes before the call's own timeout, as a process stopping mid-call would.
 * The next run finds the attempt open (`send_open`) and follows OUTBOX_UNCONFIRMED.
 */
const CUT_SHORT_ENV = {
  JOB_LOCK_MS: '1000',
  OUTBOX_SEND_TIMEOUT_MS: '990',
  MEDIA_DOWNLOAD_TIMEOUT_MS: '500',
  AI_TIMEOUT_MS: '500',
};

for (const database of sharedDatabases()) {
  describe(`an attempt with no recorded outcome, on ${database.kind}`, () => {
    let server: OutboxServer;
    afterEach(async () => {
      await server.destroy();
    });

    it('[OUT1] OUTBOX_UNCONFIRMED=fail (default): failed send_unconfirmed, never sent again', async () => {
      server = await startOutboxServer(database, CUT_SHORT_ENV);
      const id = await openConversation(server.url, server.admin, '96171000010');
      server.meta.script('+96171000010', { hang: true });
      const message = await operatorSends(server.admin, id, 'cut short');
      const failed = await settled(server, message.message_id);
      expect(failed.error!.code).toBe('send_unconfirmed');
      expect(failed.metadata.send_attempts).toBe(1);
      await server.running.jobs.outbox.idle();
      expect(server.meta.sends().filter((r) => r.json!.to === '+96171000010')).toHaveLength(1);
    });

    it('[ID9][ST1] a status webhook naming the message in biz_opaque_callback_data proves an unconfirmed send: delivered, error gone, provider id recorded', async () => {
      server = await startOutboxServer(database, CUT_SHORT_ENV);
      const id = await openConversation(server.url, server.admin, '96171000012');
      server.meta.script('+96171000012', { hang: true });
      const message = await operatorSends(server.admin, id, 'did it arrive?');
      expect((await settled(server, message.message_id)).error!.code).toBe('send_unconfirmed');
      const payload = metaStatusPayload('wamid.LATE.ACCEPTED', 'delivered') as any;
      payload.entry[0].changes[0].value.statuses[0].biz_opaque_callback_data = message.message_id;
      expect((await sendWebhook(server.url, 'meta', payload)).status).toBe(200);
      const proven = await storedMessage(server.running.ctx.store.db, message.message_id);
      expect(proven).toMatchObject({ status: 'delivered', error: null, provider_message_id: 'wamid.LATE.ACCEPTED' });
      expect(proven.metadata.provider_message_id).toBe('wamid.LATE.ACCEPTED');
      // Later statuses match by the recorded id as usual.
      expect((await sendWebhook(server.url, 'meta', metaStatusPayload('wamid.LATE.ACCEPTED', 'read'))).status).toBe(200);
      expect((await storedMessage(server.running.ctx.store.db, message.message_id)).status).toBe('read');
      expect((await updates(server, message.message_id)).map((m) => m.status)).toEqual(['failed', 'delivered', 'read']);
      // A callback naming something that is not one of our ids, or already matched, changes nothing.
      const stray = metaStatusPayload('wamid.OTHER', 'delivered') as any;
      stray.entry[0].changes[0].value.statuses[0].biz_opaque_callback_data = message.message_id;
      expect((await sendWebhook(server.url, 'meta', stray)).status).toBe(200);
      expect((await storedMessage(server.running.ctx.store.db, message.message_id)).provider_message_id).toBe('wamid.LATE.ACCEPTED');
    });

    it('[OUT1] OUTBOX_UNCONFIRMED=resend: a cut-short call that cannot be resent (its last allowed attempt; the window closed meanwhile) fails send_unconfirmed, not with the reason it was not resent', async () => {
      server = await startOutboxServer(database, { ...CUT_SHORT_ENV, OUTBOX_UNCONFIRMED: 'resend', OUTBOX_MAX_ATTEMPTS: '1' });
      const last = await openConversation(server.url, server.admin, '96171000013');
      server.meta.script('+96171000013', { hang: true });
      const lastAttempt = await operatorSends(server.admin, last, 'my only attempt');
      expect((await settled(server, lastAttempt.message_id)).error).toMatchObject({ code: 'send_unconfirmed' });
      expect(server.meta.sends().filter((r) => r.json!.to === '+96171000013')).toHaveLength(1);

      await server.running.ctx.committer.run((tx) =>
        updateConversation(tx.db, last, { last_inbound_at: new Date().toISOString() }, new Date().toISOString()),
      );
      const closing = await openConversation(server.url, server.admin, '96171000014');
      server.meta.script('+96171000014', { hang: true });
      const late = await operatorSends(server.admin, closing, 'sent as the window closed');
      await waitFor('the call in flight', async () => server.meta.sends().some((r) => r.json!.to === '+96171000014'));
      await server.running.ctx.committer.run((tx) =>
        updateConversation(
          tx.db,
          closing,
          { last_inbound_at: new Date(Date.now() - 25 * 3600_000).toISOString() },
          new Date().toISOString(),
        ),
      );
      expect((await settled(server, late.message_id)).error).toMatchObject({ code: 'send_unconfirmed' });
      await server.running.jobs.outbox.idle();
      expect(server.meta.sends().filter((r) => r.json!.to === '+96171000014')).toHaveLength(1);
    });

    it('[OUT1] OUTBOX_UNCONFIRMED=resend: sent once more, and only once', async () => {
      server = await startOutboxServer(database, { ...CUT_SHORT_ENV, OUTBOX_UNCONFIRMED: 'resend' });
      const id = await openConversation(server.url, server.admin, '96171000011');
      server.meta.script('+96171000011', { hang: true });
      const message = await operatorSends(server.admin, id, 'cut short, then resent');
      const sent = await settled(server, message.message_id);
      expect(sent.status).toBe('sent');
      expect(sent.metadata.unconfirmed_resent).toBe(true);
      expect(sent.metadata.send_attempts).toBe(2);
      expect(server.meta.sends().filter((r) => r.json!.to === '+96171000011')).toHaveLength(2);
      expect(server.meta.accepted.filter((a) => a.json.to === '+96171000011')).toHaveLength(1);
    });
  });
}
