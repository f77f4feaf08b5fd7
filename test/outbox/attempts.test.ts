import { afterEach, describe, expect, it } from 'vitest';
import { graphError } from '../fakes/meta-send.fake.js';
import { sharedDatabases } from '../support/databases.js';
import { metaStatusPayload, sendWebhook, storedMessage } from '../support/webhook-senders.js';
import { appendMediaMessage, openConversation, operatorSends, settled, startOutboxServer, waitFor, type OutboxServer } from './support.js';

/*
 * [OUT1][ST1][ID9] What one attempt counts as and what a retry starts from: a provider call that
 * times out (the media upload as much as the send) is a retryable `timeout` attempt; a message
 * retried by its operator gets OUTBOX_MAX_ATTEMPTS calls again; statuses for the id of an attempt
 * before the retry do not move the retried message; a status that fails a pending message lets
 * the conversation's next one go; the failure metrics count all of it.
 */

const JPEG = Buffer.from('ffd8ffe000104a46494600010100000100010000ffd9', 'hex');

/** A Meta status item naming our message in `biz_opaque_callback_data`, as Graph sends it for our sends. */
function statusFor(wamid: string, status: string, messageId: string, errors?: unknown[]) {
  const payload = metaStatusPayload(wamid, status, errors ? { errors } : {}) as any;
  payload.entry[0].changes[0].value.statuses[0].biz_opaque_callback_data = messageId;
  return payload;
}

async function metric(server: OutboxServer, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const m = pattern.exec(text);
  return m ? Number(m[1]) : 0;
}

/** The message's `outbox.send` job (keyed `{conversation_id}:{message_id}`). */
function outboxEntry(server: OutboxServer, conversationId: string, messageId: string) {
  return server.running.ctx.store.db
    .selectFrom('jobs')
    .selectAll()
    .where('kind', '=', 'outbox.send')
    .where('dedupe_key', '=', `${conversationId}:${messageId}`)
    .executeTakeFirstOrThrow();
}

const UNDELIVERABLE = [{ code: 131026, title: 'Message undeliverable', message: 'Message undeliverable' }];

