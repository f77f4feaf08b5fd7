import { type Kysely, sql } from 'kysely';
import { type Migration, type MigrationProvider, Migrator } from 'kysely/migration';
import type { DialectName } from './database.js';

/**
 * One schema for both databases. The only dialect differences are the auto-increment key and the
 * binary column type; everything else is written once.
 */
function migrationsFor(dialect: DialectName): Record<string, Migration> {
  const serial = dialect === 'postgres' ? 'bigserial' : 'integer';
  const autoKey = (col: any) => (dialect === 'postgres' ? col.primaryKey() : col.primaryKey().autoIncrement());
  const blob = dialect === 'postgres' ? 'bytea' : 'blob';

  return {
    '0001_initial': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('channels')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('provider', 'text', (c) => c.notNull())
          .addColumn('external_id', 'text', (c) => c.notNull())
          .addColumn('name', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('channels_provider_external_uq', ['provider', 'external_id'])
          .execute();

        await db.schema
          .createTable('contacts')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('channel_id', 'text', (c) => c.notNull().references('channels.id'))
          .addColumn('contact_key', 'text', (c) => c.notNull())
          .addColumn('wa_id', 'text')
          .addColumn('user_id', 'text')
          .addColumn('name', 'text')
          .addColumn('language', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('contacts_channel_key_uq', ['channel_id', 'contact_key'])
          .execute();

        await db.schema
          .createTable('operators')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('email', 'text', (c) => c.notNull().unique())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('password_hash', 'text', (c) => c.notNull())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull().defaultTo('away'))
          .addColumn('disabled_at', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('conversations')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('channel_id', 'text', (c) => c.notNull().references('channels.id'))
          .addColumn('contact_id', 'text', (c) => c.notNull().references('contacts.id'))
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('operator_id', 'text', (c) => c.references('operators.id'))
          .addColumn('handover', 'text')
          .addColumn('unread_count', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('last_seq', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('last_inbound_at', 'text')
          .addColumn('last_activity_at', 'text', (c) => c.notNull())
          .addColumn('legacy_id', 'text')
          .addColumn('metadata', 'text', (c) => c.notNull().defaultTo('{}'))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('conversations_channel_contact_uq', ['channel_id', 'contact_id'])
          .execute();
        await db.schema.createIndex('conversations_activity_idx').on('conversations').columns(['last_activity_at', 'id']).execute();
        await db.schema
          .createIndex('conversations_state_activity_idx')
          .on('conversations')
          .columns(['state', 'last_activity_at', 'id'])
          .execute();

        await db.schema
          .createTable('messages')
          .addColumn('id', serial, autoKey)
          .addColumn('conversation_id', 'text', (c) => c.notNull().references('conversations.id'))
          .addColumn('message_id', 'text', (c) => c.notNull())
          .addColumn('seq', 'integer', (c) => c.notNull())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('text', 'text')
          .addColumn('media', 'text')
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('error', 'text')
          .addColumn('operator_id', 'text')
          .addColumn('operator_name', 'text')
          .addColumn('reply_to', 'text')
          .addColumn('timestamp', 'text', (c) => c.notNull())
          .addColumn('metadata', 'text', (c) => c.notNull())
          .addColumn('provider_message_id', 'text')
          .addColumn('client_key', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        // [ID5] uniqueness is the database's job, not a read-then-write check.
        await db.schema
          .createIndex('messages_conversation_message_id_uq')
          .on('messages')
          .columns(['conversation_id', 'message_id'])
          .unique()
          .execute();
        await db.schema.createIndex('messages_conversation_seq_uq').on('messages').columns(['conversation_id', 'seq']).unique().execute();
        await db.schema
          .createIndex('messages_conversation_client_key_uq')
          .on('messages')
          .columns(['conversation_id', 'client_key'])
          .unique()
          .execute();
        await db.schema.createIndex('messages_provider_message_id_idx').on('messages').column('provider_message_id').execute();

        await db.schema
          .createTable('media')
          .addColumn('media_id', 'text', (c) => c.primaryKey())
          .addColumn('message_pk', 'integer', (c) => c.notNull())
          .addColumn('conversation_id', 'text', (c) => c.notNull())
          .addColumn('provider', 'text', (c) => c.notNull())
          .addColumn('source_ref', 'text', (c) => c.notNull())
          .addColumn('source_kind', 'text', (c) => c.notNull())
          .addColumn('sha256', 'text')
          .addColumn('mime_type', 'text')
          .addColumn('size', 'integer')
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('storage_path', 'text')
          .addColumn('error', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('media_blobs')
          .addColumn('media_id', 'text', (c) => c.primaryKey())
          .addColumn('bytes', sql.raw(blob), (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('events')
          .addColumn('id', serial, autoKey)
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('conversation_id', 'text')
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('events_created_at_idx').on('events').column('created_at').execute();

        await db.schema
          .createTable('webhook_journal')
          .addColumn('id', serial, autoKey)
          .addColumn('provider', 'text', (c) => c.notNull())
          .addColumn('received_at', 'text', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('message_count', 'integer', (c) => c.notNull())
          .addColumn('status_count', 'integer', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('jobs')
          .addColumn('id', serial, autoKey)
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('dedupe_key', 'text')
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('run_at', 'text', (c) => c.notNull())
          .addColumn('locked_until', 'text')
          .addColumn('last_error', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('jobs_kind_dedupe_uq').on('jobs').columns(['kind', 'dedupe_key']).unique().execute();
        await db.schema.createIndex('jobs_status_run_at_idx').on('jobs').columns(['status', 'run_at']).execute();

        await db.schema
          .createTable('sessions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('operator_id', 'text', (c) => c.notNull().references('operators.id'))
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('name', 'text')
          .addColumn('expires_at', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('last_used_at', 'text')
          .execute();

        await db.schema
          .createTable('login_attempts')
          .addColumn('id', serial, autoKey)
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('login_attempts_key_at_idx').on('login_attempts').columns(['key', 'at']).execute();
      },
    },
    '0002_events_conversation_idx': {
      // SSE catch-up with ?conversation_id= reads one conversation's events after an id.
      async up(db: Kysely<any>) {
        await db.schema.createIndex('events_conversation_id_idx').on('events').columns(['conversation_id', 'id']).execute();
      },
    },
    '0003_contacts_identity_idx': {
      // A contact is found by its BSUID or phone when it arrives under a new key (BSUID users).
      async up(db: Kysely<any>) {
        await db.schema.createIndex('contacts_channel_user_id_idx').on('contacts').columns(['channel_id', 'user_id']).execute();
        await db.schema.createIndex('contacts_channel_wa_id_idx').on('contacts').columns(['channel_id', 'wa_id']).execute();
      },
    },
    '0004_messages_text_search': {
      // Substring search over message text without scanning every message (SQLite: FTS5 trigram
      // index kept in step by triggers; PostgreSQL searches by scan until it gets its own index).
      async up(db: Kysely<any>) {
        if (dialect !== 'sqlite') return;
        await sql`create virtual table messages_fts using fts5(text, content='messages', content_rowid='id', tokenize='trigram')`.execute(
          db,
        );
        await sql`insert into messages_fts(messages_fts) values ('rebuild')`.execute(db);
        await sql`create trigger messages_fts_insert after insert on messages when new.text is not null begin
          insert into messages_fts(rowid, text) values (new.id, new.text); end`.execute(db);
        await sql`create trigger messages_fts_delete after delete on messages when old.text is not null begin
          insert into messages_fts(messages_fts, rowid, text) values ('delete', old.id, old.text); end`.execute(db);
        await sql`create trigger messages_fts_update after update of text on messages begin
          insert into messages_fts(messages_fts, rowid, text) select 'delete', old.id, old.text where old.text is not null;
          insert into messages_fts(rowid, text) select new.id, new.text where new.text is not null; end`.execute(db);
      },
    },
    '0005_messages_text_trgm': {
      // PostgreSQL's counterpart of 0004: a trigram GIN index serving `lower(text) like '%…%'`.
      // Skipped where the server lacks the pg_trgm extension (search then scans, as before).
      async up(db: Kysely<any>) {
        if (dialect !== 'postgres') return;
        const available = await sql`select 1 from pg_available_extensions where name = 'pg_trgm'`.execute(db);
        if (available.rows.length === 0) return;
        await sql`create extension if not exists pg_trgm`.execute(db);
        await sql`create index messages_text_trgm_idx on messages using gin (lower(text) gin_trgm_ops)`.execute(db);
      },
    },
    '0006_partial_message_indexes': {
      // Every index a message insert touches is a page written at COMMIT. Inbound messages (nearly
      // all of them) have no client_key and no provider_message_id: they leave these two indexes
      // alone. Lookups by either (`= ?`) imply NOT NULL, so both databases still use the indexes.
      async up(db: Kysely<any>) {
        await db.schema.dropIndex('messages_conversation_client_key_uq').execute();
        await db.schema
          .createIndex('messages_conversation_client_key_uq')
          .on('messages')
          .columns(['conversation_id', 'client_key'])
          .unique()
          .where(sql.ref('client_key'), 'is not', null)
          .execute();
        await db.schema.dropIndex('messages_provider_message_id_idx').execute();
        await db.schema
          .createIndex('messages_provider_message_id_idx')
          .on('messages')
          .column('provider_message_id')
          .where(sql.ref('provider_message_id'), 'is not', null)
          .execute();
      },
    },
    '0007_knowledge': {
      // The faq responder's Q&A entries [AI7]. AI_KNOWLEDGE_FILE only seeds them (`seed_key` keeps a
      // re-seed idempotent); edits made through /api/knowledge live here, so they survive restarts and
      // every process reads the same entries. Deleted entries keep their row (`deleted_at`) so an
      // AI message's metadata.knowledge_id always names something.
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('knowledge')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('question', 'text', (c) => c.notNull())
          .addColumn('answer', 'text', (c) => c.notNull())
          .addColumn('language', 'text')
          .addColumn('alternates', 'text', (c) => c.notNull().defaultTo('[]'))
          .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('seed_key', 'text')
          .addColumn('created_by', 'text')
          .addColumn('from_conversation_id', 'text')
          .addColumn('from_message_id', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addColumn('deleted_at', 'text')
          .execute();
        await db.schema
          .createIndex('knowledge_seed_key_uq')
          .on('knowledge')
          .column('seed_key')
          .unique()
          .where(sql.ref('seed_key'), 'is not', null)
          .execute();
        await db.schema.createIndex('knowledge_updated_at_idx').on('knowledge').column('updated_at').execute();
      },
    },
    '0008_outbox_pending_index': {
      // The outbox keeps one conversation's messages in seq order: before each send it asks for an
      // earlier pending message. Only messages in the outbox are in this index (inbound ones are
      // `received`), so the webhook path never writes it and the question costs one index probe
      // however long the conversation. Queries name the status as a literal so both databases can
      // match the partial index.
      async up(db: Kysely<any>) {
        await db.schema
          .createIndex('messages_pending_seq_idx')
          .on('messages')
          .columns(['conversation_id', 'seq'])
          .where(sql.ref('status'), '=', sql.lit('pending'))
          .execute();
      },
    },
    '0009_message_lifecycle': {
      // [ED1][RV1] an edited or revoked message keeps its row (ids and seq never change): when it was
      // edited, when deleted. An edit or revoke whose original has not arrived yet waits in
      // pending_operations (webhooks are not ordered) until it does [ED3][RV3]; redelivery is one
      // row per (conversation, operation id). The conversation's metadata flags that it has some, so
      // the webhook path asks this table only for such conversations.
      async up(db: Kysely<any>) {
        await db.schema.alterTable('messages').addColumn('edited_at', 'text').execute();
        await db.schema.alterTable('messages').addColumn('deleted_at', 'text').execute();
        await db.schema
          .createTable('pending_operations')
          .addColumn('id', serial, autoKey)
          .addColumn('conversation_id', 'text', (c) => c.notNull().references('conversations.id'))
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('operation_id', 'text', (c) => c.notNull())
          .addColumn('target_message_id', 'text', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('received_at', 'text', (c) => c.notNull())
          .addColumn('applied_at', 'text')
          .addUniqueConstraint('pending_operations_conversation_operation_uq', ['conversation_id', 'operation_id'])
          .execute();
        await db.schema
          .createIndex('pending_operations_target_idx')
          .on('pending_operations')
          .columns(['conversation_id', 'target_message_id'])
          .execute();
        await rekeyQiscusChannels(db);
      },
    },
    '0010_settings': {
      // Values every process on the database must share, written once and never changed by a
      // request: the key of signed media links when MEDIA_LINK_SECRET is unset (src/app/media-links.ts).
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('settings')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0011_contact_username': {
      // Meta's 2026 usernames (profile.username): kept on the contact, so an operator finds a
      // customer by it as by their name, number or BSUID.
      async up(db: Kysely<any>) {
        await db.schema.alterTable('contacts').addColumn('username', 'text').execute();
      },
    },
    '0012_jobs_by_kind': {
      // Each job runner claims its own kinds: with (status, run_at) alone, a runner walked every
      // due job of the other kinds to find none of its own (the media runner, woken by each outbox
      // commit, read the whole outbox backlog on every claim).
      async up(db: Kysely<any>) {
        await db.schema.createIndex('jobs_kind_status_run_at_idx').on('jobs').columns(['kind', 'status', 'run_at']).execute();
        await db.schema.dropIndex('jobs_status_run_at_idx').execute();
      },
    },
  };
}

/**
 * [ID10] A Qiscus channel is now keyed by its app code, never by `room.options.channel_details.channel_id`
 * (one room split in two when both forms arrived). A channel stored under a channel_details id takes
 * the app code its latest message names, unless a channel under that app code exists already (then
 * both stay: the old one keeps its history, new messages go to the app code's).
 */
export async function rekeyQiscusChannels(db: Kysely<any>): Promise<void> {
  const channels = await db.selectFrom('channels').select(['id', 'external_id']).where('provider', '=', 'qiscus').execute();
  for (const channel of channels) {
    const latest = await db
      .selectFrom('messages')
      .innerJoin('conversations', 'conversations.id', 'messages.conversation_id')
      .select('messages.metadata')
      .where('conversations.channel_id', '=', channel.id)
      .where('messages.role', '=', 'user')
      .orderBy('messages.id', 'desc')
      .limit(1)
      .executeTakeFirst();
    let appCode: unknown = null;
    try {
      appCode = (JSON.parse(latest?.metadata ?? '{}') as { qiscus?: { app_code?: unknown } }).qiscus?.app_code ?? null;
    } catch {
      continue;
    }
    if (typeof appCode !== 'string' || appCode.trim() === '' || appCode === channel.external_id) continue;
    const taken = await db
      .selectFrom('channels')
      .select('id')
      .where('provider', '=', 'qiscus')
      .where('external_id', '=', appCode)
      .executeTakeFirst();
    if (!taken) await db.updateTable('channels').set({ external_id: appCode }).where('id', '=', channel.id).execute();
  }
}

class StaticProvider implements MigrationProvider {
  constructor(private readonly migrations: Record<string, Migration>) {}
  async getMigrations() {
    return this.migrations;
  }
}

/** Brings the schema up to date; safe to call from several processes at once (the migrator locks). */
export async function migrateToLatest(db: Kysely<any>, dialect: DialectName): Promise<string[]> {
  const migrator = new Migrator({ db, provider: new StaticProvider(migrationsFor(dialect)) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
