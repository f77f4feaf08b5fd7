import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { TEST_SECRETS } from '../../test/support/app.js';
import { openStore } from '../../src/store/database.js';

/*
 * Pre-fill for the bench: rows written straight into Switchboard's schema (created by its own
 * migrations, indexes included) with raw better-sqlite3 prepared statements in large transactions —
 * the fast way to a big database. The rows have the shape the ingest path writes. Bench-only SQL.
 */

/** The channel a Meta webhook from the bench arrives on (phone_number_id / display number of metaTextPayload). */
export const META_CHANNEL = { provider: 'meta', external_id: TEST_SECRETS.META_PHONE_NUMBER_ID, name: '15550783881' } as const;
export const CONTACT_NAME = 'Sheena Nelson';

/** Creates the schema (Switchboard's migrations) in a new SQLite file. */
export async function createSchema(path: string): Promise<void> {
  const store = await openStore(`sqlite:${path}`);
  await store.close();
}

export interface MessageSpec {
  text: (seq: number) => string;
  /** ISO time of the message with this seq. */
  timestamp: (seq: number) => string;
  role?: (seq: number) => 'user' | 'assistant';
}

/** Bulk writer over one SQLite file; call `close()` to return it to WAL mode. */
export class SqliteFiller {
  private readonly db: Database.Database;
  private readonly insertMessage: Database.Statement;
  private readonly insertConversation: Database.Statement;
  private readonly insertContact: Database.Statement;
  private pending = 0;
  rows = 0;

  constructor(path: string) {
    this.db = new Database(path);
    // Fill speed only: the file is not in use and a failed fill is thrown away.
    this.db.pragma('journal_mode = OFF');
    this.db.pragma('synchronous = OFF');
    this.db.pragma('cache_size = -262144');
    this.insertMessage = this.db.prepare(`insert into messages (conversation_id, message_id, seq, role, type, text, media, status, error,
      operator_id, operator_name, reply_to, timestamp, metadata, provider_message_id, client_key, created_at, updated_at)
      values (?, ?, ?, ?, 'text', ?, null, ?, null, null, null, null, ?, ?, null, null, ?, ?)`);
    this.insertConversation = this.db.prepare(`insert into conversations (id, channel_id, contact_id, state, operator_id, handover,
      unread_count, last_seq, last_inbound_at, last_activity_at, legacy_id, metadata, created_at, updated_at)
      values (?, ?, ?, ?, null, null, ?, ?, ?, ?, null, '{}', ?, ?)`);
    this.insertContact = this.db
      .prepare(`insert into contacts (id, channel_id, contact_key, wa_id, user_id, name, language, created_at, updated_at)
      values (?, ?, ?, ?, null, ?, null, ?, ?)`);
    this.db.exec('begin');
  }

  channel(now: string): string {
    const id = `ch_${randomBytes(8).toString('hex')}`;
    this.db
      .prepare('insert into channels (id, provider, external_id, name, created_at) values (?, ?, ?, ?, ?)')
      .run(id, META_CHANNEL.provider, META_CHANNEL.external_id, META_CHANNEL.name, now);
    return id;
  }

  contact(channelId: string, waId: string, name: string, now: string): string {
    const id = `ct_${randomBytes(8).toString('hex')}`;
    this.insertContact.run(id, channelId, waId, waId, name, now, now);
    this.tick(1);
    return id;
  }

  conversation(
    id: string,
    channelId: string,
    contactId: string,
    c: { state: string; lastSeq: number; unread: number; lastActivityAt: string; createdAt: string },
  ): void {
    this.insertConversation.run(
      id,
      channelId,
      contactId,
      c.state,
      c.unread,
      c.lastSeq,
      c.lastActivityAt,
      c.lastActivityAt,
      c.createdAt,
      c.lastActivityAt,
    );
    this.tick(1);
  }

  /** Messages with seq fromSeq … fromSeq+count−1. */
  messages(conversationId: string, fromSeq: number, count: number, spec: MessageSpec): void {
    for (let seq = fromSeq; seq < fromSeq + count; seq++) {
      const role = spec.role?.(seq) ?? 'user';
      const messageId =
        role === 'user' ? `wamid.fill${conversationId.slice(2)}${seq.toString(36)}` : `msg_fill_${conversationId.slice(2)}_${seq}`;
      const metadata =
        role === 'user'
          ? `{"provider":"meta","message_id":"${messageId}","source_message_id":"${messageId}"}`
          : `{"message_id":"${messageId}","responder":"faq"}`;
      const at = spec.timestamp(seq);
      this.insertMessage.run(
        conversationId,
        messageId,
        seq,
        role,
        spec.text(seq),
        role === 'user' ? 'received' : 'delivered',
        at,
        metadata,
        at,
        at,
      );
      this.tick(1);
    }
  }

  private tick(n: number): void {
    this.rows += n;
    this.pending += n;
    if (this.pending >= 100_000) {
      this.db.exec('commit; begin');
      this.pending = 0;
    }
  }

  /** Raw SQL for checks after the fill. */
  get raw(): Database.Database {
    return this.db;
  }

  close(): void {
    this.db.exec('commit');
    this.db.pragma('journal_mode = WAL');
    this.db.close();
  }
}

/** Deterministic pseudo-random numbers (mulberry32), so every run builds the same database. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'hello hi thanks please order delivery refund price menu open today tomorrow where when how much available ' +
  'size color cash card address branch pickup late cancel change invoice receipt help agent human yes no okay great ' +
  'problem wrong missing broken warranty return exchange shipping track number time hours weekend discount offer'
).split(' ');

/** A chat-like sentence of 4–14 words. */
export function sentence(random: () => number): string {
  const n = 4 + Math.floor(random() * 11);
  const words: string[] = [];
  for (let i = 0; i < n; i++) words.push(WORDS[Math.floor(random() * WORDS.length)]!);
  const text = words.join(' ');
  return text[0]!.toUpperCase() + text.slice(1) + (random() < 0.3 ? '?' : '.');
}

/** The original model's document: one row per conversation holding the whole `messages` array. */
export function fillJsonBlob(path: string, userId: string, count: number): void {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec('create table if not exists conversations (id text primary key, doc text not null)');
  const random = seededRandom(7);
  const start = Date.now() - count * 30_000;
  const messages = Array.from({ length: count }, (_, i) => {
    const id = `wamid.fill${i.toString(36)}`;
    const role = i % 2 === 0 ? 'user' : 'ai';
    return {
      role,
      text: sentence(random),
      timestamp: new Date(start + i * 30_000).toISOString(),
      type: 'text',
      ...(role === 'user' ? { message_id: id } : {}),
      metadata: role === 'user' ? { handled_by: 'ai', source_message_id: id } : { handled_by: 'ai' },
    };
  });
  const doc = {
    user_id: userId,
    status: 'active',
    customer_info: { name: CONTACT_NAME, phone_full: `+${userId}` },
    last_updated: new Date().toISOString(),
    messages,
  };
  db.prepare('insert into conversations (id, doc) values (?, ?) on conflict (id) do update set doc = excluded.doc').run(
    userId,
    JSON.stringify(doc),
  );
  db.close();
}
