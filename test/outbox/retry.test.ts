import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { updateConversation } from '../../src/store/conversation.store.js';
import { createOperator } from '../api/api-client.js';
import { graphError } from '../fakes/meta-send.fake.js';
import { sharedDatabases } from '../support/databases.js';
import { storedMessage } from '../support/webhook-senders.js';
import { openConversation, operatorSends, settled, startOutboxServer, updates, type OutboxServer } from './support.js';

/*
 * [OUT1][ST1] Retry of a failed message: the same message (same message_id) goes back to pending
 * and is sent as a new attempt. Anything else — a message that did not fail, a customer message,
 * another operator, a closed window — is refused and changes nothing.
 */
for (const database of sharedDatabases()) {
  describe(`retry a failed message on ${database.kind}`, () => {
    let server: OutboxServer;
    beforeEach(async () => {
      server = await startOutboxServer(database);
    });
    afterEach(async () => {
      await server.destroy();
    });

    it('[OUT1][ST1] a 131026 failure retried by the owner: pending again, then sent once, same message_id; failed → pending → sent on the stream', async () => {
      const id = await openConversation(server.url, server.admin, '96171000501');
      // The takeover's "joined" notice [AI6] goes first; the scripted failure is for the reply.
      await server.running.jobs.outbox.idle();
      server.meta.script('+96171000501', graphError(131026, 'Message undeliverable', 400, 'The recipient could not receive it.'));
      const message = await operatorSends(server.admin, id, 'Your appointment is confirmed');
      expect((await settled(server, message.message_id)).status).toBe('failed');

      const retried = await server.admin.post(`/api/conversations/${id}/messages/${message.message_id}/retry`);
      expect(retried.status, JSON.stringify(retried.body)).toBe(200);
      expect(retried.body).toMatchObject({ message_id: message.message_id, status: 'pending', error: null });
      const sent = await settled(server, message.message_id);
      expect(sent.status).toBe('sent');
      expect(sent.metadata.retries).toBe(1);
      expect(server.meta.accepted.map((a) => a.json!.text).filter((t) => t.body === 'Your appointment is confirmed')).toHaveLength(1);
      expect((await updates(server, message.message_id)).map((m) => m.status)).toEqual(['failed', 'pending', 'sent']);
      const rows = await server.running.ctx.store.db
        .selectFrom('messages')
        .selectAll()
        .where('conversation_id', '=', id)
        .where('role', '=', 'operator')
        .execute();
      expect(rows.map((r) => r.message_id)).toEqual([message.message_id]);

      // A sent message is not sent twice.
      const again = await server.admin.post(`/api/conversations/${id}/messages/${message.message_id}/retry`);
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('conflict');
      await server.running.jobs.outbox.idle();
      expect(server.meta.accepted.filter((a) => a.json!.text?.body === 'Your appointment is confirmed')).toHaveLength(1);
    });

    it('[OUT1] refused and unchanged: a customer message, an unknown id, another operator, a closed window', async () => {
      const id = await openConversation(server.url, server.admin, '96171000502', 'wamid.RETRY.IN');
      await server.running.jobs.outbox.idle();
      server.meta.script('+96171000502', graphError(131026, 'Message undeliverable', 400, 'The recipient could not receive it.'));
      const message = await operatorSends(server.admin, id, 'Hello');
      await settled(server, message.message_id);
      const before = await storedMessage(server.running.ctx.store.db, message.message_id);

      const customer = await server.admin.post(`/api/conversations/${id}/messages/wamid.RETRY.IN/retry`);
      expect([customer.status, customer.body.error.code]).toEqual([409, 'conflict']);
      const unknown = await server.admin.post(`/api/conversations/${id}/messages/msg_20261203000000_deadbeef/retry`);
      expect([unknown.status, unknown.body.error.code]).toEqual([404, 'message_not_found']);
      const other = await createOperator(server.admin, 'nadia@clinic.test', 'Nadia');
      const notOwner = await other.client.post(`/api/conversations/${id}/messages/${message.message_id}/retry`);
      expect([notOwner.status, notOwner.body.error.code]).toEqual([403, 'not_owner']);
      await server.running.ctx.committer.run((tx) =>
        updateConversation(tx.db, id, { last_inbound_at: new Date(Date.now() - 25 * 3600_000).toISOString() }, new Date().toISOString()),
      );
      const closed = await server.admin.post(`/api/conversations/${id}/messages/${message.message_id}/retry`);
      expect([closed.status, closed.body.error.code]).toEqual([422, 'window_closed']);

      expect(await storedMessage(server.running.ctx.store.db, message.message_id)).toEqual(before);
      await server.running.jobs.outbox.idle();
      expect(server.meta.sends().filter((r) => r.json!.text?.body === 'Hello')).toHaveLength(1);
    });
  });
}
