import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { KnowledgeFileError } from '../ai/knowledge-file.js';
import type { Config } from '../config.js';
import { processIo, type CliIo } from './io.js';
import { loadCliConfig, UsageError } from './load-config.js';
import { CommandFailed } from './with-database.js';

export type { CliIo } from './io.js';

export interface CliOptions {
  /** The environment the configuration is read from (default: the process's). */
  env?: Record<string, string | undefined>;
  io?: CliIo;
}

/** Exit codes: 0 done; 1 the command failed (refused input, not found …; nothing changed); 2 wrong usage or configuration. */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d{1,6}$/.test(value) || n < 1) throw new InvalidArgumentError('expected a whole number from 1');
  return n;
}

function port(value: string): number {
  const n = Number(value);
  if (!/^\d{1,5}$/.test(value) || n > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535');
  return n;
}

function factor(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 100) throw new InvalidArgumentError('expected a number above 0 and at most 100');
  return n;
}

/**
 * Runs one CLI command (`switchboard <command> …`, argv without the program name) and resolves to
 * its exit code. Commands load only what they use: `user list` opens the database, not the server.
 */
export async function runCli(argv: string[], options: CliOptions = {}): Promise<number> {
  const io = options.io ?? processIo;
  const env = options.env ?? process.env;
  let code = 0;
  const config = (): Config => loadCliConfig(env);
  // Each action sets the exit code; errors are mapped once, below. Subcommands inherit the
  // program's exitOverride and output settings.
  const act =
    <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
    async (...args: A) => {
      code = await fn(...args);
    };

  const program = new Command('switchboard')
    .description('Switchboard: a WhatsApp live-chat server (configuration from the environment, see README)')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError('(add --help for usage)')
    .allowExcessArguments(false);

  program
    .command('start')
    .description('start the server: webhooks, API, dashboard and workers (PORT, DATABASE_URL …)')
    .action(act(async () => (await import('./start.command.js')).startCommand(config(), io)));

  program
    .command('migrate')
    .description('bring the database schema up to date and name each migration applied')
    .action(act(async () => (await import('./migrate.command.js')).migrate(config(), io)));

  program
    .command('import')
    .description("import conversations exported from the original system's Firestore (all or nothing)")
    .argument('<file>', 'the export, JSON')
    .option('--channel <provider:number>', 'the channel the conversations belong to, e.g. meta:106540352242922')
    .option('--progress', 'draw a progress bar even when not on a terminal')
    .action(
      act(async (file: string, opts: { channel?: string; progress?: boolean }) =>
        (await import('./import.command.js')).importCommand(config(), io, file, opts),
      ),
    );

  program
    .command('replay')
    .description('parse journaled webhooks again (after a parser fix) and update the stored messages; idempotent')
    .option('--provider <provider>', "only this provider's webhooks (meta, montymobile, qiscus)")
    .option('--since <time>', 'only webhooks received at or after this time (ISO 8601)')
    .option('--until <time>', 'only webhooks received before this time (ISO 8601)')
    .option('--progress', 'draw a progress bar even when not on a terminal')
    .action(
      act(async (opts: { provider?: string; since?: string; until?: string; progress?: boolean }) =>
        (await import('./replay.command.js')).replayCommand(config(), io, opts),
      ),
    );

  program
    .command('simulate')
    .description("a simulated WhatsApp (the providers' side) for a Switchboard running elsewhere")
    .option('--url <url>', 'the Switchboard to post webhooks to', 'http://localhost:3000')
    .addOption(new Option('--port <port>', 'port of the simulated provider APIs').default(3001).argParser(port))
    .addOption(new Option('--pace <factor>', 'time factor of the script: 1 realistic, 0.2 five times faster').default(1).argParser(factor))
    .option('--interactive', 'type as a customer on stdin and see the replies arrive')
    .option('--no-scenario', 'do not play the scripted customers')
    .addOption(new Option('--duration <seconds>', 'stop after this many seconds').argParser(positiveInt))
    .action(
      act(async (opts: { url: string; port: number; pace: number; interactive?: boolean; scenario: boolean; duration?: number }) =>
        (await import('./simulate.command.js')).simulateCommand(config(), io, opts),
      ),
    );

  program
    .command('demo')
    .description('Switchboard and the WhatsApp simulator together, no configuration (npm run demo)')
    .addOption(new Option('--port <port>', "the dashboard's port").default(3000).argParser(port))
    .option('--data-dir <dir>', 'where the demo keeps its SQLite database and media', './data/demo')
    .option('--fresh', 'start from an empty database')
    .addOption(new Option('--pace <factor>', 'time factor of the script: 1 realistic, 0.2 five times faster').default(1).argParser(factor))
    .option('--interactive', 'type as a customer on stdin and see the replies arrive')
    .addOption(new Option('--duration <seconds>', 'stop after this many seconds').argParser(positiveInt))
    .action(
      act(async (opts: { port: number; dataDir: string; fresh?: boolean; pace: number; interactive?: boolean; duration?: number }) =>
        (await import('./demo.command.js')).demoCommand(env, io, opts),
      ),
    );

  const user = program.command('user').description('operators: add, list, disable, reset-password');
  user
    .command('add')
    .description('add an operator (a password is generated and printed once unless --password is given)')
    .argument('<email>')
    .argument('<name>')
    .option('--admin', 'an admin (may edit the knowledge base, manage operators)')
    .option('--password <password>', 'the password (at least 8 characters)')
    .action(
      act(async (email: string, name: string, opts: { admin?: boolean; password?: string }) =>
        (await import('./user.command.js')).userAdd(config(), io, email, name, opts),
      ),
    );
  user
    .command('list')
    .description('every operator: email, name, role, status, active or disabled')
    .action(act(async () => (await import('./user.command.js')).userList(config(), io)));
  user
    .command('disable')
    .description('disable an operator: no more logins, every session and token ends')
    .argument('<email>')
    .action(act(async (email: string) => (await import('./user.command.js')).userDisable(config(), io, email)));
  user
    .command('reset-password')
    .description('set a new password (generated and printed once unless --password is given); sessions end')
    .argument('<email>')
    .option('--password <password>', 'the new password (at least 8 characters)')
    .action(
      act(async (email: string, opts: { password?: string }) =>
        (await import('./user.command.js')).userResetPassword(config(), io, email, opts),
      ),
    );

  const token = program.command('token').description('API tokens (Authorization: Bearer …): create, list, revoke');
  token
    .command('create')
    .description('create an API token for an operator; the token is printed once')
    .argument('<email>')
    .requiredOption('--name <name>', 'what the token is for, e.g. "crm sync"')
    .addOption(new Option('--expires-days <days>', 'expire after this many days (default: never)').argParser(positiveInt))
    .action(
      act(async (email: string, opts: { name: string; expiresDays?: number }) =>
        (await import('./token.command.js')).tokenCreate(config(), io, email, opts),
      ),
    );
  token
    .command('list')
    .description('API tokens: id, name, operator, created, expires, last used (never the secret)')
    .option('--email <email>', "only this operator's tokens")
    .action(act(async (opts: { email?: string }) => (await import('./token.command.js')).tokenList(config(), io, opts)));
  token
    .command('revoke')
    .description('revoke a token by its id as `token list` shows it (or a unique prefix of 8+ characters)')
    .argument('<id>')
    .action(act(async (id: string) => (await import('./token.command.js')).tokenRevoke(config(), io, id)));

  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help is not a failure; anything else commander refuses (unknown command or option, a
      // missing argument, a command group without its subcommand) is wrong usage.
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : EXIT_USAGE;
    }
    // A knowledge file that cannot be seeded (start, demo) is a configuration problem too.
    if (err instanceof UsageError || err instanceof KnowledgeFileError) {
      io.err(`switchboard: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof CommandFailed) {
      io.err(`switchboard: ${err.message}\n`);
      return EXIT_FAILED;
    }
    throw err;
  }
}
