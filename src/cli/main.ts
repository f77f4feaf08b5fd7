import { KnowledgeFileError } from '../ai/knowledge-file.js';
import { ConfigError, loadConfig } from '../config.js';
import { createLogger, startServer } from '../main.js';

const USAGE = `usage: switchboard <command>

commands:
  start                      start the server (PORT, DATABASE_URL … from the environment)
  import <file.json>         import conversations exported from the original system's Firestore
  user add <email> <name> [--admin] [--password <pw>]
  user list
  user disable <email>
`;

/** Runs one CLI command; returns the process exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return start();
    case 'import': {
      const { importCommand } = await import('./import.command.js');
      return importCommand(rest);
    }
    case 'user': {
      const { userCommand } = await import('./user.command.js');
      return userCommand(rest);
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

async function start(): Promise<number> {
  const config = loadConfigOrExit();
  const logger = createLogger(config);
  let running;
  try {
    running = await startServer(config, logger);
  } catch (err) {
    // A knowledge file that cannot be seeded is a configuration problem: name it, no stack trace.
    if (err instanceof KnowledgeFileError) {
      process.stderr.write(`switchboard: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  logger.info({ url: running.url, database: running.ctx.store.label }, 'switchboard listening');
  process.stdout.write(`Switchboard is running: dashboard at ${running.url}\n`);
  const stop = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    running.close().then(() => process.exit(0), (err) => {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  return new Promise<number>(() => {});
}

/** Loads the configuration or exits with every problem named. */
export function loadConfigOrExit() {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`switchboard: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
