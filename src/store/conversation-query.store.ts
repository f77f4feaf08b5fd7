import { sql, type Kysely, type Transaction } from 'kysely';
import type { ConversationParts } from './conversation.store.js';
import type { DialectName } from './database.js';
import type { DB } from './schema.js';

type Db = Kysely<DB> | Transaction<DB>;

export interface ConversationFilter {
  states?: string[];
  handoverReason?: string;
  operatorId?: string;
  /** Case-insensitive substring of the contact's name, number (wa_id), user id (BSUID) or any message text. */
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

/**
 * `column` contains the text of `pattern` (a likePattern), ignoring case. SQLite's LIKE already
 * ignores ASCII case, which is all its lower() folds, so there the column is compared as stored
 * (half the cost per row); PostgreSQL's LIKE is case-sensitive.
 */
function contains(dialect: DialectName, column: string, pattern: string) {
  return dialect === 'sqlite'
    ? sql<boolean>`${sql.ref(column)} like ${pattern} escape '\\'`
    : sql<boolean>`lower(${sql.ref(column)}) like ${pattern} escape '\\'`;
}

/**
 * Above this many matching messages the text is common: walking conversations newest first finds a
 * page sooner than reading every match.
 */
const INDEXED_MATCH_LIMIT = 1_000;

/**
 * Above this many matching contacts, their conversations are dense enough that the newest-first walk
 * finds a page sooner than reading each contact's conversation.
 */
const CONTACT_MATCH_LIMIT = 200;

/**
 * The conversations whose message text contains `search`, from the text index (SQLite FTS5
 * trigram, PostgreSQL pg_trgm) — when that is cheap. Null means "scan instead": fewer than 3
 * characters (an index needs a trigram) or so many matches that the text is common and a
 * newest-first scan finds a page sooner.
 *
 * On SQLite the index is asked for the search as an FTS5 phrase: with the trigram tokenizer that is
 * a case-folded substring match, read from the index alone (no row fetched per candidate), and never
 * misses a message that LIKE matches; the candidates are then checked with the same LIKE as the scan.
 */
async function conversationsWithText(db: Db, dialect: DialectName, search: string): Promise<string[] | null> {
  const lowered = search.toLowerCase();
  if ([...lowered].length < 3) return null;
  const pattern = likePattern(search);
  if (dialect === 'sqlite') {
    const phrase = `"${lowered.replaceAll('"', '""')}"`;
    // Counted first: a common text then costs a count, not a thousand rows.
    const counted = await sql<{
      n: number;
    }>`select count(*) as n from (select rowid from messages_fts where messages_fts match ${phrase} limit ${INDEXED_MATCH_LIMIT + 1})`.execute(
      db,
    );
    if (counted.rows[0]!.n > INDEXED_MATCH_LIMIT) return null;
    const rows = await db
      .selectFrom('messages as m')
      .select('m.conversation_id')
      .distinct()
      .where(sql<boolean>`m.id in (select rowid from messages_fts where messages_fts match ${phrase})`)
      .where(contains(dialect, 'm.text', pattern))
      .execute();
    return rows.map((r) => r.conversation_id);
  }
  const hits = await db
    .selectFrom('messages as m')
    .select('m.conversation_id')
    .where(contains(dialect, 'm.text', pattern))
    .limit(INDEXED_MATCH_LIMIT + 1)
    .execute();
  if (hits.length > INDEXED_MATCH_LIMIT) return null;
  return [...new Set(hits.map((r) => r.conversation_id))];
}

/**
 * How a search page is read. `ids`: every conversation the search finds (contact name or number,
 * message text), few enough to read by primary key and sort — a rare word no longer walks every
 * conversation to find its few. `scan`: walk conversations newest first, checking each; `textIds`
 * are the conversations with the text when the index gave them, null when the text is common (or
 * too short for the index) and each conversation's messages are searched instead.
 */
/**
 * What a search matches on the contact: the name, the number, Meta's business-scoped user id (a
 * BSUID-only customer has no number, so an operator finds them by `US.…`) and username.
 */
const CONTACT_SEARCH_COLUMNS = ['ct.name', 'ct.wa_id', 'ct.user_id', 'ct.username'] as const;

type SearchPlan = { ids: string[] } | { scan: { textIds: string[] | null } };

async function planSearch(db: Db, dialect: DialectName, search: string): Promise<SearchPlan> {
  const textIds = await conversationsWithText(db, dialect, search);
  if (textIds === null) return { scan: { textIds } };
  const pattern = likePattern(search);
  const contacts = await db
    .selectFrom('contacts as ct')
    .select('ct.id')
    .where((eb) => eb.or(CONTACT_SEARCH_COLUMNS.map((column) => contains(dialect, column, pattern))))
    .limit(CONTACT_MATCH_LIMIT + 1)
    .execute();
  if (contacts.length > CONTACT_MATCH_LIMIT) return { scan: { textIds } };
  if (contacts.length === 0) return { ids: textIds };
  // Every channel times each contact: the (channel_id, contact_id) index answers that, whatever
  // channel a contact was made on; contact_id alone has no index.
  const byContact = await db
    .selectFrom('conversations as c')
    .select('c.id')
    .where('c.channel_id', 'in', db.selectFrom('channels').select('channels.id'))
    .where(
      'c.contact_id',
      'in',
      contacts.map((r) => r.id),
    )
    .execute();
  return { ids: [...new Set([...textIds, ...byContact.map((r) => r.id)])] };
}

/**
 * One page of conversations, newest activity first (last_activity_at desc, id desc), read by keyset:
 * later pages cost what the first costs. Without a search, or for a common search text, the page is
 * walked from the (last_activity_at, id) index, each conversation checked as it comes (contact by
 * key, an EXISTS over its messages); a search that finds few conversations reads just those by
 * primary key and sorts them. Both give the same rows in the same order, so cursors mean the same.
 */
export async function listConversationPage(db: Db, dialect: DialectName, filter: ConversationFilter): Promise<ConversationListPage> {
  const search = filter.search !== undefined && filter.search.length > 0 ? filter.search : null;
  const plan = search !== null ? await planSearch(db, dialect, search) : null;
  const byKey = plan !== null && 'ids' in plan ? plan.ids : null;
  if (byKey !== null && byKey.length === 0) return { items: [], hasMore: false };

  let q = db.selectFrom('conversations as c').selectAll('c');
  if (byKey !== null) q = q.where('c.id', 'in', byKey);
  if (filter.states && filter.states.length > 0) {
    // Reading candidates by key, SQLite (no statistics) would rather walk the state index to skip the
    // sort, i.e. every conversation in those states; the unary + keeps it on the key.
    const state = byKey !== null && dialect === 'sqlite' ? sql<string>`+c.state` : sql<string>`c.state`;
    q = q.where(state, 'in', filter.states);
  }
  if (filter.operatorId !== undefined) q = q.where('c.operator_id', '=', filter.operatorId);
  if (filter.handoverReason !== undefined) {
    const reason =
      dialect === 'postgres' ? sql<string>`(c.handover::jsonb ->> 'reason')` : sql<string>`json_extract(c.handover, '$.reason')`;
    q = q.where(reason, '=', filter.handoverReason);
  }
  if (search !== null && plan !== null && 'scan' in plan) {
    const pattern = likePattern(search);
    const { textIds } = plan.scan;
    q = q.where((eb) =>
      eb.or([
        // Correlated: a scan's walk is short (a common text, or many matching contacts), and the
        // contacts are then never read whole.
        eb.exists(
          eb
            .selectFrom('contacts as ct')
            .select(sql`1`.as('one'))
            .whereRef('ct.id', '=', 'c.contact_id')
            .where((e) => e.or(CONTACT_SEARCH_COLUMNS.map((column) => contains(dialect, column, pattern)))),
        ),
        textIds === null
          ? eb.exists(
              eb
                .selectFrom('messages as m')
                .select(sql`1`.as('one'))
                .whereRef('m.conversation_id', '=', 'c.id')
                .where(contains(dialect, 'm.text', pattern)),
            )
          : textIds.length > 0
            ? eb('c.id', 'in', textIds)
            : sql<boolean>`1 = 0`,
      ]),
    );
  }
  if (filter.after) {
    const { lastActivityAt, id } = filter.after;
    q = q.where((eb) =>
      eb.or([eb('c.last_activity_at', '<', lastActivityAt), eb.and([eb('c.last_activity_at', '=', lastActivityAt), eb('c.id', '<', id)])]),
    );
  }
  const rows = await q
    .orderBy('c.last_activity_at', 'desc')
    .orderBy('c.id', 'desc')
    .limit(filter.limit + 1)
    .execute();
  const page = rows.slice(0, filter.limit);
  if (page.length === 0) return { items: [], hasMore: false };

  const contactIds = [...new Set(page.map((r) => r.contact_id))];
  const channelIds = [...new Set(page.map((r) => r.channel_id))];
  const operatorIds = [...new Set(page.flatMap((r) => (r.operator_id ? [r.operator_id] : [])))];
  const [contacts, channels, operators] = await Promise.all([
    db.selectFrom('contacts').selectAll().where('id', 'in', contactIds).execute(),
    db.selectFrom('channels').selectAll().where('id', 'in', channelIds).execute(),
    operatorIds.length > 0
      ? db.selectFrom('operators').select(['id', 'name']).where('id', 'in', operatorIds).execute()
      : Promise.resolve([]),
  ]);
  const contactById = new Map(contacts.map((r) => [r.id, r]));
  const channelById = new Map(channels.map((r) => [r.id, r]));
  const operatorById = new Map(operators.map((r) => [r.id, r]));
  const items = page.map((conversation) => ({
    conversation,
    contact: contactById.get(conversation.contact_id)!,
    channel: channelById.get(conversation.channel_id)!,
    operator: conversation.operator_id ? (operatorById.get(conversation.operator_id) ?? null) : null,
  }));
  return { items, hasMore: rows.length > filter.limit };
}
