import { readFileSync } from 'node:fs';
import { ImportError, parseLegacyExport } from '../chat/legacy-import.js';
import { importLegacy } from '../app/import-legacy.js';
import { openStore } from '../store/database.js';
import { loadConfigOrExit } from './main.js';

/**
 * `switchboard import <file.json> [--channel <provider>:<number id>]`: loads a Firestore export of
 * the original system. A malformed file is refused with the path of the bad field; nothing of it is
 * imported. The channel defaults to the Meta number (META_PHONE_NUMBER_ID) or `meta:legacy`.
 */
export async function importCommand(args: string[]): Promise<number> {
  const file = args.find((a) => !a.startsWith('--'));
  const channelArg = valueOf(args, '--channel');
  if (!file) {
    process.stderr.write('usage: switchboard import <file.json> [--channel meta|montymobile|qiscus:<number id>]\n');
    return 2;
  }
  const config = loadConfigOrExit();
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    process.stderr.write(`import: ${file}: ${(err as Error).message}\n`);
    return 1;
  }
  let conversations;
  try {
    conversations = parseLegacyExport(json);
  } catch (err) {
    if (err instanceof ImportError) {
      process.stderr.write(`import: refused ${file}, nothing imported: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const [provider, external] = channelArg ? channelArg.split(':', 2) : ['meta', config.meta.phoneNumberId ?? 'legacy'];
  if (provider !== 'meta' && provider !== 'montymobile' && provider !== 'qiscus') {
    process.stderr.write(`import: --channel ${channelArg}: provider must be meta, montymobile or qiscus\n`);
    return 2;
  }
  const store = await openStore(config.databaseUrl);
  try {
    const r = await importLegacy(store, conversations, { provider, channelExternalId: external || 'legacy' });
    process.stdout.write(
      `imported ${file}: ${r.conversations} conversations (${r.conversationsCreated} new), ${r.messages} messages (${r.messagesCreated} new)\n`,
    );
    return 0;
  } finally {
    await store.close();
  }
}

function valueOf(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}
