import { presentKnowledge } from '../api/present.js';
import type { KnowledgeEntry, KnowledgePage } from '../api/types.js';
import { DomainError } from '../chat/errors.js';
import {
  findKnowledge,
  insertKnowledge,
  listKnowledgePage,
  softDeleteKnowledge,
  updateKnowledge,
  type KnowledgePatch,
} from '../store/knowledge.store.js';
import { newRowId } from '../store/json.js';
import { findMessage } from '../store/message.store.js';
import type { AuthenticatedOperator } from './authenticate.js';
import { decodePageCursor, encodePageCursor } from './page-cursor.js';
import type { AppContext } from './context.js';

export const MAX_KNOWLEDGE_PAGE = 100;
export const DEFAULT_KNOWLEDGE_PAGE = 50;

function encodeCursor(row: { created_at: string; id: string }): string {
  return encodePageCursor([row.created_at, row.id]);
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  const [createdAt, id] = decodePageCursor(cursor);
  return { createdAt, id };
}

/** Live entries, oldest first, optionally those containing `search` (question, answer or alternates). */
export async function listKnowledge(
  ctx: Pick<AppContext, 'store'>,
  query: { search?: string; cursor?: string; limit?: number },
): Promise<KnowledgePage> {
  const limit = Math.min(query.limit ?? DEFAULT_KNOWLEDGE_PAGE, MAX_KNOWLEDGE_PAGE);
  const page = await listKnowledgePage(ctx.store.reader, {
    search: query.search,
    after: query.cursor !== undefined ? decodeCursor(query.cursor) : undefined,
    limit,
  });
  const tail = page.rows.at(-1);
  return { entries: page.rows.map(presentKnowledge), next_cursor: page.hasMore && tail ? encodeCursor(tail) : null };
}

/** One entry, also a deleted one (AI messages keep naming the entry they came from). */
export async function getKnowledge(ctx: Pick<AppContext, 'store'>, id: string): Promise<KnowledgeEntry> {
  const row = await findKnowledge(ctx.store.reader, id);
  if (!row) throw new DomainError('not_found', `no knowledge entry ${id}`);
  return presentKnowledge(row);
}

export interface NewKnowledgeInput {
  question: string;
  answer: string;
  language: string | null;
  alternates: string[];
  tags: string[];
  /** The AI reply this Q&A is saved from [AI7]: it must be a message of that conversation. */
  from: { conversation_id: string; message_id: string } | null;
}

/**
 * Adds a Q&A [AI7] (operators and admins). Saved from an AI reply, the message must exist in the
 * named conversation (`message_not_found` otherwise, nothing stored). The faq responder of every
 * process sees the entry on its next reply (it re-reads the table's fingerprint before each one).
 */
export async function addKnowledge(
  ctx: Pick<AppContext, 'committer'>,
  actor: AuthenticatedOperator,
  source: 'dashboard' | 'api',
  input: NewKnowledgeInput,
  now = new Date(),
): Promise<KnowledgeEntry> {
  return ctx.committer.run(async (tx) => {
    if (input.from) {
      const message = await findMessage(tx.db, input.from.conversation_id, input.from.message_id);
      if (!message)
        throw new DomainError('message_not_found', `no message ${input.from.message_id} in conversation ${input.from.conversation_id}`);
    }
    const row = await insertKnowledge(
      tx.db,
      {
        id: newRowId('kb'),
        question: input.question,
        answer: input.answer,
        language: input.language,
        alternates: input.alternates,
        tags: input.tags,
        source,
        seed_key: null,
        created_by: actor.id,
        from_conversation_id: input.from?.conversation_id ?? null,
        from_message_id: input.from?.message_id ?? null,
      },
      now.toISOString(),
    );
    return presentKnowledge(row);
  });
}

/** Corrects an entry in place (admins): the next faq reply uses the new text. `not_found` for unknown or deleted entries. */
export async function correctKnowledge(
  ctx: Pick<AppContext, 'committer'>,
  id: string,
  patch: KnowledgePatch,
  now = new Date(),
): Promise<KnowledgeEntry> {
  return ctx.committer.run(async (tx) => {
    const row = await updateKnowledge(tx.db, id, patch, now.toISOString());
    if (!row) throw new DomainError('not_found', `no knowledge entry ${id}`);
    return presentKnowledge(row);
  });
}

/** Deletes an entry (admins): it stops answering at once; the row stays for the messages naming it. */
export async function deleteKnowledge(ctx: Pick<AppContext, 'committer'>, id: string, now = new Date()): Promise<KnowledgeEntry> {
  return ctx.committer.run(async (tx) => {
    const row = await softDeleteKnowledge(tx.db, id, now.toISOString());
    if (!row) throw new DomainError('not_found', `no knowledge entry ${id}`);
    return presentKnowledge(row);
  });
}
