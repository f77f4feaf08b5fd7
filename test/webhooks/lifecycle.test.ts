import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { replayWebhooks } from '../../src/app/replay-webhooks.js';
import { webhookAdapters } from '../../src/providers/registry.js';
import { loginAdmin } from '../api/api-client.js';
import { metaMessagesPayload } from '../support/app.js';
import {
  conversationOf,
  eventRows,
  jobRows,
  messagesWithId,
  META_BUSINESS,
  metaEnvelope,
  montyEnvelope,
  MONTY_BUSINESS,
  sendWebhook,
  storedCounts,
  storedMessage,
} from '../support/webhook-senders.js';
import { startWebhookServer, webhookDatabases, type WebhookServer } from './harness.js';

/*
 * A message's later life (docs/SPEC-lifecycle.md): Meta's edit, revoke and system webhooks in their
 * real wire form (Meta's messages webhook reference: edit, revoke, system), signed and posted to the
 * real server; the stored rows and the event log are read back.
 */

const FROM = '16505551234';
const ORIGINAL = 'wamid.HBgLMTY1MDU1NTEyMzQVAgASGBRPUklHSU5BTDAwMDAwMDAwMDAwMQA=';
const EDIT = 'wamid.HBgLMTY1MDU1NTEyMzQVAgASGBRFRElUMDAwMDAwMDAwMDAwMDAwMQA=';
const EDIT_2 = 'wamid.HBgLMTY1MDU1NTEyMzQVAgASGBRFRElUMDAwMDAwMDAwMDAwMDAwMgA=';
const REVOKE = 'wamid.HBgLMTY1MDU1NTEyMzQVAgASGBRSRVZPS0UwMDAwMDAwMDAwMDAwMQA=';
const T0 = 1764756000;

function payload(messages: (Record<string, unknown> & { id: string })[], from = FROM) {
  return metaMessagesPayload(from, 'Sheena Nelson', messages);
}

const text = (id: string, body: string, ts = T0) => ({ id, timestamp: String(ts), type: 'text', text: { body } });
const image = (id: string, caption: string, ts = T0) => ({
  id,
  timestamp: String(ts),
  type: 'image',
  image: { caption, mime_type: 'image/jpeg', sha256: 'SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=', id: '1003383421387256' },
});
const edit = (id: string, original: string, message: Record<string, unknown>, ts = T0 + 60) => ({
  id,
  timestamp: String(ts),
  type: 'edit',
  edit: { original_message_id: original, message },
});
const revoke = (id: string, original: string, ts = T0 + 120) => ({
  id,
  timestamp: String(ts),
  type: 'revoke',
  revoke: { original_message_id: original },
});

/** Meta's system messages carry no `contacts` array. */
function systemPayload(id: string, system: Record<string, unknown>, from = FROM) {
  return metaEnvelope([{ metadata: META_BUSINESS, messages: [{ from, id, timestamp: String(T0 + 300), type: 'system', system }] }]);
}

