import { ConfigError, loadConfig, type Config } from '../config.js';

/** Thrown by a command for a wrong argument: the CLI prints it with the command's usage and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * The configuration from `env`, or a UsageError naming every bad variable (exit code 2). Kept
 * apart from the server's composition root, so a command like `user list` loads no HTTP server.
 */
export function loadCliConfig(env: Record<string, string | undefined>): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}
