import type { Kysely, Transaction } from 'kysely';
import type { DB } from './schema.js';

type Db = Kysely<DB> | Transaction<DB>;

/** The conversation's state and last seq, for the checks during a generation (cheap, no lock). */
export async function readConversationState(db: Db, id: string): Promise<{ state: string; last_seq: number } | undefined> {
  return db.selectFrom('conversations').select(['state', 'last_seq']).where('id', '=', id).executeTakeFirst();
}

/** Sets the contact's detected language; writes only when it differs (the caller compares too). */
export async function setContactLanguage(db: Db, contactId: string, language: string, now: string): Promise<void> {
  await db
    .updateTable('contacts')
    .set({ language, updated_at: now })
    .where('id', '=', contactId)
    .where((eb) => eb.or([eb('language', 'is', null), eb('language', '!=', language)]))
    .execute();
}
