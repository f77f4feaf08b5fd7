import { sql, type Kysely, type Transaction } from 'kysely';
import type { ConversationParts } from './conversation.store.js';
import type { DialectName } from './database.js';
import type { DB } from './schema.js';

type Db = Kysely<DB> | Transaction<DB>;

export interface ConversationFilter {
  states?: string[];
  handoverReason?: string;
  operatorId?: string;
  /** Case-insensitive substring of the contact's name, number (wa_id) or any message text. */
  search?: string;
  /** Keyset position: rows strictly after this one in (last_activity_at desc, id desc) order. */
  after?: { lastActivityAt: string; id: string };
  limit: number;
}

export interface ConversationListPage {
  items: ConversationParts[];
  hasMore: boolean;
}

/** `%` and `_` in the user's text match themselves. */
function likePattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Above this many matching messages the word is common: scanning conversations newest first finds a page sooner. */
const INDEXED_MATCH_LIMIT = 1_000;

/**
 * The conversations whose message text contains `search`, from the text index (SQLite FTS5
 * trigram, PostgreSQL pg_trgm) — when that is cheap. Null means "scan instead": fewer than 3
 * characters (an index needs a trigram), `%`/`_`/`\\` in the text on SQLite (FTS5 has no LIKE
 * escape), or so many matches that the word is common and a newest-first scan finds a page sooner.
 */
async function conversationsWithText(db: Db, dialect: DialectName, search: string): Promise<string[] | null> {
  if ([...search].length < 3) return null;
  let ids: number[];
  if (dialect === 'sqlite') {
    if (/[%_\\]/.test(search)) return null;
    const hits = await sql<{ rowid: number }>`select rowid from messages_fts where text like ${`%${search}%`} limit ${INDEXED_MATCH_LIMIT + 1}`.execute(db);
    ids = hits.rows.map((r) => r.rowid);
  } else {
    const hits = await db.selectFrom('messages').select('id')
      .where(sql`lower(text)`, 'like', sql`${likePattern(search)} escape '\\'`).limit(INDEXED_MATCH_LIMIT + 1).execute();
    ids = hits.map((r) => r.id);
  }
  if (ids.length > INDEXED_MATCH_LIMIT) return null;
  if (ids.length === 0) return [];
  const rows = await db.selectFrom('messages').select('conversation_id').distinct().where('id', 'in', ids).execute();
  return rows.map((r) => r.conversation_id);
}

/**
 * One page of conversations, newest activity first (last_activity_at desc, id desc), read by keyset
 * from the (last_activity_at, id) index: later pages cost what the first costs. The message-text
 * search is an EXISTS over the conversation's messages.
 */
export async function listConversationPage(db: Db, dialect: DialectName, filter: ConversationFilter): Promise<ConversationListPage> {
  let q = db.selectFrom('conversations as c').selectAll('c');
  if (filter.states && filter.states.length > 0) q = q.where('c.state', 'in', filter.states);
  if (filter.operatorId !== undefined) q = q.where('c.operator_id', '=', filter.operatorId);
  if (filter.handoverReason !== undefined) {
    const reason = dialect === 'postgres'
      ? sql<string>`(c.handover::jsonb ->> 'reason')`
      : sql<string>`json_extract(c.handover, '$.reason')`;
    q = q.where(reason, '=', filter.handoverReason);
  }
  if (filter.search !== undefined && filter.search.length > 0) {
    const pattern = likePattern(filter.search);
    const indexed = await conversationsWithText(db, dialect, filter.search);
    q = q.where((eb) => eb.or([
      // Not correlated: the matching contacts are read once, not once per conversation scanned.
      eb('c.contact_id', 'in', eb.selectFrom('contacts as ct').select('ct.id')
        .where((e) => e.or([
          e(sql`lower(ct.name)`, 'like', sql`${pattern} escape '\\'`),
          e(sql`lower(ct.wa_id)`, 'like', sql`${pattern} escape '\\'`),
        ]))),
      indexed !== null
        ? (indexed.length > 0 ? eb('c.id', 'in', indexed) : sql<boolean>`1 = 0`)
        : eb.exists(eb.selectFrom('messages as m').select(sql`1`.as('one'))
          .whereRef('m.conversation_id', '=', 'c.id')
          .where(sql`lower(m.text)`, 'like', sql`${pattern} escape '\\'`)),
    ]));
  }
  if (filter.after) {
    const { lastActivityAt, id } = filter.after;
    q = q.where((eb) => eb.or([
      eb('c.last_activity_at', '<', lastActivityAt),
      eb.and([eb('c.last_activity_at', '=', lastActivityAt), eb('c.id', '<', id)]),
    ]));
  }
  const rows = await q.orderBy('c.last_activity_at', 'desc').orderBy('c.id', 'desc').limit(filter.limit + 1).execute();
  const page = rows.slice(0, filter.limit);
  if (page.length === 0) return { items: [], hasMore: false };

  const contactIds = [...new Set(page.map((r) => r.contact_id))];
  const channelIds = [...new Set(page.map((r) => r.channel_id))];
  const operatorIds = [...new Set(page.flatMap((r) => (r.operator_id ? [r.operator_id] : [])))];
  const [contacts, channels, operators] = await Promise.all([
    db.selectFrom('contacts').selectAll().where('id', 'in', contactIds).execute(),
    db.selectFrom('channels').selectAll().where('id', 'in', channelIds).execute(),
    operatorIds.length > 0 ? db.selectFrom('operators').select(['id', 'name']).where('id', 'in', operatorIds).execute() : Promise.resolve([]),
  ]);
  const contactById = new Map(contacts.map((r) => [r.id, r]));
  const channelById = new Map(channels.map((r) => [r.id, r]));
  const operatorById = new Map(operators.map((r) => [r.id, r]));
  const items = page.map((conversation) => ({
    conversation,
    contact: contactById.get(conversation.contact_id)!,
    channel: channelById.get(conversation.channel_id)!,
    operator: conversation.operator_id ? operatorById.get(conversation.operator_id) ?? null : null,
  }));
  return { items, hasMore: rows.length > filter.limit };
}