for (const database of sharedDatabases()) {
  describe(`outbox attempts on ${database.kind}`, () => {
    let server: OutboxServer;
    afterEach(async () => {
      await server.destroy();
    });

    it('[OUT1] a media upload that times out is a retryable `timeout` attempt; the photo then goes once', async () => {
      server = await startOutboxServer(database, { OUTBOX_SEND_TIMEOUT_MS: '300' });
      const id = await openConversation(server.url, server.admin, '96171000701');
      server.meta.scriptUpload({ hang: true });
      const { messageId } = await appendMediaMessage(server, id, 'meta', 'photo', JPEG, 'image/jpeg', 'x.jpg', 'Your x-ray');
      const sent = await settled(server, messageId);
      expect(sent.status).toBe('sent');
      expect(sent.metadata.send_attempts).toBe(2);
      expect(sent.metadata.last_send_error).toMatchObject({ code: 'timeout' });
      expect(server.meta.uploadsReceived()).toHaveLength(2);
      expect(server.meta.sends().filter((r) => r.json!.to === '+96171000701')).toHaveLength(1);
      expect(await metric(server, /switchboard_job_failures_total\{kind="outbox.send"\} (\d+)/)).toBe(1);
    });

    it('[OUT1] a media upload answered 200 without an id is uploaded again (bad_response), not failed for good', async () => {
      server = await startOutboxServer(database);
      const id = await openConversation(server.url, server.admin, '96171000706');
      server.meta.scriptUpload({ status: 200, body: { success: true } });
      const { messageId } = await appendMediaMessage(server, id, 'meta', 'photo', JPEG, 'image/jpeg', 'x.jpg', null);
      const sent = await settled(server, messageId);
      expect(sent.status).toBe('sent');
      expect(sent.metadata.last_send_error).toMatchObject({ code: 'bad_response' });
      expect(server.meta.uploadsReceived()).toHaveLength(2);
      expect(server.meta.accepted[0]!.json.image).toEqual({ id: '900000000000001' });
    });

    it('[OUT1] a send that times out is retried as `timeout` (not a bare error), then sent once', async () => {
      server = await startOutboxServer(database, { OUTBOX_SEND_TIMEOUT_MS: '300' });
      const id = await openConversation(server.url, server.admin, '96171000702');
      server.meta.script('+96171000702', { hang: true });
      const message = await operatorSends(server.admin, id, 'Are you still there?');
      const sent = await settled(server, message.message_id);
      expect(sent.status).toBe('sent');
      expect(sent.metadata.send_attempts).toBe(2);
      expect(sent.metadata.last_send_error).toMatchObject({ code: 'timeout', title: 'the provider did not answer in time' });
      expect(server.meta.sends().filter((r) => r.json!.to === '+96171000702')).toHaveLength(2);
      expect(server.meta.accepted).toHaveLength(1);
      expect(await metric(server, /switchboard_job_failures_total\{kind="outbox.send"\} (\d+)/)).toBe(1);
      expect(await metric(server, /switchboard_outbox_sends_total\{provider="meta",outcome="retryable"\} (\d+)/)).toBe(1);
    });

    it('[OUT1][ST1] a message that used up OUTBOX_MAX_ATTEMPTS and is retried gets its attempts again: one call, sent', async () => {
      server = await startOutboxServer(database, { OUTBOX_MAX_ATTEMPTS: '2' });
      const id = await openConversation(server.url, server.admin, '96171000703');
      const busy = graphError(131000, 'Something went wrong', 500);
      server.meta.script('+96171000703', busy, busy);
      const message = await operatorSends(server.admin, id, 'Your results are ready');
      const failed = await settled(server, message.message_id);
      expect(failed.status).toBe('failed');
      expect(failed.error).toMatchObject({ code: '131000' });
      expect(failed.metadata.send_attempts).toBe(2);
      expect(await metric(server, /switchboard_outbox_failures_total\{code="131000"\} (\d+)/)).toBe(1);

      const retriedAt = Date.now();
      const retried = await server.admin.post(`/api/conversations/${id}/messages/${message.message_id}/retry`);
      expect(retried.status, JSON.stringify(retried.body)).toBe(200);
      const sent = await settled(server, message.message_id);
      expect(sent.status).toBe('sent');
      expect(sent.error).toBeNull();
      // Its outbox entry counts its age from the retry (switchboard_outbox_oldest_pending_seconds).
      const job = await outboxEntry(server, id, message.message_id);
      expect(Date.parse(job.created_at)).toBeGreaterThanOrEqual(retriedAt - 5);
      expect(sent.metadata.send_attempts).toBe(1);
      expect(sent.metadata.last_send_error).toBeUndefined();
      expect(sent.metadata.retries).toBe(1);
      expect(server.meta.sends().filter((r) => r.json!.to === '+96171000703')).toHaveLength(3);
      expect(server.meta.accepted).toHaveLength(1);
    });

    it('[ST1][ID9] statuses for the provider id of the attempt before a retry do not move the retried message; the new id does', async () => {
      server = await startOutboxServer(database);
      const id = await openConversation(server.url, server.admin, '96171000704');
      const message = await operatorSends(server.admin, id, 'See you on Monday');
      const first = await settled(server, message.message_id);
      const oldWamid = first.provider_message_id!;
      expect(oldWamid).toBe(server.meta.accepted[0]!.wamid);
      // Meta reports the first attempt undeliverable: failed, with its code, counted.
      const undelivered = await sendWebhook(server.url, 'meta', statusFor(oldWamid, 'failed', message.message_id, UNDELIVERABLE));
      expect(undelivered.status).toBe(200);
      expect(await storedMessage(server.running.ctx.store.db, message.message_id)).toMatchObject({
        status: 'failed',
        error: { code: '131026' },
      });
      expect(await metric(server, /switchboard_outbox_failures_total\{code="131026"\} (\d+)/)).toBe(1);

      // The retried send is slow to answer; meanwhile Meta redelivers the old attempt's statuses.
      server.meta.script('+96171000704', { delayMs: 1500 });
      const retried = await server.admin.post(`/api/conversations/${id}/messages/${message.message_id}/retry`);
      expect(retried.status, JSON.stringify(retried.body)).toBe(200);
      await waitFor('the retried send to reach Meta', async () => server.meta.sends().length === 2);
      for (const status of ['sent', 'failed']) {
        const old =
          status === 'failed'
            ? statusFor(oldWamid, status, message.message_id, UNDELIVERABLE)
            : statusFor(oldWamid, status, message.message_id);
        expect((await sendWebhook(server.url, 'meta', old)).status).toBe(200);
        expect((await sendWebhook(server.url, 'meta', metaStatusPayload(oldWamid, status))).status).toBe(200);
      }
      const during = await storedMessage(server.running.ctx.store.db, message.message_id);
      expect(during).toMatchObject({ status: 'pending', provider_message_id: null, error: null });
      expect(during.metadata.previous_provider_message_ids).toEqual([oldWamid]);

      const sent = await settled(server, message.message_id);
      const newWamid = server.meta.accepted[1]!.wamid;
      expect(sent).toMatchObject({ status: 'sent', provider_message_id: newWamid });
      expect(sent.metadata.provider_message_id).toBe(newWamid);
      expect((await sendWebhook(server.url, 'meta', metaStatusPayload(oldWamid, 'read'))).status).toBe(200);
      expect((await storedMessage(server.running.ctx.store.db, message.message_id)).status).toBe('sent');
      expect((await sendWebhook(server.url, 'meta', metaStatusPayload(newWamid, 'delivered'))).status).toBe(200);
      expect((await storedMessage(server.running.ctx.store.db, message.message_id)).status).toBe('delivered');
      expect(await metric(server, /switchboard_outbox_failures_total\{code="131026"\} (\d+)/)).toBe(1);
    });

    it("[OUT1][ST1] a retry while the failed message's own send still waits for its answer is refused (409, nothing changed); once the answer is in, the retry sends anew", async () => {
      server = await startOutboxServer(database);
      const id = await openConversation(server.url, server.admin, '96171000707');
      server.meta.script('+96171000707', { delayMs: 2000 });
      const message = await operatorSends(server.admin, id, 'Your prescription is ready');
      await waitFor('the send in flight', async () => server.meta.sends().length === 1);
      const early = statusFor('wamid.EARLY.707', 'failed', message.message_id, UNDELIVERABLE);
      expect((await sendWebhook(server.url, 'meta', early)).status).toBe(200);
      const failed = await storedMessage(server.running.ctx.store.db, message.message_id);
      expect(failed.status).toBe('failed');

      const tooSoon = await server.admin.post(`/api/conversations/${id}/messages/${message.message_id}/retry`);
      expect([tooSoon.status, tooSoon.body.error.code], JSON.stringify(tooSoon.body)).toEqual([409, 'conflict']);
      expect(await storedMessage(server.running.ctx.store.db, message.message_id)).toEqual(failed);

      // The late answer is written (the message stays failed, as Meta said); now the retry is a new attempt.
      await waitFor('the late answer recorded', async () => {
        return (await outboxEntry(server, id, message.message_id)).status === 'done';
      });
      await server.running.jobs.outbox.idle();
      const lateId = (await storedMessage(server.running.ctx.store.db, message.message_id)).provider_message_id;
      const retried = await server.admin.post(`/api/conversations/${id}/messages/${message.message_id}/retry`);
      expect(retried.status, JSON.stringify(retried.body)).toBe(200);
      const sent = await settled(server, message.message_id);
      expect(sent.status).toBe('sent');
      expect(sent.metadata).toMatchObject({ retries: 1, send_attempts: 1, previous_provider_message_ids: [lateId] });
      expect(sent.provider_message_id).toBe(server.meta.accepted[1]!.wamid);
      expect(server.meta.sends().filter((r) => r.json!.to === '+96171000707')).toHaveLength(2);
      // The old attempt's redelivered failure does not touch the new one.
      expect((await sendWebhook(server.url, 'meta', early)).status).toBe(200);
      expect((await storedMessage(server.running.ctx.store.db, message.message_id)).status).toBe('sent');
    });

    it('[OUT1] a status that fails a message still waiting for its send answer makes the next message of the conversation due at once', async () => {
      server = await startOutboxServer(database);
      const id = await openConversation(server.url, server.admin, '96171000705');
      // The first send's answer is late; the second message is held behind it, its holds growing.
      server.meta.script('+96171000705', { delayMs: 6000 });
      const first = await operatorSends(server.admin, id, 'First');
      await waitFor('the first send to reach Meta', async () => server.meta.sends().length === 1);
      const second = await operatorSends(server.admin, id, 'Second');
      await new Promise((r) => setTimeout(r, 2500));
      expect((await storedMessage(server.running.ctx.store.db, second.message_id)).status).toBe('pending');

      const failedAt = Date.now();
      const status = statusFor('wamid.EARLY.FAILURE', 'failed', first.message_id, UNDELIVERABLE);
      expect((await sendWebhook(server.url, 'meta', status)).status).toBe(200);
      expect(await storedMessage(server.running.ctx.store.db, first.message_id)).toMatchObject({ status: 'failed' });
      const job = await outboxEntry(server, id, second.message_id);
      // Due now (or already taken), not at the end of a hold of up to 2 s.
      expect(job.status !== 'queued' || Date.parse(job.run_at) <= failedAt + 200, JSON.stringify(job)).toBe(true);
      expect((await settled(server, second.message_id)).status).toBe('sent');
      expect(await metric(server, /switchboard_outbox_failures_total\{code="131026"\} (\d+)/)).toBe(1);
    });
  });
}
