import type { Config } from '../config.js';
import { addOperator } from '../app/add-operator.js';
import { listAllOperators } from '../app/authenticate.js';
import { disableOperator } from '../app/disable-operator.js';
import { isDomainError } from '../chat/errors.js';
import { openStore } from '../store/database.js';
import { GroupCommitter } from '../store/group-commit.js';
import { loadConfigOrExit } from './main.js';

const USAGE = `usage: switchboard user add <email> <name> [--admin] [--password <pw>]
       switchboard user list
       switchboard user disable <email>
`;

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/** `switchboard user add|list|disable` on the database of DATABASE_URL. */
export async function userCommand(args: string[]): Promise<number> {
  return runUserCommand(args, loadConfigOrExit(), processIo);
}

/** The command itself, given its configuration and output (tests call this in-process). */
export async function runUserCommand(args: string[], config: Config, io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  const flags = new Set(rest.filter((a) => a === '--admin'));
  const passwordAt = rest.indexOf('--password');
  const password = passwordAt >= 0 ? rest[passwordAt + 1] : undefined;
  const positional = rest.filter((a, i) => !a.startsWith('--') && (passwordAt < 0 || i !== passwordAt + 1));
  if ((sub === 'add' && (positional.length !== 2 || (passwordAt >= 0 && !password)))
    || (sub === 'disable' && positional.length !== 1)
    || (sub === 'list' && positional.length !== 0)
    || !['add', 'list', 'disable'].includes(sub ?? '')) {
    io.err(USAGE);
    return 2;
  }
  const store = await openStore(config.databaseUrl);
  const committer = new GroupCommitter(store, { maxBatch: config.groupCommit.maxBatch });
  const ctx = { store, committer };
  try {
    if (sub === 'add') {
      const [email, name] = positional as [string, string];
      const added = await addOperator(ctx, { email, name, role: flags.has('--admin') ? 'admin' : 'operator', password: password ?? null });
      io.out(`added ${added.operator.role} ${added.operator.email} (${added.operator.id})\n`);
      if (added.generatedPassword) io.out(`password: ${added.generatedPassword}\n(shown only now)\n`);
    } else if (sub === 'list') {
      for (const op of await listAllOperators(ctx)) {
        io.out(`${op.email}\t${op.name}\t${op.role}\t${op.status}\t${op.disabled_at ? 'disabled' : 'active'}\n`);
      }
    } else {
      const op = await disableOperator(ctx, { email: positional[0]! }, null);
      io.out(`disabled ${op.email}\n`);
    }
    return 0;
  } catch (err) {
    if (isDomainError(err)) {
      io.err(`user ${sub}: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await committer.idle();
    await store.close();
  }
}
