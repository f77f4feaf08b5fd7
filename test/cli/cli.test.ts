import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../../src/cli/main.js';
import type { Store } from '../../src/store/database.js';
import { postMeta, metaTextPayload, startTestServer, TEST_SECRETS } from '../support/app.js';
import { sharedDatabases, type TestDatabase } from '../support/databases.js';

function capture(isTTY = false) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => void out.push(t), err: (t) => void err.push(t), isTTY };
  return { io, out: () => out.join(''), err: () => err.join('') };
}

describe('switchboard --help', () => {
  it('[§13 cli] every command and subcommand has --help (exit 0) naming its arguments', async () => {
    const commands = [
      [],
      ['start'],
      ['migrate'],
      ['import'],
      ['replay'],
      ['user'],
      ['user', 'add'],
      ['user', 'list'],
      ['user', 'disable'],
      ['user', 'reset-password'],
      ['token'],
      ['token', 'create'],
      ['token', 'list'],
      ['token', 'revoke'],
    ];
    for (const command of commands) {
      const c = capture();
      expect(await runCli([...command, '--help'], { env: {}, io: c.io }), command.join(' ')).toBe(0);
      expect(c.out(), command.join(' ')).toMatch(new RegExp(`^Usage: switchboard${command.length ? ` ${command.join(' ')}` : ''} `));
    }
    const create = capture();
    await runCli(['token', 'create', '--help'], { env: {}, io: create.io });
    expect(create.out()).toContain('--name <name>');
    expect(create.out()).toContain('--expires-days <days>');
  });

  it('[§13 cli] an unknown command, a missing argument or a bad configuration exits 2 with a clear message', async () => {
    const unknown = capture();
    expect(await runCli(['bogus'], { env: {}, io: unknown.io })).toBe(2);
    expect(unknown.err()).toContain("unknown command 'bogus'");
    for (const args of [
      ['start', '--bogus'],
      ['start', 'extra'],
      ['migrate', 'now'],
    ]) {
      const bad = capture();
      expect(await runCli(args, { env: {}, io: bad.io }), args.join(' ')).toBe(2);
      expect(bad.err(), args.join(' ')).toMatch(/error: (unknown option '--bogus'|too many arguments)/);
    }
    const group = capture();
    expect(await runCli(['token'], { env: {}, io: group.io })).toBe(2);
    expect(group.err()).toMatch(/Usage: switchboard token/);
    const config = capture();
    expect(await runCli(['migrate'], { env: { DATABASE_URL: 'mysql://nope' }, io: config.io })).toBe(2);
    expect(config.err()).toContain('DATABASE_URL="mysql://nope"');
  });
});

describe('switchboard simulate and demo arguments', () => {
  it('[§13 cli] simulate: without the provider secrets it names each missing one (exit 2); a bad --pace or --port is refused', async () => {
    const bare = capture();
    expect(await runCli(['simulate', '--duration', '1'], { env: {}, io: bare.io })).toBe(2);
    expect(bare.err()).toContain('set META_APP_SECRET, META_ACCESS_TOKEN, META_PHONE_NUMBER_ID, MONTYMOBILE_WEBHOOK_TOKEN');
    for (const args of [
      ['--pace', '0'],
      ['--pace', 'fast'],
      ['--port', '70000'],
      ['--duration', '-1'],
    ]) {
      const bad = capture();
      expect(await runCli(['simulate', ...args], { env: { ...TEST_SECRETS }, io: bad.io }), args.join(' ')).toBe(2);
      expect(bad.err(), args.join(' ')).toMatch(/error: option .* argument .* is invalid/);
    }
    const demo = capture();
    expect(await runCli(['demo', '--pace', '0'], { env: {}, io: demo.io })).toBe(2);
    expect(demo.err()).toMatch(/option '--pace <factor>' argument '0' is invalid/);
  });

  it("[§13 cli] simulate: serves the providers' APIs, prints the URLs to give the server, and stops after --duration (exit 0)", async () => {
    const c = capture();
    const started = Date.now();
    expect(
      await runCli(['simulate', '--port', '0', '--no-scenario', '--duration', '1', '--url', 'http://127.0.0.1:9'], {
        env: { ...TEST_SECRETS },
        io: c.io,
      }),
    ).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(c.out()).toMatch(/META_GRAPH_URL=http:\/\/127\.0\.0\.1:\d+\/meta\/v25\.0\n/);
    expect(c.out()).toMatch(/OPENAI_BASE_URL=http:\/\/127\.0\.0\.1:\d+\/openai\/v1\n/);
  });
});

