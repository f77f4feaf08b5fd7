import { isDomainError } from '../chat/errors.js';
import { PROVIDERS, type Provider } from '../chat/types.js';
import type { WebhookAdapter } from '../providers/registry.js';
import { countJournal, readJournalPage, type JournalFilter } from '../store/journal.store.js';
import type { AppContext } from './context.js';
import { receiveWebhook } from './receive-webhook.js';

export interface ReplayReport {
  webhooks: number;
  created: number;
  refreshed: number;
  unchanged: number;
  statusesApplied: number;
  /** Journaled webhooks of a provider that has no adapter now (its secret is not configured). */
  skipped: number;
  /** Journaled webhooks the current parser refuses, with why (they are left as they are). */
  failed: { id: number; reason: string }[];
}

const PAGE = 200;

/**
 * Parses journaled webhooks again with today's parsers [IN1] and ingests them as a replay: a
 * message stored before is rewritten in place when its parsed content changed, a message the old
 * parser missed is stored (without an AI reply or a state change), statuses apply forward only
 * [ST1]. Idempotent: a second replay changes nothing. Webhooks are read in the order they were
 * accepted, a page at a time; `onProgress` hears (done, total) after each.
 */
export async function replayWebhooks(
  ctx: Pick<AppContext, 'store' | 'committer' | 'config'>,
  adapters: Partial<Record<Provider, WebhookAdapter>>,
  filter: JournalFilter,
  onProgress: (done: number, total: number) => void = () => {},
): Promise<ReplayReport> {
  const total = await countJournal(ctx.store.reader, filter);
  const report: ReplayReport = { webhooks: 0, created: 0, refreshed: 0, unchanged: 0, statusesApplied: 0, skipped: 0, failed: [] };
  let afterId = 0;
  for (;;) {
    const page = await readJournalPage(ctx.store.reader, filter, afterId, PAGE);
    if (page.length === 0) break;
    for (const entry of page) {
      afterId = entry.id;
      report.webhooks++;
      const provider = (PROVIDERS as readonly string[]).includes(entry.provider) ? (entry.provider as Provider) : null;
      const adapter = provider ? adapters[provider] : undefined;
      if (!provider || !adapter) {
        report.skipped++;
      } else {
        try {
          const batch = adapter.parse(JSON.parse(entry.body), new Date(entry.received_at));
          const r = await receiveWebhook(ctx.committer, provider, entry.body, batch, {
            responder: ctx.config.ai.responder,
            replay: true,
            dataDir: ctx.config.dataDir,
          });
          report.created += r.created;
          report.refreshed += r.refreshed;
          report.unchanged += r.duplicates;
          report.statusesApplied += r.statusesApplied;
        } catch (err) {
          if (!(isDomainError(err) && err.code === 'validation_failed') && !(err instanceof SyntaxError)) throw err;
          report.failed.push({ id: entry.id, reason: err.message });
        }
      }
      onProgress(report.webhooks, total);
    }
  }
  return report;
}
