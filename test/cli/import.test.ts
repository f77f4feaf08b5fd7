import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLegacyExport } from '../../src/chat/legacy-import.js';
import { sortByFirstMessage } from '../../src/app/import-legacy.js';
import type { Store } from '../../src/store/database.js';
import { sharedDatabases, type TestDatabase } from '../support/databases.js';
import { importFile } from '../support/import-cli.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/legacy/export-nested.json', import.meta.url));

async function snapshot(store: Store) {
  const messages = await store.db
    .selectFrom('messages')
    .select(['conversation_id', 'message_id', 'seq', 'role', 'type', 'text', 'timestamp', 'metadata', 'updated_at'])
    .orderBy('conversation_id')
    .orderBy('seq')
    .execute();
  const conversations = await store.db.selectFrom('conversations').selectAll().orderBy('id').execute();
  return { messages, conversations };
}

for (const factory of sharedDatabases()) {
  describe(`switchboard import on ${factory.kind}`, () => {
    let database: TestDatabase;
    let store: Store;

    beforeAll(async () => {
      database = await factory.create();
      store = await database.open();
    });
    afterAll(async () => {
      await store.close();
      await database.destroy();
    });

    it('[ID8] stores every message of the export with its fallback id, row by row', async () => {
      const r = await importFile(database.url, FIXTURE);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/imported .*conversations/);

      // One conversation per (channel, contact): a contact's legacy conversations form one thread, oldest first.
      const expected = sortByFirstMessage(parseLegacyExport(JSON.parse(readFileSync(FIXTURE, 'utf8'))));
      const byContact = new Map<string, typeof expected>();
      for (const c of expected) byContact.set(c.contact.key, [...(byContact.get(c.contact.key) ?? []), c]);
      expect(byContact.size).toBeLessThan(expected.length); // the fixture has a contact with two conversations
      for (const [key, convs] of byContact) {
        const contact = await store.db.selectFrom('contacts').selectAll().where('contact_key', '=', key).executeTakeFirstOrThrow();
        const stored = await store.db
          .selectFrom('conversations')
          .selectAll()
          .where('contact_id', '=', contact.id)
          .executeTakeFirstOrThrow();
        expect(stored.legacy_id).toBe(convs[0]!.legacy_id);
        expect(stored.state).toBe(convs[0]!.state);
        const rows = await store.db.selectFrom('messages').selectAll().where('conversation_id', '=', stored.id).orderBy('seq').execute();
        expect(rows.map((m) => [m.message_id, m.role, m.type, m.text, m.timestamp])).toEqual(
          convs.flatMap((c) => c.messages).map((m) => [m.message_id, m.role, m.type, m.text, m.timestamp.toISOString()]),
        );
        for (const row of rows) expect(JSON.parse(row.metadata).message_id).toBe(row.message_id); // [ID4]
      }
      const ids = (await store.db.selectFrom('messages').select('message_id').execute()).map((r) => r.message_id);
      // Two legacy messages sharing one timestamp: ts_… and ts_…_2; kept ids stay as they were [ID7].
      expect(ids).toContain('ts_2025-03-01T14:33:00.000Z');
      expect(ids).toContain('ts_2025-03-01T14:33:00.000Z_2');
      expect(ids.some((id) => id.startsWith('montymobile_wamid.'))).toBe(true);
    });

    it('[ID8] a second import of the same file changes nothing', async () => {
      const before = await snapshot(store);
      const r = await importFile(database.url, FIXTURE);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/\(0 new\), \d+ messages \(0 new\)/);
      expect(await snapshot(store)).toEqual(before);
    });

    it('a malformed file is refused with the path of the bad field, and nothing of it is imported', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sb-import-'));
      const bad = join(dir, 'bad.json');
      writeFileSync(
        bad,
        JSON.stringify({
          users: {
            '+9617000000': {
              conversations: {
                fresh1: {
                  user_id: '+9617000000',
                  status: 'active',
                  messages: [
                    { role: 'user', text: 'ok', timestamp: '2025-01-01T00:00:00Z' },
                    { role: 'user', text: 'bad', timestamp: 'yesterday' },
                  ],
                },
              },
            },
          },
        }),
      );
      const before = await snapshot(store);
      const r = await importFile(database.url, bad);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('users["+9617000000"].conversations["fresh1"].messages[1].timestamp');
      expect(await snapshot(store)).toEqual(before);
    });
  });
}
