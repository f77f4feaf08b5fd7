import { presentConversation, presentMessage } from '../api/present.js';
import type { ConversationDetails, ConversationPage, MessagePage } from '../api/types.js';
import { listConversationPage } from '../store/conversation-query.store.js';
import { lastMessages, listMessages } from '../store/message.store.js';
import { decodePageCursor, encodePageCursor } from './page-cursor.js';
import type { AppContext } from './context.js';
import { requireConversation, viewConversation } from './conversation-view.js';

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_CONVERSATION_PAGE = 50;
export const DEFAULT_MESSAGE_PAGE = 50;

export interface ConversationQuery {
  states?: string[];
  handoverReason?: string;
  operatorId?: string;
  search?: string;
  cursor?: string;
  limit?: number;
}

/** The opaque cursor: the keyset position of the last row of a page. */
export function encodeCursor(position: { lastActivityAt: string; id: string }): string {
  return encodePageCursor([position.lastActivityAt, position.id]);
}

export function decodeCursor(cursor: string): { lastActivityAt: string; id: string } {
  const [lastActivityAt, id] = decodePageCursor(cursor);
  return { lastActivityAt, id };
}

/** Conversations, newest activity first, one page at a time (SPEC §7). */
export async function listConversations(ctx: Pick<AppContext, 'store'>, query: ConversationQuery): Promise<ConversationPage> {
  const limit = Math.min(query.limit ?? DEFAULT_CONVERSATION_PAGE, MAX_PAGE_SIZE);
  const db = ctx.store.reader;
  const page = await listConversationPage(db, ctx.store.dialect, {
    states: query.states,
    handoverReason: query.handoverReason,
    operatorId: query.operatorId,
    search: query.search,
    after: query.cursor !== undefined ? decodeCursor(query.cursor) : undefined,
    limit,
  });
  const last = await lastMessages(
    db,
    page.items.map((p) => p.conversation),
  );
  const conversations = page.items.map((p) => presentConversation(p, last.get(p.conversation.id) ?? null));
  const tail = page.items.at(-1)?.conversation;
  return {
    conversations,
    next_cursor: page.hasMore && tail ? encodeCursor({ lastActivityAt: tail.last_activity_at, id: tail.id }) : null,
  };
}

/** The conversation plus its latest page of messages, oldest first; reads only that page. */
export async function getConversationDetails(
  ctx: Pick<AppContext, 'store'>,
  conversationId: string,
  limit = DEFAULT_MESSAGE_PAGE,
): Promise<ConversationDetails> {
  const db = ctx.store.reader;
  const row = await requireConversation(db, conversationId);
  const [view, page] = await Promise.all([viewConversation(db, row), listMessages(db, row.id, { limit: Math.min(limit, MAX_PAGE_SIZE) })]);
  return { ...view, messages: page.rows.map(presentMessage), has_more: page.hasMore };
}

export interface MessagePageQuery {
  beforeSeq?: number;
  afterSeq?: number;
  limit?: number;
}

/**
 * A page of messages, oldest first. `before_seq` pages back from the latest; `after_seq` reads
 * forward (catch-up); with neither, the latest page.
 */
export async function getMessagePage(
  ctx: Pick<AppContext, 'store'>,
  conversationId: string,
  query: MessagePageQuery,
): Promise<MessagePage> {
  const db = ctx.store.reader;
  await requireConversation(db, conversationId);
  const page = await listMessages(db, conversationId, {
    beforeSeq: query.beforeSeq,
    afterSeq: query.afterSeq,
    limit: Math.min(query.limit ?? DEFAULT_MESSAGE_PAGE, MAX_PAGE_SIZE),
  });
  return { messages: page.rows.map(presentMessage), has_more: page.hasMore };
}
