import type { Conversation } from '../api/types.js';
import type { AppContext } from './context.js';
import { requireConversation, updateAndEmit, viewConversation } from './conversation-view.js';

/** The read marker: `unread_count` back to 0 (emits `conversation_updated` only when it changed). */
export async function markRead(ctx: Pick<AppContext, 'committer'>, conversationId: string, now = new Date()): Promise<Conversation> {
  return ctx.committer.run(async (tx) => {
    const row = await requireConversation(tx.db, conversationId);
    if (row.unread_count === 0) return viewConversation(tx.db, row);
    return updateAndEmit(tx, row.id, { unread_count: 0 }, now);
  });
}
