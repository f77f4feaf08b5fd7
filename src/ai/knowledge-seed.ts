import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppContext } from '../app/context.js';
import { insertSeededKnowledge } from '../store/knowledge.store.js';
import { newRowId } from '../store/json.js';
import { KnowledgeFileError, parseKnowledgeFile, seedKeyOf } from './knowledge-file.js';

/** The sample knowledge base shipped with Switchboard (a fictional beauty and laser clinic). */
export const SAMPLE_KNOWLEDGE_FILE = fileURLToPath(new URL('../../knowledge/clinic.md', import.meta.url));

/**
 * Seeds the knowledge table from AI_KNOWLEDGE_FILE (the shipped sample when unset), at start.
 * Idempotent: every entry has a seed key (its `Id`, else a hash of language + question) that is
 * unique in the table, so restarts, and several processes starting at once, never duplicate an
 * entry; an entry that exists — edited or deleted through the API since — is kept as it is.
 * A file that cannot be read or parsed throws (KnowledgeFileError naming the entry): the start stops.
 */
export async function seedKnowledge(
  ctx: Pick<AppContext, 'store' | 'committer' | 'logger' | 'config'>,
  now = new Date(),
): Promise<{ inserted: number; kept: number }> {
  const file = ctx.config.ai.knowledgeFile ?? SAMPLE_KNOWLEDGE_FILE;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new KnowledgeFileError(
      `AI_KNOWLEDGE_FILE ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  const entries = parseKnowledgeFile(text, basename(file));
  const at = now.toISOString();
  const inserted = await ctx.committer.run(async (tx) => {
    let count = 0;
    for (const entry of entries) {
      const row = await insertSeededKnowledge(
        tx.db,
        {
          id: newRowId('kb'),
          question: entry.question,
          answer: entry.answer,
          language: entry.language,
          alternates: entry.alternates,
          tags: entry.tags,
          source: 'file',
          seed_key: seedKeyOf(entry),
          created_by: null,
          from_conversation_id: null,
          from_message_id: null,
        },
        at,
      );
      if (row) count++;
    }
    return count;
  });
  const result = { inserted, kept: entries.length - inserted };
  ctx.logger.info({ file, ...result }, 'knowledge base seeded');
  return result;
}
