import { isDomainError } from '../chat/errors.js';
import type { Config } from '../config.js';
import { openStore, type Store } from '../store/database.js';
import { GroupCommitter } from '../store/group-commit.js';

/** What a command's use cases are given: the database and its committer, no HTTP server. */
export interface CommandContext {
  readonly config: Config;
  readonly store: Store;
  readonly committer: GroupCommitter;
}

/** A use case's refusal (not found, conflict, bad value): printed, exit code 1, nothing changed. */
export class CommandFailed extends Error {
  override readonly name = 'CommandFailed';
}

/**
 * Opens the database of DATABASE_URL (migrating it), runs `body`, drains its writes and closes.
 * Resolves to the exit code: 0, or 1 when a use case refuses (its message is the error).
 */
export async function withDatabase(config: Config, body: (ctx: CommandContext) => Promise<void | number>): Promise<number> {
  const store = await openStore(config.databaseUrl, { sqliteSync: config.sqliteSync, pgPreparedStatements: config.pgPreparedStatements });
  const committer = new GroupCommitter(store, { maxBatch: config.groupCommit.maxBatch });
  try {
    return (await body({ config, store, committer })) ?? 0;
  } catch (err) {
    if (isDomainError(err)) throw new CommandFailed(err.message);
    throw err;
  } finally {
    await committer.idle();
    await store.close();
  }
}
