/**
 * The dashboard's one store: conversations by `conversation_id`, each open thread's messages by
 * `message_id` [ID7]. REST answers and SSE events are merged by the same rules, so a message that
 * arrives twice (the POST response and the SSE `new_message` of an operator's own send, or a REST
 * page overlapping live events) is one entry, and a stale copy never overwrites a newer one.
 */
import type { Conversation, ConversationDetails, ConversationPage, Message, MessagePage } from './api.js';

export interface Thread {
  /** Keyed by message_id: the only place a message lives. */
  messages: Record<string, Message>;
  hasMore: boolean;
  /** `loading` until the first page arrived; events received meanwhile are kept and merged. */
  status: 'loading' | 'ready' | 'error';
}

export interface ListFilter {
  state: string;
  q: string;
}

export interface DashboardState {
  conversations: Record<string, Conversation>;
  list: { ids: string[]; nextCursor: string | null; filter: ListFilter; status: 'loading' | 'ready' | 'error' };
  threads: Record<string, Thread>;
}

export type Action =
  | { type: 'list_requested'; filter: ListFilter }
  | { type: 'list_loaded'; filter: ListFilter; page: ConversationPage; append: boolean }
  | { type: 'list_failed' }
  | { type: 'conversations_seen'; conversations: Conversation[] }
  | { type: 'conversation_updated'; conversation: Conversation }
  | { type: 'thread_requested'; conversationId: string }
  | { type: 'thread_loaded'; details: ConversationDetails }
  | { type: 'thread_failed'; conversationId: string }
  | { type: 'older_loaded'; conversationId: string; page: MessagePage }
  | { type: 'message_seen'; message: Message }
  /** The answer to a retry of a failed message: it replaces the failed copy (a new attempt). */
  | { type: 'message_retried'; message: Message }
  | { type: 'thread_closed'; conversationId: string }
  | { type: 'reset' };

export const initialState: DashboardState = {
  conversations: {},
  list: { ids: [], nextCursor: null, filter: { state: '', q: '' }, status: 'loading' },
  threads: {},
};

const STATUS_RANK: Record<Message['status'], number> = { received: 0, pending: 1, sent: 2, delivered: 3, read: 4, failed: 5 };

/** How many times the message was retried (`metadata.retries`): each retry is a new attempt. */
function attemptOf(m: Message): number {
  const retries = m.metadata?.retries;
  return typeof retries === 'number' ? retries : 0;
}

/**
 * Whether `incoming` may replace `current` (same message_id). Status only moves forward [ST1]
 * within one attempt, so a copy with a lower status is older; `failed` is final for its attempt.
 * A copy of a later attempt (a retry, `metadata.retries`) replaces any copy of an earlier one.
 * Media that finished (ready/failed) is never replaced by a copy that still says pending.
 */
function mergeMessage(current: Message | undefined, incoming: Message): Message {
  if (!current) return incoming;
  if (attemptOf(incoming) < attemptOf(current)) return current;
  if (attemptOf(incoming) === attemptOf(current) && STATUS_RANK[incoming.status] < STATUS_RANK[current.status]) return current;
  if (current.media && current.media.status !== 'pending' && incoming.media?.status === 'pending') {
    return { ...incoming, media: current.media, text: current.text ?? incoming.text };
  }
  return incoming;
}

function mergeMessages(thread: Thread, messages: Message[]): Thread {
  const next = { ...thread.messages };
  for (const m of messages) next[m.message_id] = mergeMessage(next[m.message_id], m);
  return { ...thread, messages: next };
}

/** A copy older than the one held (by `updated_at`) is ignored: REST answers can be overtaken by events. */
function mergeConversation(current: Conversation | undefined, incoming: Conversation): Conversation {
  if (current && incoming.updated_at < current.updated_at) return current;
  const lastSeq = current?.last_message?.seq ?? -1;
  if (current?.last_message && (incoming.last_message?.seq ?? -1) < lastSeq) {
    return { ...incoming, last_message: current.last_message };
  }
  return incoming;
}

function matchesFilter(c: Conversation, filter: ListFilter): boolean {
  return filter.state === '' || filter.state.split(',').includes(c.state);
}

/** The list keeps the server's order; a conversation with newer activity moves to the top. */
function placeInList(state: DashboardState, before: Conversation | undefined, after: Conversation): string[] {
  const { ids, filter } = state.list;
  const id = after.conversation_id;
  const present = ids.includes(id);
  if (!matchesFilter(after, filter)) return present ? ids.filter((x) => x !== id) : ids;
  const isNewer = (after.last_message?.seq ?? -1) > (before?.last_message?.seq ?? -1);
  // A search is the server's to evaluate: only conversations already found are updated.
  if (!present && filter.q !== '') return ids;
  if (present && !isNewer) return ids;
  return [id, ...ids.filter((x) => x !== id)];
}

function upsertConversation(state: DashboardState, incoming: Conversation): DashboardState {
  const before = state.conversations[incoming.conversation_id];
  const merged = mergeConversation(before, incoming);
  return {
    ...state,
    conversations: { ...state.conversations, [merged.conversation_id]: merged },
    list: { ...state.list, ids: placeInList(state, before, merged) },
  };
}

