import { sql, type Insertable, type Kysely, type Transaction } from 'kysely';
import type { Media } from '../chat/types.js';
import type { DB, MediaRow, MediaTable, MessageRow } from './schema.js';

type Db = Kysely<DB> | Transaction<DB>;

/**
 * Where a ready media object's bytes are: `storage_path` relative to DATA_DIR for a file, or null
 * when they are in `media_blobs` (MEDIA_STORE=database).
 */
export interface ReadyMedia {
  storage_path: string | null;
  size: number;
  mime_type: string;
}

export async function getMedia(db: Db, mediaId: string): Promise<MediaRow | undefined> {
  return db.selectFrom('media').selectAll().where('media_id', '=', mediaId).executeTakeFirst();
}

/** pending → ready; false when the row is not pending (another worker finished it first). */
export async function markMediaReady(db: Db, mediaId: string, ready: ReadyMedia): Promise<boolean> {
  const r = await db
    .updateTable('media')
    .set({
      status: 'ready',
      storage_path: ready.storage_path,
      size: ready.size,
      mime_type: ready.mime_type,
      error: null,
      updated_at: new Date().toISOString(),
    })
    .where('media_id', '=', mediaId)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** pending → failed with a reason; false when the row is not pending. */
export async function markMediaFailed(db: Db, mediaId: string, reason: string): Promise<boolean> {
  const r = await db
    .updateTable('media')
    .set({ status: 'failed', error: reason, updated_at: new Date().toISOString() })
    .where('media_id', '=', mediaId)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Stores (or replaces) the bytes of a media object kept in the database. */
export async function putMediaBlob(db: Db, mediaId: string, bytes: Buffer): Promise<void> {
  await db
    .insertInto('media_blobs')
    .values({ media_id: mediaId, bytes })
    .onConflict((oc) => oc.column('media_id').doUpdateSet({ bytes }))
    .execute();
}

/** `length` bytes of a stored blob from byte `start` (0-based); fewer at the end, undefined when there is no blob. */
export async function readMediaBlobRange(db: Db, mediaId: string, start: number, length: number): Promise<Buffer | undefined> {
  const row = await db
    .selectFrom('media_blobs')
    .select(sql<Uint8Array>`substr(bytes, ${start + 1}, ${length})`.as('part'))
    .where('media_id', '=', mediaId)
    .executeTakeFirst();
  if (!row) return undefined;
  const part = row.part;
  return Buffer.isBuffer(part) ? part : Buffer.from(part.buffer, part.byteOffset, part.byteLength);
}

/**
 * Merges `patch` into a message's media JSON. A compare-and-set on the JSON text, so a writer that
 * changed the media meanwhile (a transcript) is not overwritten: it re-reads and merges again.
 * Undefined when the message does not exist or has no media.
 */
export async function patchMessageMedia(db: Db, messagePk: number, patch: Partial<Media>): Promise<MessageRow | undefined> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const row = await db.selectFrom('messages').selectAll().where('id', '=', messagePk).executeTakeFirst();
    if (!row || row.media === null) return undefined;
    const media = JSON.parse(row.media) as Media;
    const updated = await db
      .updateTable('messages')
      .set({ media: JSON.stringify({ ...media, ...patch }), updated_at: new Date().toISOString() })
      .where('id', '=', messagePk)
      .where('media', '=', row.media)
      .returningAll()
      .executeTakeFirst();
    if (updated) return updated;
  }
  throw new Error(`message ${messagePk}: media changed underneath 8 times in a row`);
}

/** Inserts a media row (an operator's upload, stored `ready` in the same unit as its message). */
export async function insertMedia(db: Db, row: Insertable<MediaTable>): Promise<void> {
  await db.insertInto('media').values(row).execute();
}
