import { sql, type Kysely, type Transaction } from 'kysely';
import type { DialectName } from './database.js';
import type { ChannelRow, ContactRow, ConversationRow, DB, OperatorRow } from './schema.js';
import { newRowId } from './json.js';

type Db = Kysely<DB> | Transaction<DB>;

export interface ChannelInput {
  provider: string;
  external_id: string;
  name: string | null;
}

/** Finds or creates the channel (provider, external id); keeps the first non-null name. */
export async function upsertChannel(db: Db, input: ChannelInput, now: string): Promise<ChannelRow> {
  const existing = await db
    .selectFrom('channels')
    .selectAll()
    .where('provider', '=', input.provider)
    .where('external_id', '=', input.external_id)
    .executeTakeFirst();
  if (existing && (existing.name !== null || input.name === null)) return existing;
  await db
    .insertInto('channels')
    .values({ id: newRowId('ch'), provider: input.provider, external_id: input.external_id, name: input.name, created_at: now })
    .onConflict((oc) => oc.columns(['provider', 'external_id']).doUpdateSet({ name: sql`coalesce(channels.name, excluded.name)` }))
    .execute();
  return db
    .selectFrom('channels')
    .selectAll()
    .where('provider', '=', input.provider)
    .where('external_id', '=', input.external_id)
    .executeTakeFirstOrThrow();
}

export interface ContactInput {
  channel_id: string;
  contact_key: string;
  wa_id: string | null;
  user_id: string | null;
  name: string | null;
  username?: string | null;
}