export function reduce(state: DashboardState, action: Action): DashboardState {
  switch (action.type) {
    case 'list_requested':
      return { ...state, list: { ...state.list, filter: action.filter, status: 'loading' } };
    case 'list_loaded': {
      if (action.filter.state !== state.list.filter.state || action.filter.q !== state.list.filter.q) return state;
      const conversations = { ...state.conversations };
      for (const c of action.page.conversations) conversations[c.conversation_id] = mergeConversation(conversations[c.conversation_id], c);
      const pageIds = action.page.conversations.map((c) => c.conversation_id);
      const ids = action.append ? [...state.list.ids, ...pageIds.filter((id) => !state.list.ids.includes(id))] : pageIds;
      return { ...state, conversations, list: { ...state.list, ids, nextCursor: action.page.next_cursor, status: 'ready' } };
    }
    case 'list_failed':
      return { ...state, list: { ...state.list, status: 'error' } };
    case 'conversations_seen': {
      const conversations = { ...state.conversations };
      for (const c of action.conversations) conversations[c.conversation_id] = mergeConversation(conversations[c.conversation_id], c);
      return { ...state, conversations };
    }
    case 'conversation_updated':
      return upsertConversation(state, action.conversation);
    case 'thread_requested': {
      const existing = state.threads[action.conversationId];
      const thread: Thread = existing
        ? { ...existing, status: existing.status === 'ready' ? 'ready' : 'loading' }
        : { messages: {}, hasMore: false, status: 'loading' };
      return { ...state, threads: { ...state.threads, [action.conversationId]: thread } };
    }
    case 'thread_loaded': {
      const { messages, has_more: hasMore, ...conversation } = action.details;
      const id = conversation.conversation_id;
      const existing = state.threads[id];
      const conversations = { ...state.conversations, [id]: mergeConversation(state.conversations[id], conversation) };
      // A page that lands after its thread was closed (the operator moved on) is not kept.
      if (!existing) return { ...state, conversations };
      const wasReady = existing.status === 'ready';
      // A reload of a thread already shown keeps the older pages it had loaded.
      const thread = mergeMessages({ ...existing, hasMore: wasReady ? existing.hasMore : hasMore, status: 'ready' }, messages);
      return { ...state, conversations, threads: { ...state.threads, [id]: thread } };
    }
    case 'thread_failed': {
      const existing = state.threads[action.conversationId];
      if (!existing) return state;
      return { ...state, threads: { ...state.threads, [action.conversationId]: { ...existing, status: 'error' } } };
    }
    case 'older_loaded': {
      const existing = state.threads[action.conversationId];
      if (!existing) return state;
      const thread = mergeMessages({ ...existing, hasMore: action.page.has_more }, action.page.messages);
      return { ...state, threads: { ...state.threads, [action.conversationId]: thread } };
    }
    case 'message_seen': {
      const m = action.message;
      let next = state;
      const thread = state.threads[m.conversation_id];
      // Messages are kept only for threads that are open (or loading); the list shows last_message.
      if (thread) next = { ...next, threads: { ...next.threads, [m.conversation_id]: mergeMessages(thread, [m]) } };
      const conversation = next.conversations[m.conversation_id];
      if (conversation && m.seq > (conversation.last_message?.seq ?? -1)) {
        next = upsertConversation(next, { ...conversation, last_message: m });
      } else if (conversation?.last_message?.message_id === m.message_id) {
        next = {
          ...next,
          conversations: {
            ...next.conversations,
            [m.conversation_id]: { ...conversation, last_message: mergeMessage(conversation.last_message, m) },
          },
        };
      }
      return next;
    }
    case 'message_retried': {
      // The answer is the new attempt (`metadata.retries` one higher): it replaces the failed copy,
      // but not a copy of the same attempt that got further — the send can finish, and its event
      // arrive, before this answer does.
      const m = action.message;
      const thread = state.threads[m.conversation_id];
      if (!thread) return state;
      return { ...state, threads: { ...state.threads, [m.conversation_id]: mergeMessages(thread, [m]) } };
    }
    case 'thread_closed': {
      if (!state.threads[action.conversationId]) return state;
      const threads = { ...state.threads };
      delete threads[action.conversationId];
      return { ...state, threads };
    }
    case 'reset':
      return { ...initialState, list: { ...initialState.list, filter: state.list.filter } };
  }
}

/** A thread's messages in display order: by the server's `seq`, oldest first (SPEC §3). */
export function orderedMessages(thread: Thread): Message[] {
  return Object.values(thread.messages).sort((a, b) => a.seq - b.seq);
}

/**
 * Since when a waiting conversation has waited: its hand-over; without one (responder `none`),
 * the customer's last message (the window opens then: window_expires_at − 24 h).
 */
export function waitingSince(c: Conversation): string {
  if (c.handover) return c.handover.at;
  if (c.window_expires_at) return new Date(Date.parse(c.window_expires_at) - 24 * 3600 * 1000).toISOString();
  return c.created_at;
}

/** Waiting conversations split by who asked: the customer, or the AI (it asked, failed, or sensed anger) [AI4]. */
export function handoverQueues(conversations: Record<string, Conversation>): {
  userRequested: Conversation[];
  aiInitiated: Conversation[];
} {
  const waiting = Object.values(conversations)
    .filter((c) => c.state === 'waiting')
    .sort((a, b) => Date.parse(waitingSince(a)) - Date.parse(waitingSince(b)));
  return {
    // No recorded reason (e.g. responder `none`: every new conversation waits) is the customer waiting.
    userRequested: waiting.filter((c) => !c.handover || c.handover.reason === 'user_requested'),
    aiInitiated: waiting.filter((c) => c.handover !== null && c.handover.reason !== 'user_requested'),
  };
}
