import { readFileSync, statSync } from 'node:fs';
import { importLegacy } from '../app/import-legacy.js';
import { ImportError, parseLegacyExport } from '../chat/legacy-import.js';
import { PROVIDERS, type Provider } from '../chat/types.js';
import type { Config } from '../config.js';
import { openStore } from '../store/database.js';
import { progressBar, type CliIo } from './io.js';
import { UsageError } from './load-config.js';
import { CommandFailed } from './with-database.js';

/** The largest export file read (it is parsed whole in memory). */
export const IMPORT_MAX_BYTES = 256 * 1024 * 1024;

/**
 * `switchboard import <file.json> [--channel <provider>:<number id>]`: loads a Firestore export of
 * the original system. A malformed file is refused with the path of the bad field; nothing of it is
 * imported. The channel defaults to the Meta number (META_PHONE_NUMBER_ID) or `meta:legacy`.
 */
export async function importCommand(
  config: Config,
  io: CliIo,
  file: string,
  options: { channel?: string; progress?: boolean },
): Promise<number> {
  const [provider, external] = options.channel ? options.channel.split(':', 2) : ['meta', config.meta.phoneNumberId ?? 'legacy'];
  if (!(PROVIDERS as readonly string[]).includes(provider ?? '')) {
    throw new UsageError(`--channel ${options.channel}: the provider must be one of ${PROVIDERS.join(', ')}`);
  }
  let json: unknown;
  try {
    // Parsed whole in memory: a file this large is refused before it is read.
    const size = statSync(file).size;
    if (size > IMPORT_MAX_BYTES) throw new Error(`${size} bytes is over the ${IMPORT_MAX_BYTES}-byte limit of an import; split the export`);
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CommandFailed(`${file}: ${(err as Error).message}`);
  }
  let conversations;
  try {
    conversations = parseLegacyExport(json);
  } catch (err) {
    if (err instanceof ImportError) throw new CommandFailed(`refused ${file}, nothing imported: ${err.message}`);
    throw err;
  }
  const store = await openStore(config.databaseUrl);
  try {
    const r = await importLegacy(
      store,
      conversations,
      { provider: provider as Provider, channelExternalId: external || 'legacy' },
      progressBar(io, 'importing', options.progress),
    );
    io.out(
      `imported ${file}: ${r.conversations} conversations (${r.conversationsCreated} new), ${r.messages} messages (${r.messagesCreated} new)\n`,
    );
    return 0;
  } finally {
    await store.close();
  }
}
