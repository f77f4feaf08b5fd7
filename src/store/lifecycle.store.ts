import type { Insertable, Kysely, Transaction } from 'kysely';
import type { ContactRow, DB, MessageRow, PendingOperationTable } from './schema.js';

type Db = Kysely<DB> | Transaction<DB>;

/*
 * Queries behind a message's later life [ED1][RV1][SY1]: edits and revokes applied to a stored
 * message, the ones waiting for their original, media removed on revoke, and a contact answering
 * to a new number. Rare operations: none of this runs for an ordinary inbound message.
 */

/** A pending operation as recorded: the table's row without its id and application time. */
export type PendingOperationInput = Omit<Insertable<PendingOperationTable>, 'id' | 'applied_at'>;

/** Records an operation waiting for its original; false when this operation id is recorded already (a redelivery). */
export async function insertPendingOperation(db: Db, row: PendingOperationInput): Promise<boolean> {
  const inserted = await db
    .insertInto('pending_operations')
    .values({ ...row, applied_at: null })
    .onConflict((oc) => oc.columns(['conversation_id', 'operation_id']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted !== undefined;
}

/** Whether the conversation already saw this operation id, applied or waiting. */
export async function hasPendingOperation(db: Db, conversationId: string, operationId: string): Promise<boolean> {
  const row = await db
    .selectFrom('pending_operations')
    .select('id')
    .where('conversation_id', '=', conversationId)
    .where('operation_id', '=', operationId)
    .executeTakeFirst();
  return row !== undefined;
}

/** The operations still waiting for `targetMessageId` in a conversation, in arrival order. */
export async function waitingOperations(db: Db, conversationId: string, targetMessageId: string) {
  return db
    .selectFrom('pending_operations')
    .selectAll()
    .where('conversation_id', '=', conversationId)
    .where('target_message_id', '=', targetMessageId)
    .where('applied_at', 'is', null)
    .orderBy('id')
    .execute();
}

export async function markOperationsApplied(db: Db, ids: number[], now: string): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('pending_operations').set({ applied_at: now }).where('id', 'in', ids).execute();
}

/** Operations of a conversation still waiting, oldest first (what its metadata lists). */
export async function stillWaiting(db: Db, conversationId: string) {
  return db
    .selectFrom('pending_operations')
    .select(['kind', 'operation_id', 'target_message_id', 'received_at'])
    .where('conversation_id', '=', conversationId)
    .where('applied_at', 'is', null)
    .orderBy('id')
    .execute();
}

export type LifecyclePatch = Partial<Pick<MessageRow, 'text' | 'media' | 'metadata' | 'edited_at' | 'deleted_at'>>;

/** Writes an edit or a revoke into the message row; the row is returned as stored. */
export async function patchMessageLifecycle(db: Db, pk: number, patch: LifecyclePatch, now: string): Promise<MessageRow> {
  return db
    .updateTable('messages')
    .set({ ...patch, updated_at: now })
    .where('id', '=', pk)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Removes a media object's bytes from the database and marks it `deleted` (never downloaded or
 * served again: a download in flight finds it no longer pending). Returns the file path (relative
 * to DATA_DIR) the caller must remove after COMMIT, or null when the bytes were in media_blobs or never arrived.
 */
export async function deleteMediaContent(db: Db, mediaId: string, now: string): Promise<string | null> {
  const row = await db.selectFrom('media').select(['storage_path']).where('media_id', '=', mediaId).executeTakeFirst();
  if (!row) return null;
  await db.deleteFrom('media_blobs').where('media_id', '=', mediaId).execute();
  await db
    .updateTable('media')
    .set({ status: 'deleted', storage_path: null, size: null, sha256: null, error: null, updated_at: now })
    .where('media_id', '=', mediaId)
    .execute();
  return row.storage_path;
}

/**
 * [SY2] The contact now answers to `waId`: its key and phone become the new number, so later
 * messages from it find the same contact (and conversation) by key, and replies go there. Undefined,
 * changing nothing, when another contact of the channel holds that key already.
 */
export async function moveContactToNumber(db: Db, contact: ContactRow, waId: string, now: string): Promise<ContactRow | undefined> {
  if (contact.contact_key === waId && contact.wa_id === waId) return contact;
  const other = await db
    .selectFrom('contacts')
    .select('id')
    .where('channel_id', '=', contact.channel_id)
    .where('contact_key', '=', waId)
    .where('id', '!=', contact.id)
    .executeTakeFirst();
  if (other) return undefined;
  return db
    .updateTable('contacts')
    .set({ contact_key: waId, wa_id: waId, updated_at: now })
    .where('id', '=', contact.id)
    .returningAll()
    .executeTakeFirstOrThrow();
}
