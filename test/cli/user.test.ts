import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { runCli, type CliIo } from '../../src/cli/main.js';
import { login } from '../../src/app/login.js';
import { openStore } from '../../src/store/database.js';
import { GroupCommitter } from '../../src/store/group-commit.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t), isTTY: false } };
}

describe('switchboard user add|list|disable|reset-password', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-cli-user-'));
  const env = { DATA_DIR: dir, LOG_LEVEL: 'silent' };
  const config = loadConfig(env);
  const runUser = (args: string[], cliIo: CliIo) => runCli(['user', ...args], { env, io: cliIo });

  async function canLogin(email: string, password: string): Promise<string> {
    const store = await openStore(config.databaseUrl);
    try {
      await login({ store, committer: new GroupCommitter(store, { maxBatch: 8 }) }, { email, password, clientAddress: 'cli-test' });
      return 'ok';
    } catch (err) {
      return (err as { code?: string }).code ?? String(err);
    } finally {
      await store.close();
    }
  }

  it('[§10 cli] add with a chosen password, add with a generated one printed once, list, disable', async () => {
    const a = io();
    expect(await runUser(['add', 'Boss@Example.test', 'The Boss', '--admin', '--password', 'boss-password-1'], a.io)).toBe(0);
    expect(a.out.join('')).toMatch(/^added admin boss@example.test \(op_[0-9a-f]+\)\n$/);
    expect(await canLogin('boss@example.test', 'boss-password-1')).toBe('ok');

    const b = io();
    expect(await runUser(['add', 'olga@example.test', 'Olga'], b.io)).toBe(0);
    const password = /password: (\S+)/.exec(b.out.join(''))?.[1];
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(await canLogin('olga@example.test', password!)).toBe('ok');

    const dup = io();
    expect(await runUser(['add', 'olga@example.test', 'Olga 2'], dup.io)).toBe(1);
    expect(dup.err.join('')).toContain('exists');

    const list = io();
    expect(await runUser(['list'], list.io)).toBe(0);
    expect(list.out).toEqual(['boss@example.test\tThe Boss\tadmin\taway\tactive\n', 'olga@example.test\tOlga\toperator\taway\tactive\n']);

    const off = io();
    expect(await runUser(['disable', 'OLGA@example.test'], off.io)).toBe(0);
    expect(await canLogin('olga@example.test', password!)).toBe('operator_disabled');
    const after = io();
    await runUser(['list'], after.io);
    expect(after.out[1]).toContain('\tdisabled');
  });

  it('[§10 cli] usage errors exit 2 without touching the database', async () => {
    for (const args of [
      [],
      ['add', 'only@example.test'],
      ['add', 'a@b', 'A', '--password'],
      ['disable'],
      ['list', 'x'],
      ['remove', 'a@b'],
    ]) {
      const r = io();
      expect(await runUser(args, r.io), args.join(' ')).toBe(2);
      expect(r.err.join('')).toMatch(/usage/i);
    }
    const short = io();
    expect(await runUser(['add', 'c@example.test', 'C', '--password', 'short'], short.io)).toBe(1);
    expect(short.err.join('')).toContain('at least 8');
  });
});
