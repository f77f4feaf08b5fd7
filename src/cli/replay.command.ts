import { replayWebhooks } from '../app/replay-webhooks.js';
import { PROVIDERS } from '../chat/types.js';
import type { Config } from '../config.js';
import { webhookAdapters } from '../providers/registry.js';
import { progressBar, type CliIo } from './io.js';
import { UsageError } from './load-config.js';
import { withDatabase } from './with-database.js';

export interface ReplayOptions {
  provider?: string;
  since?: string;
  until?: string;
  progress?: boolean;
}

function instant(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const at = new Date(value);
  if (Number.isNaN(at.getTime()))
    throw new UsageError(`${flag} ${JSON.stringify(value)}: expected a date or time such as 2026-12-01 or 2026-12-01T08:00:00Z`);
  return at.toISOString();
}

/**
 * `switchboard replay [--provider p] [--since t] [--until t]`: parses journaled webhooks again with
 * this version's parsers (after a parser fix) and updates the stored messages in place; nothing is
 * duplicated and a second run changes nothing. A provider needs its webhook secret configured (the
 * same adapters as the server). Webhooks today's parser refuses are listed and left alone (exit 1).
 */
export async function replayCommand(config: Config, io: CliIo, options: ReplayOptions): Promise<number> {
  if (options.provider !== undefined && !(PROVIDERS as readonly string[]).includes(options.provider)) {
    throw new UsageError(`--provider ${JSON.stringify(options.provider)}: expected one of ${PROVIDERS.join(', ')}`);
  }
  const since = instant('--since', options.since);
  const until = instant('--until', options.until);
  if (since && until && since >= until) throw new UsageError('--since must be before --until');
  const adapters = webhookAdapters(config);
  return withDatabase(config, async (ctx) => {
    const r = await replayWebhooks(
      ctx,
      adapters,
      { provider: options.provider, since, until },
      progressBar(io, 'replaying', options.progress),
    );
    io.out(
      `replayed ${r.webhooks} webhooks: ${r.refreshed} messages updated, ${r.created} stored for the first time, ${r.unchanged} unchanged, ${r.statusesApplied} statuses applied` +
        `${r.skipped ? `, ${r.skipped} skipped (provider not configured)` : ''}${r.failed.length ? `, ${r.failed.length} refused by the parser` : ''}\n`,
    );
    for (const f of r.failed) io.err(`journal entry ${f.id}: ${f.reason}\n`);
    return r.failed.length > 0 ? 1 : 0;
  });
}
