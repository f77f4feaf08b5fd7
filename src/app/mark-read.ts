import type { Conversation } from '../api/types.js';
import { enqueueJob } from '../store/job.store.js';
import { latestInbound } from '../store/outbox.store.js';
import type { AppContext } from './context.js';
import { lockConversation, updateAndEmit, viewConversation } from './conversation-view.js';
import type { OutboxReadPayload } from './deliver-outbox.js';

/**
 * The read marker: `unread_count` back to 0 (emits `conversation_updated` only when it changed).
 * When there was something unread, an `outbox.read` job in the same unit marks the customer's
 * latest message read at the provider (Meta: that marks every earlier one too); the job is best
 * effort and never holds up the route.
 */
export async function markRead(ctx: Pick<AppContext, 'committer'>, conversationId: string, now = new Date()): Promise<Conversation> {
  return ctx.committer.run(async (tx) => {
    const row = await lockConversation(tx, conversationId);
    if (row.unread_count === 0) return viewConversation(tx.db, row);
    const latest = await latestInbound(tx.db, row.id);
    if (latest) {
      const payload: OutboxReadPayload = { conversation_id: row.id, message_id: latest.message_id };
      await enqueueJob(tx.db, tx.dialect, { kind: 'outbox.read', dedupe_key: `${row.id}:${latest.message_id}`, payload });
    }
    return updateAndEmit(tx, row.id, { unread_count: 0 }, now);
  });
}
