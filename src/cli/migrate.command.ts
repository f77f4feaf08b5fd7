import type { Config } from '../config.js';
import { openStore } from '../store/database.js';
import { migrateToLatest } from '../store/migrations.js';
import type { CliIo } from './io.js';

/**
 * `switchboard migrate`: brings the database schema up to date and names each migration applied.
 * `start` migrates too; this is for upgrades run as their own step (one process, before the new
 * version's servers start). Safe to run twice and beside other processes (the migrator locks).
 */
export async function migrate(config: Config, io: CliIo): Promise<number> {
  const store = await openStore(config.databaseUrl, { migrate: false });
  try {
    const applied = await migrateToLatest(store.db, store.dialect);
    if (applied.length === 0) io.out(`${store.label}: schema up to date\n`);
    for (const name of applied) io.out(`applied ${name}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
