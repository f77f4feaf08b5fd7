import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { ResponderInput } from '../../src/ai/responder.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { Store } from '../../src/store/database.js';
import { GroupCommitter } from '../../src/store/group-commit.js';

/** What the faq responder and seeding need, on an open store (a real database). */
export interface FaqContext {
  store: Store;
  committer: GroupCommitter;
  logger: Logger;
  config: Config;
}

export function faqContext(store: Store, env: Record<string, string> = {}): FaqContext {
  const dir = mkdtempSync(join(tmpdir(), 'sb-faq-'));
  const config = loadConfig({ DATA_DIR: dir, DATABASE_URL: `sqlite:${join(dir, 'unused.db')}`, LOG_LEVEL: 'silent', ...env });
  return { store, committer: new GroupCommitter(store, { maxBatch: 64 }), logger: pino({ level: 'silent' }), config };
}

/** A responder input answering the customer messages `texts` (one debounce window). */
export function customerInput(
  texts: string[],
  options: { language?: string | null; misses?: number; signal?: AbortSignal } = {},
): ResponderInput {
  const items = texts.map((text, i) => ({
    message_id: `wamid.faq.${i}`,
    role: 'user' as const,
    type: 'text' as const,
    text,
    event: null,
    timestamp: new Date(Date.UTC(2026, 2, 1, 10, 0, i)).toISOString(),
    media: null,
  }));
  return {
    conversation_id: 'c_faq',
    language: options.language ?? null,
    contact_name: 'Test',
    history: items,
    pending: items,
    consecutive_misses: options.misses ?? 0,
    signal: options.signal ?? new AbortController().signal,
    loadMedia: () => Promise.reject(new Error('no media here')),
  };
}
