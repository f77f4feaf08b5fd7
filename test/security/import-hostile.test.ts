import { closeSync, mkdtempSync, openSync, ftruncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMPORT_MAX_BYTES } from '../../src/cli/import.command.js';
import type { Store } from '../../src/store/database.js';
import { sharedDatabases, type TestDatabase } from '../support/databases.js';
import { importFile } from '../support/import-cli.js';

/**
 * Issue 14: `switchboard import` given hostile files — too large, not JSON, binary, the wrong
 * shape at every level, wrong types in fields, `__proto__` keys, deep nesting — exits 1 with a
 * clear message (the file, and the bad field's path when there is one), never a stack trace, and
 * imports nothing. (Deep nesting of 5,000 levels: test/security/input-limits.test.ts.)
 */

const ok = (messages: unknown) => ({
  users: { '+9617000001': { conversations: { c1: { user_id: '+9617000001', status: 'active', messages } } } },
});
const message = { role: 'user', text: 'fine', timestamp: '2025-01-01T00:00:00Z' };

const HOSTILE: [name: string, content: string | Buffer, expected: RegExp][] = [
  ['empty file', '', /not valid JSON|Unexpected end|JSON/i],
  ['not JSON', 'users: yes', /JSON/],
  ['binary', Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x9c, 0x80, 0x00]), /JSON/],
  ['a number', '42', /nothing imported/],
  ['a string', '"users"', /nothing imported/],
  ['null', 'null', /nothing imported/],
  ['an array of junk', '[1,2,3]', /nothing imported/],
  ['users as an array', JSON.stringify({ users: [1, 2] }), /nothing imported/],
  ['messages as an object', JSON.stringify(ok({ 0: message })), /nothing imported/],
  ['text as a number', JSON.stringify(ok([{ ...message, text: 12 }])), /messages\[0\]\.text/],
  ['timestamp as an object', JSON.stringify(ok([{ ...message, timestamp: { seconds: 'x' } }])), /messages\[0\]\.timestamp/],
  ['unknown role', JSON.stringify(ok([{ ...message, role: 'root' }])), /messages\[0\]\.role/],
  ['huge number as a timestamp', JSON.stringify(ok([{ ...message, timestamp: 1e308 }])), /messages\[0\]\.timestamp/],
  [
    '__proto__ as a user',
    `{"users":{"__proto__":{"conversations":{"c":{"user_id":"x","status":"active","messages":[{"role":"user","text":"x","timestamp":"soon"}]}}}}}`,
    /users\["__proto__"\]\.conversations\["c"\]\.messages\[0\]\.timestamp/,
  ],
  [
    '__proto__ in a message',
    JSON.stringify(ok([message])).replace('"role":"user"', '"__proto__":{"role":"admin"},"role":42'),
    /messages\[0\]\.role/,
  ],
  [
    'deep metadata',
    JSON.stringify(ok([{ ...message, metadata: '__DEEP__' }])).replace('"__DEEP__"', `${'{"a":'.repeat(300)}1${'}'.repeat(300)}`),
    /nested deeper than/,
  ],
  ['a good message, then a bad one', JSON.stringify(ok([message, { ...message, timestamp: 'yesterday' }])), /messages\[1\]\.timestamp/],
];

async function counts(store: Store) {
  const n = async (table: 'messages' | 'conversations' | 'contacts' | 'media') =>
    Number(
      (
        await store.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<string | number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return { messages: await n('messages'), conversations: await n('conversations'), contacts: await n('contacts'), media: await n('media') };
}

for (const factory of sharedDatabases()) {
  describe(`hostile legacy imports on ${factory.kind}`, () => {
    let database: TestDatabase;
    let store: Store;
    let dir: string;
    beforeAll(async () => {
      database = await factory.create();
      store = await database.open();
      dir = mkdtempSync(join(tmpdir(), 'sb-sec-import-'));
    });
    afterAll(async () => {
      await store?.close();
      await database?.destroy();
    });

    it('[ID8] every hostile file: exit 1, a clear message naming the file or the field, no stack trace, nothing imported', async () => {
      // the migrations have run once (a good import), so "nothing imported" compares real tables
      const good = join(dir, 'good.json');
      writeFileSync(good, JSON.stringify(ok([message])));
      expect((await importFile(database.url, good)).code).toBe(0);
      const before = await counts(store);
      expect(before.messages).toBe(1);
      const wrong: string[] = [];
      // Refused before the store is opened: the whole list runs once (SQLite); PostgreSQL gets the
      // one whose first message is valid (nothing half imported) to keep the suite's time down.
      const cases = factory.kind === 'sqlite' ? HOSTILE : HOSTILE.filter(([name]) => name.startsWith('a good message'));
      await Promise.all(
        cases.map(async ([name, content, expected], i) => {
          const file = join(dir, `hostile-${i}.json`);
          writeFileSync(file, content);
          const r = await importFile(database.url, file);
          if (r.code !== 1) wrong.push(`${name}: exit ${r.code} ${r.stdout}${r.stderr}`);
          if (!expected.test(r.stderr)) wrong.push(`${name}: message ${JSON.stringify(r.stderr.slice(0, 300))}`);
          if (/\n\s+at |RangeError|TypeError/.test(r.stderr)) wrong.push(`${name}: stack trace ${r.stderr.slice(0, 300)}`);
        }),
      );
      expect(wrong).toEqual([]);
      expect(await counts(store)).toEqual(before);
    }, 120_000);

    it('[ID8] a file over IMPORT_MAX_BYTES is refused before it is read', async () => {
      const file = join(dir, 'huge.json');
      const fd = openSync(file, 'w');
      ftruncateSync(fd, IMPORT_MAX_BYTES + 1); // sparse: no disk space, no time
      closeSync(fd);
      const before = await counts(store);
      const r = await importFile(database.url, file);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/over the \d+-byte limit/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(await counts(store)).toEqual(before);
    }, 60_000);
  });
}