/** Finds or creates the contact; newer non-null name, phone, BSUID and username replace older ones. */
export async function upsertContact(db: Db, given: ContactInput, now: string): Promise<ContactRow> {
  const input = { ...given, username: given.username ?? null };
  const existing =
    (await db
      .selectFrom('contacts')
      .selectAll()
      .where('channel_id', '=', input.channel_id)
      .where('contact_key', '=', input.contact_key)
      .executeTakeFirst()) ?? (await findByOtherIdentity(db, input));
  const unchanged =
    existing &&
    (input.name === null || input.name === existing.name) &&
    (input.wa_id === null || input.wa_id === existing.wa_id) &&
    (input.user_id === null || input.user_id === existing.user_id) &&
    (input.username === null || input.username === existing.username);
  if (existing && unchanged) return existing;
  if (existing && existing.contact_key !== input.contact_key) {
    // The same person under another key (a BSUID user whose phone appeared, or the reverse): keep
    // their one contact and conversation, and learn the new identifier.
    return db
      .updateTable('contacts')
      .set({
        name: input.name ?? existing.name,
        wa_id: input.wa_id ?? existing.wa_id,
        user_id: input.user_id ?? existing.user_id,
        username: input.username ?? existing.username,
        updated_at: now,
      })
      .where('id', '=', existing.id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }
  await db
    .insertInto('contacts')
    .values({ id: newRowId('ct'), ...input, language: null, created_at: now, updated_at: now })
    .onConflict((oc) =>
      oc.columns(['channel_id', 'contact_key']).doUpdateSet({
        name: sql`coalesce(excluded.name, contacts.name)`,
        wa_id: sql`coalesce(excluded.wa_id, contacts.wa_id)`,
        user_id: sql`coalesce(excluded.user_id, contacts.user_id)`,
        username: sql`coalesce(excluded.username, contacts.username)`,
        updated_at: now,
      }),
    )
    .execute();
  return db
    .selectFrom('contacts')
    .selectAll()
    .where('channel_id', '=', input.channel_id)
    .where('contact_key', '=', input.contact_key)
    .executeTakeFirstOrThrow();
}

/** A contact of the channel with the same BSUID or the same phone, whatever key it was filed under. */
async function findByOtherIdentity(db: Db, input: ContactInput): Promise<ContactRow | undefined> {
  if (input.user_id === null && input.wa_id === null) return undefined;
  return db
    .selectFrom('contacts')
    .selectAll()
    .where('channel_id', '=', input.channel_id)
    .where((eb) =>
      eb.or([
        ...(input.user_id !== null ? [eb('user_id', '=', input.user_id)] : []),
        ...(input.wa_id !== null ? [eb('wa_id', '=', input.wa_id)] : []),
      ]),
    )
    .orderBy('created_at')
    .limit(1)
    .executeTakeFirst();
}

/** The one conversation of (channel, contact), created in `initialState` when new. */
export async function ensureConversation(
  db: Db,
  channelId: string,
  contactId: string,
  initialState: string,
  now: string,
): Promise<{ row: ConversationRow; created: boolean }> {
  const existing = await db
    .selectFrom('conversations')
    .selectAll()
    .where('channel_id', '=', channelId)
    .where('contact_id', '=', contactId)
    .executeTakeFirst();
  if (existing) return { row: existing, created: false };
  const inserted = await db
    .insertInto('conversations')
    .values({
      id: newRowId('c'),
      channel_id: channelId,
      contact_id: contactId,
      state: initialState,
      operator_id: null,
      handover: null,
      unread_count: 0,
      last_seq: 0,
      last_inbound_at: null,
      last_activity_at: now,
      legacy_id: null,
      metadata: '{}',
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) => oc.columns(['channel_id', 'contact_id']).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { row: inserted, created: true };
  const row = await db
    .selectFrom('conversations')
    .selectAll()
    .where('channel_id', '=', channelId)
    .where('contact_id', '=', contactId)
    .executeTakeFirstOrThrow();
  return { row, created: false };
}

export type ConversationPatch = Partial<
  Pick<
    ConversationRow,
    'state' | 'operator_id' | 'handover' | 'unread_count' | 'last_inbound_at' | 'last_activity_at' | 'metadata' | 'legacy_id'
  >
>;

export async function updateConversation(db: Db, id: string, patch: ConversationPatch, now: string): Promise<ConversationRow> {
  return db
    .updateTable('conversations')
    .set({ ...patch, updated_at: now })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function getConversationRow(db: Db, id: string): Promise<ConversationRow | undefined> {
  return db.selectFrom('conversations').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Everything needed to present one conversation (SPEC §3). */
export interface ConversationParts {
  conversation: ConversationRow;
  contact: ContactRow;
  channel: ChannelRow;
  operator: Pick<OperatorRow, 'id' | 'name'> | null;
}

export async function getConversationParts(db: Db, id: string): Promise<ConversationParts | undefined> {
  const conversation = await getConversationRow(db, id);
  if (!conversation) return undefined;
  return completeParts(db, conversation);
}

export async function completeParts(db: Db, conversation: ConversationRow): Promise<ConversationParts> {
  const [contact, channel, operator] = await Promise.all([
    db.selectFrom('contacts').selectAll().where('id', '=', conversation.contact_id).executeTakeFirstOrThrow(),
    db.selectFrom('channels').selectAll().where('id', '=', conversation.channel_id).executeTakeFirstOrThrow(),
    operatorOf(db, conversation),
  ]);
  return { conversation, contact, channel, operator };
}

/** The operator who owns the conversation (id and name, as a Conversation shows them), or null. */
export async function operatorOf(db: Db, conversation: Pick<ConversationRow, 'operator_id'>): Promise<ConversationParts['operator']> {
  if (!conversation.operator_id) return null;
  return (await db.selectFrom('operators').select(['id', 'name']).where('id', '=', conversation.operator_id).executeTakeFirst()) ?? null;
}

/**
 * The conversation row, locked until COMMIT on PostgreSQL (SQLite has one writer anyway): the last
 * check of the state or owner [AI3] and whatever the unit then writes cannot interleave with another
 * unit's (a takeover, a hand-back, the AI's reply).
 */
export async function lockConversationRow(db: Db, dialect: DialectName, id: string): Promise<ConversationRow | undefined> {
  const q = db.selectFrom('conversations').selectAll().where('id', '=', id);
  return (dialect === 'postgres' ? q.forUpdate() : q).executeTakeFirst();
}
