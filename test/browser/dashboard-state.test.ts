import { describe, expect, it } from 'vitest';
import type { Conversation, Message } from '../../src/api/types.js';
import { handoverQueues, initialState, orderedMessages, reduce, type Action, type DashboardState } from '../../web/src/state.js';

/** The dashboard's store, driven by the same actions the REST answers and SSE events produce. */

function message(id: string, seq: number, patch: Partial<Message> = {}): Message {
  return {
    message_id: id,
    conversation_id: 'c_1',
    seq,
    role: 'user',
    type: 'text',
    text: `text ${id}`,
    media: null,
    status: 'received',
    error: null,
    operator: null,
    reply_to: null,
    timestamp: '2026-03-01T14:30:22.000Z',
    metadata: { message_id: id },
    ...patch,
  };
}

function conversation(id: string, patch: Partial<Conversation> = {}): Conversation {
  return {
    conversation_id: id,
    channel: { id: 'ch', provider: 'meta', name: null },
    contact: { wa_id: '9611', name: id, user_id: null, username: null, language: null },
    state: 'ai',
    operator: null,
    handover: null,
    unread_count: 0,
    last_message: null,
    window_expires_at: '2026-03-02T14:30:22.000Z',
    created_at: '2026-03-01T14:00:00.000Z',
    updated_at: '2026-03-01T14:30:22.000Z',
    ...patch,
  };
}

function run(actions: Action[], from: DashboardState = initialState): DashboardState {
  return actions.reduce(reduce, from);
}

function openThread(messages: Message[], hasMore = false): DashboardState {
  return run([
    { type: 'thread_requested', conversationId: 'c_1' },
    { type: 'thread_loaded', details: { ...conversation('c_1'), messages, has_more: hasMore } },
  ]);
}

