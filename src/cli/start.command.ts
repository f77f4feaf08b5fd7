import type { Config } from '../config.js';
import { createLogger, startServer } from '../main.js';
import type { CliIo } from './io.js';

/** `switchboard start`: serves until SIGTERM or SIGINT, then stops gracefully (exit 0). */
export async function startCommand(config: Config, io: CliIo): Promise<number> {
  const logger = createLogger(config);
  const running = await startServer(config, logger);
  logger.info({ url: running.url, database: running.ctx.store.label }, 'switchboard listening');
  io.out(`Switchboard is running: dashboard at ${running.url}\n`);
  const stop = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    running.close().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  return new Promise<number>(() => {});
}