for (const database of webhookDatabases()) {
  describe(`message lifecycle through HTTP on ${database.kind}`, () => {
    let server: WebhookServer;
    beforeEach(async () => {
      server = await startWebhookServer(database);
    });
    afterEach(async () => {
      await server.destroy();
    });

    async function post(body: unknown, provider: 'meta' | 'montymobile' = 'meta') {
      const answer = await sendWebhook(server.url, provider, body);
      expect(answer.status, answer.text).toBe(200);
      return answer.body;
    }

    it('[ED1] an edit of a text: the new text in place, the old version with its times in metadata.edits, edited_at, one message_updated, no message of its own', async () => {
      await post(payload([text(ORIGINAL, 'I want 2 tickets')]));
      expect(await post(payload([edit(EDIT, ORIGINAL, { type: 'text', text: { body: 'I want 3 tickets' } })]))).toMatchObject({
        created: 0,
        duplicates: 0,
        operations: 1,
      });

      const m = await storedMessage(server.db, ORIGINAL);
      expect(m).toMatchObject({ seq: 1, type: 'text', text: 'I want 3 tickets', deleted_at: null });
      expect(m.edited_at).toEqual(expect.any(String));
      expect(m.metadata['edits']).toEqual([
        {
          text: 'I want 2 tickets',
          since: new Date(T0 * 1000).toISOString(),
          replaced_at: new Date((T0 + 60) * 1000).toISOString(),
          edit_id: EDIT,
        },
      ]);
      expect(await messagesWithId(server.db, EDIT)).toEqual([]);
      const counts = await storedCounts(server.db);
      expect(counts.messages).toBe(1);
      // The edit queues no AI job of its own: the queued reply reads the row when it runs [ED4].
      expect((await jobRows(server.db, 'ai.reply')).map((j) => j.payload.message_id)).toEqual([ORIGINAL]);

      const updates = await eventRows(server.db, 'message_updated', ORIGINAL);
      expect(updates).toHaveLength(1);
      expect(updates[0]!.payload).toMatchObject({
        message_id: ORIGINAL,
        text: 'I want 3 tickets',
        edited_at: m.edited_at,
        metadata: { edits: m.metadata['edits'] },
      });
      // It was the last message: the list's preview follows.
      expect((await eventRows(server.db, 'conversation_updated')).at(-1)!.payload.last_message).toMatchObject({
        message_id: ORIGINAL,
        text: 'I want 3 tickets',
      });
      const { conversation } = await conversationOf(server.db, m);
      expect(conversation).toMatchObject({ unread_count: 1, last_seq: 1 });

      // [ED2] a redelivered edit changes nothing.
      expect(await post(payload([edit(EDIT, ORIGINAL, { type: 'text', text: { body: 'I want 3 tickets' } })]))).toMatchObject({
        duplicates: 1,
        operations: 0,
      });
      expect(await storedMessage(server.db, ORIGINAL)).toEqual(m);
      expect(await eventRows(server.db, 'message_updated', ORIGINAL)).toHaveLength(1);

      // A second edit keeps both earlier versions, oldest first.
      await post(payload([edit(EDIT_2, ORIGINAL, { type: 'text', text: { body: 'I want 4 tickets' } }, T0 + 90)]));
      const twice = await storedMessage(server.db, ORIGINAL);
      expect(twice.text).toBe('I want 4 tickets');
      expect((twice.metadata['edits'] as any[]).map((v) => [v.text, v.edit_id])).toEqual([
        ['I want 2 tickets', EDIT],
        ['I want 3 tickets', EDIT_2],
      ]);
    });

    it('[ED1] an edit of an image caption: text and media.caption change, the media stays', async () => {
      await post(payload([image(ORIGINAL, 'my receipt')]));
      const before = await storedMessage(server.db, ORIGINAL);
      await post(
        payload([
          edit(EDIT, ORIGINAL, {
            type: 'image',
            image: { caption: 'my receipt for March', mime_type: 'image/jpeg', id: '1003383421387256' },
          }),
        ]),
      );
      const m = await storedMessage(server.db, ORIGINAL);
      expect(m).toMatchObject({ type: 'photo', text: 'my receipt for March' });
      expect(m.media).toEqual({ ...before.media, caption: 'my receipt for March' });
      expect(m.metadata['edits']).toEqual([expect.objectContaining({ text: 'my receipt', edit_id: EDIT })]);
      expect(await server.db.selectFrom('media').select('status').execute()).toEqual([{ status: 'pending' }]);
    });

    it('[RV1][RV2] a revoke: text, caption, previous versions and media bytes gone, the row stays with deleted_at, media answers 410, search no longer finds it', async () => {
      await post(payload([image(ORIGINAL, 'my card number 4242')]));
      await post(
        payload([edit(EDIT, ORIGINAL, { type: 'image', image: { caption: 'my card number 4242 4242', id: '1003383421387256' } })]),
      );
      const before = await storedMessage(server.db, ORIGINAL);
      // The download finished: a file under DATA_DIR, as the media worker leaves it.
      const mediaId = before.media!.media_id;
      const storagePath = `media/2025/12/${mediaId}`;
      const file = join(server.running.ctx.config.dataDir, storagePath);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, Buffer.from('jpeg bytes'));
      await server.db
        .updateTable('media')
        .set({ status: 'ready', storage_path: storagePath, size: 10 })
        .where('media_id', '=', mediaId)
        .execute();
      const admin = await loginAdmin(server.url);
      expect((await admin.get(`/api/media/${mediaId}`)).status).toBe(200);
      const { conversation } = await conversationOf(server.db, before);
      expect((await admin.get(`/api/conversations?q=${encodeURIComponent('card number')}`)).body.conversations).toHaveLength(1);

      expect(await post(payload([revoke(REVOKE, ORIGINAL)]))).toMatchObject({ operations: 1 });
      const m = await storedMessage(server.db, ORIGINAL);
      expect(m).toMatchObject({ id: before.id, seq: 1, type: 'photo', text: null, role: 'user' });
      expect(m.deleted_at).toEqual(expect.any(String));
      expect(m.media).toEqual({
        media_id: mediaId,
        mime_type: null,
        url: null,
        status: 'deleted',
        caption: null,
        transcript: null,
        filename: null,
        size: null,
      });
      expect(m.metadata).toEqual({
        provider: 'meta',
        message_id: ORIGINAL,
        source_message_id: ORIGINAL,
        deleted: { by: 'customer', at: m.deleted_at, revoked_at: new Date((T0 + 120) * 1000).toISOString(), revoke_id: REVOKE },
      });
      expect(JSON.stringify(m)).not.toContain('4242');
      expect(await messagesWithId(server.db, REVOKE)).toEqual([]);
      expect(
        await server.db.selectFrom('media').select(['status', 'storage_path', 'size']).where('media_id', '=', mediaId).execute(),
      ).toEqual([{ status: 'deleted', storage_path: null, size: null }]);
      expect(existsSync(file)).toBe(false);
      const gone = await admin.get(`/api/media/${mediaId}`);
      expect(gone.status).toBe(410);
      expect(gone.body).toMatchObject({ error: { code: 'media_deleted' } });
      expect((await admin.get(`/api/conversations?q=${encodeURIComponent('card number')}`)).body.conversations).toEqual([]);

      const updates = await eventRows(server.db, 'message_updated', ORIGINAL);
      expect(updates.at(-1)!.payload).toMatchObject({ text: null, deleted_at: m.deleted_at, media: { status: 'deleted' } });
      const page = await admin.get(`/api/conversations/${conversation.id}/messages`);
      expect(page.body.messages).toEqual([expect.objectContaining({ message_id: ORIGINAL, text: null, deleted_at: m.deleted_at })]);

      // [RV2] a redelivered revoke, and an edit after it, change nothing.
      const count = updates.length;
      expect(await post(payload([revoke(REVOKE, ORIGINAL)]))).toMatchObject({ duplicates: 1 });
      await post(payload([edit(EDIT_2, ORIGINAL, { type: 'image', image: { caption: 'back again', id: '1003383421387256' } })]));
      expect(await storedMessage(server.db, ORIGINAL)).toEqual(m);
      expect(await eventRows(server.db, 'message_updated', ORIGINAL)).toHaveLength(count);
    });

    it('[ED3][ED2] an edit before its original waits (conversation metadata, API), then the original arrives already edited; a redelivery changes nothing', async () => {
      expect(await post(payload([edit(EDIT, ORIGINAL, { type: 'text', text: { body: 'see you at 6' } })]))).toMatchObject({
        created: 0,
        operations: 1,
      });
      expect(await storedCounts(server.db)).toMatchObject({ messages: 0, conversations: 1 });
      const waiting = await server.db.selectFrom('pending_operations').selectAll().execute();
      expect(waiting).toMatchObject([{ kind: 'edit', operation_id: EDIT, target_message_id: ORIGINAL, applied_at: null }]);
      const row = await server.db.selectFrom('conversations').selectAll().executeTakeFirstOrThrow();
      expect(JSON.parse(row.metadata).pending_operations).toEqual([
        { kind: 'edit', operation_id: EDIT, original_message_id: ORIGINAL, received_at: waiting[0]!.received_at },
      ]);
      const admin = await loginAdmin(server.url);
      expect((await admin.get(`/api/conversations/${row.id}`)).body).toMatchObject({
        pending_operations: [{ kind: 'edit', operation_id: EDIT, original_message_id: ORIGINAL }],
      });
      // Redelivered while waiting: still one.
      expect(await post(payload([edit(EDIT, ORIGINAL, { type: 'text', text: { body: 'see you at 6' } })]))).toMatchObject({
        duplicates: 1,
      });
      expect(await server.db.selectFrom('pending_operations').selectAll().execute()).toHaveLength(1);

      expect(await post(payload([text(ORIGINAL, 'see you at 5')]))).toMatchObject({ created: 1 });
      const m = await storedMessage(server.db, ORIGINAL);
      expect(m).toMatchObject({ conversation_id: row.id, text: 'see you at 6' });
      expect(m.metadata['edits']).toEqual([expect.objectContaining({ text: 'see you at 5', edit_id: EDIT })]);
      const created = await eventRows(server.db, 'new_message', ORIGINAL);
      expect(created).toHaveLength(1);
      expect(created[0]!.payload).toMatchObject({ text: 'see you at 6', edited_at: m.edited_at });
      expect(await eventRows(server.db, 'message_updated', ORIGINAL)).toEqual([]);
      expect(await server.db.selectFrom('pending_operations').select('applied_at').execute()).toEqual([{ applied_at: expect.any(String) }]);
      const after = await server.db.selectFrom('conversations').selectAll().executeTakeFirstOrThrow();
      expect(JSON.parse(after.metadata)).toEqual({});
      expect((await admin.get(`/api/conversations/${row.id}`)).body.pending_operations).toBeUndefined();

      expect(await post(payload([edit(EDIT, ORIGINAL, { type: 'text', text: { body: 'see you at 6' } })]))).toMatchObject({
        duplicates: 1,
      });
      expect(await storedMessage(server.db, ORIGINAL)).toEqual(m);
    });

    it('[RV3][RV2] a revoke before its original: the original is stored deleted, its media never fetched; a redelivery changes nothing', async () => {
      await post(payload([revoke(REVOKE, ORIGINAL)]));
      expect(await storedCounts(server.db)).toMatchObject({ messages: 0 });
      await post(payload([image(ORIGINAL, 'oops wrong chat')]));
      const m = await storedMessage(server.db, ORIGINAL);
      expect(m).toMatchObject({ text: null, media: { status: 'deleted', caption: null } });
      expect(m.deleted_at).toEqual(expect.any(String));
      expect(await server.db.selectFrom('media').select('status').execute()).toEqual([{ status: 'deleted' }]);
      const [created] = await eventRows(server.db, 'new_message', ORIGINAL);
      expect(JSON.stringify(created!.payload)).not.toContain('oops');
      expect(await post(payload([revoke(REVOKE, ORIGINAL)]))).toMatchObject({ duplicates: 1 });
      expect(await storedMessage(server.db, ORIGINAL)).toEqual(m);
    });

    it('[ED3] an edit whose original never arrives is kept: journal, pending_operations, conversation metadata; never a message', async () => {
      const body = payload([edit(EDIT, 'wamid.NEVER.ARRIVES', { type: 'text', text: { body: 'lost' } })]);
      await post(body);
      const journal = await server.db.selectFrom('webhook_journal').select('body').execute();
      expect(journal.map((j) => JSON.parse(j.body))).toEqual([body]);
      expect(await server.db.selectFrom('pending_operations').select(['target_message_id', 'applied_at']).execute()).toEqual([
        { target_message_id: 'wamid.NEVER.ARRIVES', applied_at: null },
      ]);
      expect(await storedCounts(server.db)).toMatchObject({ messages: 0 });
    });

    it('[SY1][SY2] user_changed_number: an event message, the contact moves to the new number, its next message lands in the same conversation', async () => {
      await post(payload([text(ORIGINAL, 'hello')]));
      const before = await storedMessage(server.db, ORIGINAL);
      const SYSTEM = 'wamid.HBgLMTY1MDU1NTEyMzQVAgASGBRTWVNURU0wMDAwMDAwMDAwMDAwMQA=';
      const body = 'User Sheena Nelson changed from 16505551234 to 16505559999';
      expect(await post(systemPayload(SYSTEM, { body, wa_id: '16505559999', type: 'user_changed_number', customer: FROM }))).toMatchObject({
        created: 0,
        operations: 1,
      });
      const event = await storedMessage(server.db, SYSTEM);
      expect(event).toMatchObject({
        conversation_id: before.conversation_id,
        seq: 2,
        role: 'system',
        type: 'event',
        text: body,
        status: 'received',
      });
      expect(event.metadata).toMatchObject({
        system: { type: 'user_changed_number', wa_id: '16505559999', customer: FROM, body },
        number_change: { from: FROM, to: '16505559999', applied: true },
        message_id: SYSTEM,
        provider: 'meta',
      });
      const { contact, conversation } = await conversationOf(server.db, before);
      expect(contact).toMatchObject({ contact_key: '16505559999', wa_id: '16505559999', name: 'Sheena Nelson' });
      // Not a customer message: no unread, no AI job.
      expect(conversation).toMatchObject({ unread_count: 1, last_seq: 2 });
      expect((await jobRows(server.db, 'ai.reply')).map((j) => j.payload.message_id)).toEqual([ORIGINAL]);
      expect(await eventRows(server.db, 'new_message', SYSTEM)).toHaveLength(1);
      expect((await eventRows(server.db, 'conversation_updated')).at(-1)!.payload).toMatchObject({
        contact: { wa_id: '16505559999' },
        last_message: { message_id: SYSTEM, type: 'event' },
      });

      await post(payload([text('wamid.FROM.NEW.NUMBER', 'it is me, new phone', T0 + 400)], '16505559999'));
      const next = await storedMessage(server.db, 'wamid.FROM.NEW.NUMBER');
      expect(next.conversation_id).toBe(before.conversation_id);
      expect(await storedCounts(server.db)).toMatchObject({ contacts: 1, conversations: 1, messages: 3 });

      // Redelivered: nothing new.
      expect(await post(systemPayload(SYSTEM, { body, wa_id: '16505559999', type: 'user_changed_number', customer: FROM }))).toMatchObject({
        duplicates: 1,
      });
      expect(await storedCounts(server.db)).toMatchObject({ messages: 3, contacts: 1 });
    });

    it('[SY3] customer_identity_changed and an unknown system type: event messages with their body, shown to the operator', async () => {
      await post(payload([text(ORIGINAL, 'hello')]));
      await post(
        systemPayload('wamid.SYS.IDENTITY', { body: 'Security code changed', identity: 'b1b2b3c4', type: 'customer_identity_changed' }),
      );
      await post(systemPayload('wamid.SYS.OTHER', { body: 'Something else happened', type: 'user_changed_user_id', user_id: 'US.123' }));
      await post(systemPayload('wamid.SYS.NOBODY', { type: 'brand_new_notice' }));
      const identity = await storedMessage(server.db, 'wamid.SYS.IDENTITY');
      expect(identity).toMatchObject({ role: 'system', type: 'event', text: 'Security code changed' });
      expect(identity.metadata['system']).toEqual({
        body: 'Security code changed',
        identity: 'b1b2b3c4',
        type: 'customer_identity_changed',
      });
      expect(await storedMessage(server.db, 'wamid.SYS.OTHER')).toMatchObject({ type: 'event', text: 'Something else happened' });
      expect(await storedMessage(server.db, 'wamid.SYS.NOBODY')).toMatchObject({
        type: 'event',
        text: 'WhatsApp system notice: brand_new_notice',
      });
      const { contact } = await conversationOf(server.db, identity);
      expect(contact.contact_key).toBe(FROM);
      expect(await storedCounts(server.db)).toMatchObject({ messages: 4, conversations: 1 });
    });

    it('[ED2][RV2][IN1] a replay of the journal (original, edit, revoke of another) changes nothing: the edit is not undone, the deleted text not restored', async () => {
      await post(payload([text(ORIGINAL, 'first words'), text('wamid.SECOND', 'secret words')]));
      await post(payload([edit(EDIT, ORIGINAL, { type: 'text', text: { body: 'better words' } })]));
      await post(payload([revoke(REVOKE, 'wamid.SECOND')]));
      const edited = await storedMessage(server.db, ORIGINAL);
      const deleted = await storedMessage(server.db, 'wamid.SECOND');
      const events = (await server.db.selectFrom('events').select('id').execute()).length;
      const { ctx } = server.running;
      await replayWebhooks(ctx, webhookAdapters(ctx.config), {});
      expect(await storedMessage(server.db, ORIGINAL)).toEqual(edited);
      expect(await storedMessage(server.db, 'wamid.SECOND')).toEqual(deleted);
      expect(deleted.text).toBeNull();
      expect((await server.db.selectFrom('events').select('id').execute()).length).toBe(events);
    });

    it('[ED5] the old form (unsupported with unsupported.type edit) is still stored as an unsupported message', async () => {
      await post(
        payload([
          {
            id: EDIT,
            timestamp: String(T0),
            type: 'unsupported',
            unsupported: { type: 'edit' },
            errors: [
              {
                code: 131051,
                title: 'Message type unknown',
                message: 'Message type unknown',
                error_data: { details: 'Message type is currently not supported.' },
              },
            ],
          },
        ]),
      );
      const m = await storedMessage(server.db, EDIT);
      expect(m).toMatchObject({ type: 'unsupported', text: null, error: { code: '131051' } });
      expect(m.metadata['unsupported_type']).toBe('edit');
      expect(await server.db.selectFrom('pending_operations').selectAll().execute()).toEqual([]);
    });

    it("[ED1][RV1] MontyMobile relays Meta's envelope: its edits and revokes apply the same way", async () => {
      const from = '96170123456';
      const value = (message: Record<string, unknown>) =>
        montyEnvelope({
          metadata: MONTY_BUSINESS,
          contacts: [{ profile: { name: 'Rania' }, wa_id: from }],
          messages: [{ from, ...message }],
        });
      await post(value(text('wamid.MONTY.ORIG', 'room for 2')), 'montymobile');
      await post(value(edit('wamid.MONTY.EDIT', 'wamid.MONTY.ORIG', { type: 'text', text: { body: 'room for 3' } })), 'montymobile');
      expect(await storedMessage(server.db, 'wamid.MONTY.ORIG')).toMatchObject({
        text: 'room for 3',
        metadata: { provider: 'montymobile' },
      });
      await post(value(revoke('wamid.MONTY.REV', 'wamid.MONTY.ORIG')), 'montymobile');
      expect(await storedMessage(server.db, 'wamid.MONTY.ORIG')).toMatchObject({ text: null, deleted_at: expect.any(String) });
      expect(await storedCounts(server.db)).toMatchObject({ messages: 1 });
    });

    it('[ED1] an edit and its original in one webhook meet; bad input (edit without original id) is kept as unsupported, nothing else changes', async () => {
      await post(payload([edit(EDIT, ORIGINAL, { type: 'text', text: { body: 'fixed typo' } }), text(ORIGINAL, 'fixd typo')]));
      expect(await storedMessage(server.db, ORIGINAL)).toMatchObject({ text: 'fixed typo' });
      await post(payload([{ id: EDIT_2, timestamp: String(T0), type: 'edit', edit: { message: { type: 'text', text: { body: 'x' } } } }]));
      const bad = await storedMessage(server.db, EDIT_2);
      expect(bad).toMatchObject({
        type: 'unsupported',
        metadata: { unsupported_type: 'edit', unsupported_reason: 'missing or malformed "edit" object' },
      });
      expect(await storedMessage(server.db, ORIGINAL)).toMatchObject({ text: 'fixed typo' });
    });
  });
}