describe('dashboard store (SPEC §11)', () => {
  it('[ID7][§11] an operator message delivered by the POST answer and by SSE is one entry', () => {
    const sent = message('msg_20260301143022_a1b2c3d4', 3, { role: 'operator', status: 'pending' });
    const state = run(
      [
        { type: 'message_seen', message: sent },
        { type: 'message_seen', message: { ...sent } },
      ],
      openThread([message('wamid.1', 1), message('wamid.2', 2)]),
    );
    expect(orderedMessages(state.threads.c_1!).map((m) => m.message_id)).toEqual(['wamid.1', 'wamid.2', sent.message_id]);
  });

  it('[§3] the thread is ordered by seq, not by arrival or timestamp', () => {
    const state = run(
      [
        { type: 'message_seen', message: message('wamid.late', 5, { timestamp: '2026-03-01T10:00:00.000Z' }) },
        { type: 'older_loaded', conversationId: 'c_1', page: { messages: [message('wamid.old', 1)], has_more: false } },
      ],
      openThread([message('wamid.mid', 3)], true),
    );
    expect(orderedMessages(state.threads.c_1!).map((m) => m.seq)).toEqual([1, 3, 5]);
    expect(state.threads.c_1!.hasMore).toBe(false);
  });

  it('[ST1] a copy with an earlier status never overwrites a later one; failed is final', () => {
    const delivered = message('msg_x', 1, { role: 'operator', status: 'delivered' });
    let state = run(
      [
        { type: 'message_seen', message: delivered },
        { type: 'message_seen', message: { ...delivered, status: 'pending' } },
      ],
      openThread([]),
    );
    expect(state.threads.c_1!.messages.msg_x!.status).toBe('delivered');
    state = run(
      [
        { type: 'message_seen', message: { ...delivered, status: 'failed', error: { code: '131047', title: 'Re-engagement message' } } },
        { type: 'message_seen', message: { ...delivered, status: 'read' } },
      ],
      state,
    );
    expect(state.threads.c_1!.messages.msg_x!.status).toBe('failed');
    expect(state.threads.c_1!.messages.msg_x!.error?.code).toBe('131047');
  });

  it('[ST1][OUT1] a retried message (metadata.retries) is a new attempt: its pending copy replaces the failed one, an old failed copy does not come back', () => {
    const failed = message('msg_r', 1, { role: 'operator', status: 'failed', error: { code: '131026', title: 'Message undeliverable' } });
    const retried = { ...failed, status: 'pending' as const, error: null, metadata: { ...failed.metadata, retries: 1 } };
    let state = run(
      [
        { type: 'message_seen', message: failed },
        { type: 'message_seen', message: retried },
      ],
      openThread([]),
    );
    expect(state.threads.c_1!.messages.msg_r!.status).toBe('pending');
    state = run(
      [
        { type: 'message_seen', message: failed },
        { type: 'message_seen', message: { ...retried, status: 'sent' } },
      ],
      state,
    );
    expect(state.threads.c_1!.messages.msg_r!).toMatchObject({ status: 'sent', error: null });
  });

  it('[AI2] downloaded media is not replaced by a stale copy that still says pending', () => {
    const media = { media_id: 'md_1', mime_type: 'audio/ogg', url: '/api/media/md_1', caption: null, filename: null, size: 10 };
    const voice = message('wamid.v', 1, { type: 'voice', media: { ...media, status: 'pending', transcript: null } });
    const state = run(
      [
        {
          type: 'message_seen',
          message: { ...voice, text: 'hello there', media: { ...media, status: 'ready', transcript: 'hello there' } },
        },
        { type: 'message_seen', message: voice },
      ],
      openThread([]),
    );
    expect(state.threads.c_1!.messages['wamid.v']!.media).toMatchObject({ status: 'ready', transcript: 'hello there' });
  });

  it('[RT1][§11] events that arrive while a thread is loading are kept and merged with the page', () => {
    const state = run([
      { type: 'thread_requested', conversationId: 'c_1' },
      { type: 'message_seen', message: message('wamid.3', 3) },
      {
        type: 'thread_loaded',
        details: { ...conversation('c_1'), messages: [message('wamid.1', 1), message('wamid.2', 2)], has_more: false },
      },
    ]);
    expect(orderedMessages(state.threads.c_1!).map((m) => m.message_id)).toEqual(['wamid.1', 'wamid.2', 'wamid.3']);
  });

  it('[§11] a page that lands after its thread was closed is not kept', () => {
    const state = run([
      { type: 'thread_requested', conversationId: 'c_1' },
      { type: 'thread_closed', conversationId: 'c_1' },
      { type: 'thread_loaded', details: { ...conversation('c_1'), messages: [message('wamid.1', 1)], has_more: false } },
    ]);
    expect(state.threads).toEqual({});
    expect(state.conversations.c_1?.conversation_id).toBe('c_1');
  });

  it('[§11] messages of a conversation that is not open only update its list entry', () => {
    const state = run([
      {
        type: 'list_loaded',
        filter: initialState.list.filter,
        page: { conversations: [conversation('c_1'), conversation('c_2')], next_cursor: null },
        append: false,
      },
      { type: 'message_seen', message: message('wamid.9', 9, { conversation_id: 'c_2' }) },
    ]);
    expect(state.threads).toEqual({});
    expect(state.conversations.c_2!.last_message?.message_id).toBe('wamid.9');
    expect(state.list.ids).toEqual(['c_2', 'c_1']);
  });

  it('[§11] a stale conversation copy (older updated_at) is ignored; newer activity moves it to the top', () => {
    let state = run([
      {
        type: 'list_loaded',
        filter: initialState.list.filter,
        page: { conversations: [conversation('c_1'), conversation('c_2')], next_cursor: 'n1' },
        append: false,
      },
      {
        type: 'conversation_updated',
        conversation: conversation('c_2', {
          state: 'operator',
          updated_at: '2026-03-01T14:31:00.000Z',
          last_message: message('wamid.5', 5, { conversation_id: 'c_2' }),
        }),
      },
      { type: 'conversation_updated', conversation: conversation('c_2', { state: 'waiting', updated_at: '2026-03-01T14:30:59.000Z' }) },
    ]);
    expect(state.conversations.c_2!.state).toBe('operator');
    expect(state.list.ids).toEqual(['c_2', 'c_1']);
    state = run(
      [
        {
          type: 'list_loaded',
          filter: initialState.list.filter,
          page: { conversations: [conversation('c_3'), conversation('c_2')], next_cursor: null },
          append: true,
        },
      ],
      state,
    );
    expect(state.list.ids).toEqual(['c_2', 'c_1', 'c_3']);
    expect(state.list.nextCursor).toBeNull();
  });

  it('[§11] a state filter drops conversations that leave it; a search only updates what it found', () => {
    const waitingOnly = { state: 'waiting', q: '' };
    let state = run([
      { type: 'list_requested', filter: waitingOnly },
      {
        type: 'list_loaded',
        filter: waitingOnly,
        page: { conversations: [conversation('c_1', { state: 'waiting' })], next_cursor: null },
        append: false,
      },
      { type: 'conversation_updated', conversation: conversation('c_1', { state: 'operator', updated_at: '2026-03-01T15:00:00.000Z' }) },
      { type: 'conversation_updated', conversation: conversation('c_2', { state: 'waiting', updated_at: '2026-03-01T15:00:00.000Z' }) },
    ]);
    expect(state.list.ids).toEqual(['c_2']);
    const search = { state: '', q: 'rana' };
    state = run(
      [
        { type: 'list_requested', filter: search },
        { type: 'list_loaded', filter: search, page: { conversations: [conversation('c_1')], next_cursor: null }, append: false },
        {
          type: 'conversation_updated',
          conversation: conversation('c_9', { last_message: message('wamid.x', 1, { conversation_id: 'c_9' }) }),
        },
      ],
      state,
    );
    expect(state.list.ids).toEqual(['c_1']);
    // A page answered for a filter no longer shown is dropped.
    state = run(
      [{ type: 'list_loaded', filter: waitingOnly, page: { conversations: [conversation('c_5')], next_cursor: null }, append: false }],
      state,
    );
    expect(state.list.ids).toEqual(['c_1']);
  });

  it('[AI4] waiting conversations are split into customer-requested and AI-initiated, longest-waiting first', () => {
    const at = (minute: number) => `2026-03-01T14:${String(minute).padStart(2, '0')}:00.000Z`;
    const conversations = Object.fromEntries(
      [
        conversation('u_late', { state: 'waiting', handover: { reason: 'user_requested', at: at(20), note: null } }),
        conversation('u_early', { state: 'waiting', handover: { reason: 'user_requested', at: at(5), note: null } }),
        conversation('ai_sent', { state: 'waiting', handover: { reason: 'sentiment', at: at(10), note: null } }),
        conversation('ai_fail', { state: 'waiting', handover: { reason: 'ai_failed', at: at(1), note: null } }),
        conversation('ai_asked', { state: 'waiting', handover: { reason: 'ai_requested', at: at(15), note: 'refund' } }),
        // No hand-over recorded: waiting since the customer's last message (window_expires_at − 24 h = 14:30:22).
        conversation('none', { state: 'waiting', handover: null }),
        conversation('taken', { state: 'operator', handover: { reason: 'user_requested', at: at(0), note: null } }),
      ].map((c) => [c.conversation_id, c]),
    );
    const queues = handoverQueues(conversations);
    expect(queues.userRequested.map((c) => c.conversation_id)).toEqual(['u_early', 'u_late', 'none']);
    expect(queues.aiInitiated.map((c) => c.conversation_id)).toEqual(['ai_fail', 'ai_sent', 'ai_asked']);
  });
});