for (const factory of sharedDatabases()) {
  describe(`switchboard commands on ${factory.kind}`, () => {
    let database: TestDatabase;
    let store: Store;
    let env: Record<string, string>;
    const run = async (args: string[], isTTY = false) => {
      const c = capture(isTTY);
      const code = await runCli(args, { env, io: c.io });
      return { code, out: c.out(), err: c.err() };
    };

    beforeAll(async () => {
      database = await factory.create();
      store = await database.open();
      env = { ...TEST_SECRETS, DATABASE_URL: database.url, DATA_DIR: mkdtempSync(join(tmpdir(), 'sb-cli-')), LOG_LEVEL: 'silent' };
    });
    afterAll(async () => {
      await store.close();
      await database.destroy();
    });

    it('[§13 cli] migrate: up to date on a migrated database, exit 0', async () => {
      const r = await run(['migrate']);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/schema up to date\n$/);
    });

    it('[§13 cli] user reset-password: the old password stops working and sessions end; an unknown email changes nothing', async () => {
      expect((await run(['user', 'add', 'rita@clinic.test', 'Rita', '--password', 'first-password'])).code).toBe(0);
      const operator = await store.db.selectFrom('operators').selectAll().where('email', '=', 'rita@clinic.test').executeTakeFirstOrThrow();
      await store.db
        .insertInto('sessions')
        .values({
          id: 'f'.repeat(64),
          operator_id: operator.id,
          kind: 'session',
          name: null,
          expires_at: null,
          created_at: new Date().toISOString(),
          last_used_at: null,
        })
        .execute();

      const reset = await run(['user', 'reset-password', 'Rita@Clinic.test']);
      expect(reset.code).toBe(0);
      expect(reset.out).toMatch(
        /^password reset for rita@clinic.test; their sessions ended\npassword: [A-Za-z0-9_-]{24}\n\(shown only now\)\n$/,
      );
      const after = await store.db.selectFrom('operators').selectAll().where('id', '=', operator.id).executeTakeFirstOrThrow();
      expect(after.password_hash).not.toBe(operator.password_hash);
      expect(await store.db.selectFrom('sessions').selectAll().where('operator_id', '=', operator.id).execute()).toEqual([]);

      const unknown = await run(['user', 'reset-password', 'nobody@clinic.test', '--password', 'another-password']);
      expect(unknown.code).toBe(1);
      expect(unknown.err).toContain('no such operator');
      const short = await run(['user', 'reset-password', 'rita@clinic.test', '--password', 'short']);
      expect(short.code).toBe(1);
      expect(short.err).toContain('at least 8');
      const unchanged = await store.db.selectFrom('operators').selectAll().where('id', '=', operator.id).executeTakeFirstOrThrow();
      expect(unchanged.password_hash).toBe(after.password_hash);
    });

    it('[§13 cli] token create | list | revoke: the token authenticates until revoked; bad ids revoke nothing', async () => {
      const created = await run(['token', 'create', 'rita@clinic.test', '--name', 'crm sync', '--expires-days', '30']);
      expect(created.code).toBe(0);
      const [, shown, secret] = /^token ([0-9a-f]{12}) "crm sync" for rita@clinic.test, expires \S+\n(\S+)\n/.exec(created.out) ?? [];
      expect(secret).toMatch(/^\S{20,}$/);
      expect(created.out).not.toContain('undefined');

      const list = await run(['token', 'list']);
      expect(list.code).toBe(0);
      expect(list.out).toMatch(new RegExp(`^${shown}\\tcrm sync\\trita@clinic.test\\t\\S+\\t\\S+\\tunused\\n$`));
      expect(list.out).not.toContain(secret!);

      const server = await startTestServer({ DATABASE_URL: database.url, DATA_DIR: env.DATA_DIR! });
      try {
        const me = () => fetch(`${server.url}/api/auth/me`, { headers: { authorization: `Bearer ${secret}` } });
        expect((await me()).status).toBe(200);

        for (const [id, message] of [
          ['abc', 'at least 8 hex'],
          ['zzzzzzzzzz', 'at least 8 hex'],
          ['00000000', 'no API token'],
        ] as const) {
          const bad = await run(['token', 'revoke', id]);
          expect(bad.code, id).toBe(1);
          expect(bad.err, id).toContain(message);
        }
        expect((await me()).status).toBe(200);
        const badDays = await run(['token', 'create', 'rita@clinic.test', '--name', 'x', '--expires-days', 'soon']);
        expect(badDays.code).toBe(2);
        expect(badDays.err).toContain('expected a whole number');
        expect((await run(['token', 'list'])).out.trim().split('\n')).toHaveLength(1);

        const revoked = await run(['token', 'revoke', shown!]);
        expect(revoked.code).toBe(0);
        expect(revoked.out).toBe(`revoked token ${shown}\n`);
        expect((await me()).status).toBe(401);
        expect((await run(['token', 'list'])).out).toBe('');
      } finally {
        await server.close();
      }
    });

    it('[IN1][ID5] replay after a parser fix rewrites the stored message in place, duplicates nothing, and a second replay changes nothing', async () => {
      const server = await startTestServer({ DATABASE_URL: database.url, DATA_DIR: env.DATA_DIR!, AI_RESPONDER: 'none' });
      try {
        expect((await postMeta(server.url, metaTextPayload('wamid.REPLAY1', '96170111222', 'do you do laser on weekends?'))).status).toBe(
          200,
        );
      } finally {
        await server.close();
      }
      const stored = await store.db.selectFrom('messages').selectAll().where('message_id', '=', 'wamid.REPLAY1').executeTakeFirstOrThrow();
      // What an older parser would have stored: the text lost as an unsupported message.
      await store.db.updateTable('messages').set({ type: 'unsupported', text: null }).where('id', '=', stored.id).execute();
      const countBefore = await store.db
        .selectFrom('messages')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      const eventsBefore = await store.db
        .selectFrom('events')
        .select((eb) => eb.fn.max('id').as('id'))
        .executeTakeFirstOrThrow();

      const first = await run(['replay', '--provider', 'meta', '--progress']);
      expect(first.code, first.err).toBe(0);
      expect(first.out).toMatch(/^replayed \d+ webhooks: 1 messages updated, 0 stored for the first time, \d+ unchanged/);
      expect(first.err).toMatch(/replaying \[#+\] 100% (\d+)\/\1\n$/);
      const fixed = await store.db.selectFrom('messages').selectAll().where('message_id', '=', 'wamid.REPLAY1').execute();
      expect(fixed).toHaveLength(1);
      expect(fixed[0]).toMatchObject({
        id: stored.id,
        seq: stored.seq,
        type: 'text',
        text: 'do you do laser on weekends?',
        status: stored.status,
      });
      const countAfter = await store.db
        .selectFrom('messages')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      expect(Number(countAfter.n)).toBe(Number(countBefore.n));
      const events = await store.db
        .selectFrom('events')
        .selectAll()
        .where('id', '>', Number(eventsBefore.id ?? 0))
        .execute();
      expect(events.map((e) => e.type)).toEqual(['message_updated']);
      expect(JSON.parse(events[0]!.payload)).toMatchObject({ message_id: 'wamid.REPLAY1', text: 'do you do laser on weekends?' });
      expect(await store.db.selectFrom('jobs').selectAll().where('kind', '=', 'ai.reply').execute()).toEqual([]);

      const second = await run(['replay']);
      expect(second.code).toBe(0);
      expect(second.out).toMatch(/^replayed \d+ webhooks: 0 messages updated, 0 stored for the first time/);
      const journal = await store.db
        .selectFrom('webhook_journal')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      expect(Number(journal.n)).toBe(Number(first.out.match(/^replayed (\d+)/)![1]));
    });

    it('[§13 cli] replay and import refuse bad arguments with exit 2 and change nothing', async () => {
      const before = await store.db.selectFrom('messages').selectAll().orderBy('id').execute();
      for (const [args, message] of [
        [['replay', '--provider', 'telegram'], 'expected one of meta, montymobile, qiscus'],
        [['replay', '--since', 'yesterday-ish'], 'expected a date or time'],
        [['replay', '--since', '2026-12-02', '--until', '2026-12-01'], '--since must be before --until'],
        [['replay', '--bogus'], "unknown option '--bogus'"],
        [['import'], "missing required argument 'file'"],
        [['import', 'x.json', '--channel', 'telegram:1'], 'the provider must be one of'],
      ] as const) {
        const r = await run([...args]);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.err, args.join(' ')).toContain(message);
      }
      const missing = await run(['import', join(tmpdir(), 'no-such-export.json')]);
      expect(missing.code).toBe(1);
      expect(missing.err).toContain('no-such-export.json');
      const bad = join(mkdtempSync(join(tmpdir(), 'sb-cli-bad-')), 'bad.json');
      writeFileSync(
        bad,
        JSON.stringify({
          users: { '+9613956607': { conversations: { a: { messages: [{ role: 'user', text: 'x', timestamp: 'not a time' }] } } } },
        }),
      );
      const refused = await run(['import', bad]);
      expect(refused.code).toBe(1);
      expect(refused.err).toMatch(/refused .*nothing imported: .*timestamp/);
      expect(await store.db.selectFrom('messages').selectAll().orderBy('id').execute()).toEqual(before);
    });
  });
}
