import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from './database.js';
import { listConversationPage, type ConversationFilter } from './conversation-query.store.js';
import { upsertChannel } from './conversation.store.js';
import { contractDatabases, type TestDatabase } from '../../test/support/databases.js';

/*
 * Search finds its page in one of two ways (conversation-query.store.ts): the few conversations a
 * search finds are read by primary key and sorted, or conversations are walked newest first and
 * each is checked. The data below sends each search down a known way; every one must give exactly
 * the rows and order of a plain model, page after page through the keyset cursor.
 */

const CONVERSATIONS = 300;
const BASE = Date.parse('2026-03-01T10:00:00.000Z');

interface Model {
  id: string;
  at: string;
  state: string;
  name: string;
  wa: string;
  texts: string[];
}

function modelOf(i: number): Model {
  const texts = [`hello there ${i}`, `order number ${i}`];
  // 150 conversations × 8 = 1,200 messages with "refund": more than the index is asked for, so walked.
  if (i % 2 === 0) for (let k = 0; k < 8; k++) texts.push(`I want a Refund for item ${k}`);
  // Five messages: read by key.
  if (i % 61 === 0) texts.push('Is the OBSIDIANITE parcel here?');
  // LIKE wildcards and a quote, which the index query must take as plain text.
  if (i === 17 || i === 230) texts.push('50%_off says "hi" \\o/');
  if (i === 7) texts.push('a note for Zora');
  if (i === 260) texts.push('a new member card');
  if (i === 33) texts.push('ÉCLAIR for two');
  // Six contacts called Zora (read by key, with conversation 7's text), 250 crowd contacts (walked).
  const name = i % 50 === 0 ? `Zora Quill ${i}` : i < 250 ? `Crowd Member ${i}` : `Guest ${i}`;
  return {
    id: `cs-${String(i).padStart(4, '0')}`,
    // Forty instants, several conversations on each: ties are ordered by id.
    at: new Date(BASE + (i % 40) * 60_000).toISOString(),
    state: ['resolved', 'ai', 'waiting'][i % 3]!,
    name,
    wa: `96175${String(i).padStart(6, '0')}`,
    texts,
  };
}

const models = Array.from({ length: CONVERSATIONS }, (_, i) => modelOf(i));

async function fill(store: Store): Promise<void> {
  const now = new Date(BASE).toISOString();
  await store.db.transaction().execute(async (trx) => {
    const channel = await upsertChannel(trx, { provider: 'meta', external_id: 'search-model', name: 'Search' }, now);
    await trx
      .insertInto('contacts')
      .values(
        models.map((m) => ({
          id: `ct-${m.id}`,
          channel_id: channel.id,
          contact_key: m.wa,
          wa_id: m.wa,
          user_id: null,
          name: m.name,
          language: null,
          created_at: now,
          updated_at: now,
        })),
      )
      .execute();
    await trx
      .insertInto('conversations')
      .values(
        models.map((m) => ({
          id: m.id,
          channel_id: channel.id,
          contact_id: `ct-${m.id}`,
          state: m.state,
          operator_id: null,
          handover: null,
          unread_count: 0,
          last_seq: m.texts.length,
          last_inbound_at: m.at,
          last_activity_at: m.at,
          legacy_id: null,
          metadata: '{}',
          created_at: now,
          updated_at: now,
        })),
      )
      .execute();
    const messages = models.flatMap((m) =>
      m.texts.map((text, k) => ({
        conversation_id: m.id,
        message_id: `${m.id}.${k + 1}`,
        seq: k + 1,
        role: 'user',
        type: 'text',
        text,
        media: null,
        status: 'received',
        error: null,
        operator_id: null,
        operator_name: null,
        reply_to: null,
        timestamp: m.at,
        metadata: '{}',
        provider_message_id: null,
        client_key: null,
        created_at: now,
        updated_at: now,
      })),
    );
    for (let start = 0; start < messages.length; start += 500)
      await trx
        .insertInto('messages')
        .values(messages.slice(start, start + 500))
        .execute();
  });
}

/** What the search should find: contact name, number or any message text contains it, ignoring (ASCII) case. */
function expected(search: string, keep: (m: Model) => boolean = () => true): string[] {
  const s = search.toLowerCase();
  return models
    .filter((m) => keep(m) && [m.name, m.wa, ...m.texts].some((t) => t.toLowerCase().includes(s)))
    .sort((a, b) => (a.at === b.at ? (a.id < b.id ? 1 : -1) : a.at < b.at ? 1 : -1))
    .map((m) => m.id);
}

for (const factory of contractDatabases()) {
  describe(`conversation search on ${factory.kind}: read by key or walked, the same pages`, () => {
    let database: TestDatabase;
    let store: Store;

    beforeAll(async () => {
      database = await factory.create();
      store = await database.open();
      await fill(store);
    });
    afterAll(async () => {
      if (factory.kind !== 'pglite') await store.close();
      await database.destroy();
    });

    /** Every page of a search through the keyset cursor; each full page but the last says hasMore. */
    async function walk(filter: Omit<ConversationFilter, 'limit' | 'after'>, limit: number): Promise<string[]> {
      const ids: string[] = [];
      let after: ConversationFilter['after'];
      for (let n = 0; n < 200; n++) {
        const page = await listConversationPage(store.reader, store.dialect, { ...filter, after, limit });
        expect(page.items.length).toBeLessThanOrEqual(limit);
        ids.push(...page.items.map((i) => i.conversation.id));
        if (!page.hasMore) return ids;
        expect(page.items).toHaveLength(limit);
        const last = page.items.at(-1)!.conversation;
        after = { lastActivityAt: last.last_activity_at, id: last.id };
      }
      throw new Error('cursor walk did not end');
    }

    it('[§7 search] a rare word, read by key: every match once, newest first, across pages and filters', async () => {
      expect(expected('obsidianite')).toHaveLength(5);
      expect(await walk({ search: 'obsidianite' }, 2)).toEqual(expected('obsidianite'));
      expect(await walk({ search: 'ObsidiaNITE' }, 1)).toEqual(expected('obsidianite'));
      expect(await walk({ search: 'obsidianite', states: ['resolved'] }, 1)).toEqual(
        expected('obsidianite', (m) => m.state === 'resolved'),
      );
      expect(await walk({ search: 'obsidianite', states: ['ai', 'waiting'] }, 2)).toEqual(
        expected('obsidianite', (m) => m.state !== 'resolved'),
      );
      expect(await walk({ search: 'obsidianite', operatorId: 'op_nobody' }, 2)).toEqual([]);
      expect(await walk({ search: 'zanzibarite' }, 2)).toEqual([]);
    });

    it('[§7 search] a few matching contacts and a message text together, read by key', async () => {
      expect(expected('zora')).toHaveLength(7);
      expect(await walk({ search: 'zora' }, 3)).toEqual(expected('zora'));
      expect(await walk({ search: 'ZORA quill' }, 4)).toEqual(expected('zora quill'));
      expect(await walk({ search: 'zora', states: ['waiting', 'resolved'] }, 2)).toEqual(expected('zora', (m) => m.state !== 'ai'));
      expect(await walk({ search: '96175000042' }, 2)).toEqual(['cs-0042']);
    });

    it('[§7 search] LIKE wildcards and quotes in the text match themselves', async () => {
      expect(await walk({ search: '50%_off' }, 1)).toEqual(expected('50%_off'));
      expect(expected('50%_off')).toHaveLength(2);
      expect(await walk({ search: 'says "hi"' }, 1)).toEqual(expected('says "hi"'));
      expect(await walk({ search: '\\o/' }, 1)).toEqual(expected('\\o/'));
      expect(await walk({ search: '%%%' }, 5)).toEqual([]);
      expect(await walk({ search: '"' }, 5)).toEqual(expected('"'));
    });

    if (factory.kind === 'sqlite')
      it("[§7 search] SQLite: the index's candidates are checked with the walk's LIKE, which folds ASCII case only", async () => {
        // The trigram index also folds É to é; SQLite's LIKE (and lower()) do not, in the walk or here.
        expect(await walk({ search: 'éclair' }, 5)).toEqual([]);
        expect(await walk({ search: 'CLAIR fo' }, 5)).toEqual(['cs-0033']);
      });

    it('[§7 search] a common word, walked newest first: the same pages as the model', async () => {
      expect(models.reduce((n, m) => n + m.texts.filter((t) => /refund/i.test(t)).length, 0)).toBeGreaterThan(1_000);
      expect(await walk({ search: 'refund' }, 17)).toEqual(expected('refund'));
      // A phrase of it is in 150 messages: read by key, the same order.
      expect(await walk({ search: 'REFUND for item 3' }, 40)).toEqual(expected('refund for item 3'));
      expect(await walk({ search: 'refund', states: ['waiting'] }, 9)).toEqual(expected('refund', (m) => m.state === 'waiting'));
    });

    it('[§7 search] many matching contacts, walked: contacts and the indexed text together', async () => {
      expect(expected('crowd member')).toHaveLength(250 - 5);
      expect(await walk({ search: 'crowd member' }, 25)).toEqual(expected('crowd member'));
      expect(await walk({ search: 'member', states: ['ai'] }, 6)).toEqual(expected('member', (m) => m.state === 'ai'));
      expect(expected('member')).toContain('cs-0260');
      expect(await walk({ search: 'member' }, 50)).toEqual(expected('member'));
      // A hundred and eleven contacts: read by key again.
      expect(await walk({ search: 'member 1' }, 20)).toEqual(expected('member 1'));
      // Under three characters there is no trigram to ask an index for: walked with a message scan.
      expect(await walk({ search: 'r ' }, 30)).toEqual(expected('r '));
    });
  });
}
