import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/api/types.js';
import { messagePreview } from '../../web/src/format.js';
import { eventOf, formatScore, producerOf, quoteOf, transcriptOf } from '../../web/src/message-meta.js';
import { initialState, reduce, type DashboardState } from '../../web/src/state.js';

/** What the dashboard reads from a message's metadata, and the retry of a failed message in the store. */

function message(patch: Partial<Message> = {}): Message {
  return {
    message_id: 'm1',
    conversation_id: 'c_1',
    seq: 1,
    role: 'assistant',
    type: 'text',
    text: 'hello',
    media: null,
    status: 'sent',
    error: null,
    operator: null,
    reply_to: null,
    timestamp: '2026-03-01T14:30:22.000Z',
    metadata: {},
    ...patch,
  };
}

describe('message metadata in the dashboard (issue 12)', () => {
  it('[AI7] a FAQ reply carries its entry, question and score; a model reply its model; a notice is automatic', () => {
    expect(producerOf(message({ metadata: { handled_by: 'faq', knowledge_id: 'kn_1', knowledge_question: 'Q?', score: 0.5 } }))).toEqual({
      kind: 'faq',
      knowledgeId: 'kn_1',
      question: 'Q?',
      score: 0.5,
    });
    expect(producerOf(message({ metadata: { handled_by: 'ai', model: 'm', latency_ms: 900, clarifying: true } }))).toEqual({
      kind: 'ai',
      model: 'm',
      latencyMs: 900,
      isClarifying: true,
    });
    expect(producerOf(message({ metadata: { notice: 'operator_joined', handled_by: 'ai' } }))).toEqual({
      kind: 'notice',
      notice: 'operator_joined',
    });
    expect(producerOf(message({ role: 'user', metadata: { handled_by: 'faq' } }))).toBeNull();
    // Malformed metadata is read as absent, never shown raw.
    expect(producerOf(message({ metadata: { handled_by: 'faq', knowledge_id: 7, score: 'high' } }))).toEqual({
      kind: 'faq',
      knowledgeId: null,
      question: null,
      score: null,
    });
  });

  it('[AI7] a score in 0–1 is a percentage, a raw retrieval score keeps two decimals', () => {
    expect(formatScore(0.873)).toBe('87%');
    expect(formatScore(1)).toBe('100%');
    expect(formatScore(12.3456)).toBe('12.35');
    expect(formatScore(null)).toBe('');
  });

  it('[AI2] a transcript state: pending, failed, unavailable, done (also when only the transcript is there)', () => {
    const media = {
      media_id: 'md',
      mime_type: 'audio/ogg',
      url: '/api/media/md',
      status: 'ready' as const,
      caption: null,
      transcript: null,
      filename: null,
      size: 1,
    };
    expect(transcriptOf(message({ type: 'voice', media: { ...media, transcript_status: 'pending' } as Message['media'] })).state).toBe(
      'pending',
    );
    expect(transcriptOf(message({ type: 'voice', media: { ...media, transcript_status: 'failed' } as Message['media'] })).state).toBe(
      'failed',
    );
    expect(transcriptOf(message({ type: 'voice', media: { ...media, transcript: 'hi' } }))).toEqual({ state: 'done', text: 'hi' });
    expect(transcriptOf(message({ type: 'voice', media }))).toEqual({ state: null, text: null });
  });

  it('[AI5] an event without text is labelled from metadata.event and its operator', () => {
    expect(
      eventOf(
        message({ role: 'system', type: 'event', text: null, operator: { id: 'o', name: 'Ana' }, metadata: { event: 'taken_over' } }),
      ),
    ).toEqual({ event: 'taken_over', label: 'Ana took over the conversation' });
    expect(eventOf(message({ role: 'system', type: 'event', text: 'Ana resolved it', metadata: { event: 'resolved' } })).label).toBe(
      'Ana resolved it',
    );
    expect(quoteOf(message({ text: null, type: 'photo' }))).toBe('[photo]');
    expect(quoteOf(message({ text: 'x'.repeat(200) })).length).toBe(141);
  });

  it('[OUT1] a retried message replaces its failed copy (status back to pending); a plain stale copy, or the retry answer after the send, cannot', () => {
    const failed = message({ role: 'operator', status: 'failed', error: { code: '131047', title: 'Re-engagement message' } });
    let state: DashboardState = [
      { type: 'thread_requested' as const, conversationId: 'c_1' },
      { type: 'message_seen' as const, message: failed },
    ].reduce(reduce, initialState);
    state = reduce(state, { type: 'message_seen', message: { ...failed, status: 'pending', error: null } });
    expect(state.threads.c_1!.messages.m1!.status).toBe('failed');
    const retried = { ...failed, status: 'pending' as const, error: null, metadata: { retries: 1 } };
    state = reduce(state, { type: 'message_retried', message: retried });
    expect(state.threads.c_1!.messages.m1).toMatchObject({ status: 'pending', error: null });
    const sent = { ...retried, status: 'sent' as const };
    state = reduce(state, { type: 'message_seen', message: sent });
    expect(state.threads.c_1!.messages.m1!.status).toBe('sent');
    // The retry's answer arriving after the new attempt's `sent` event does not take it back.
    state = reduce(state, { type: 'message_retried', message: retried });
    expect(state.threads.c_1!.messages.m1!.status).toBe('sent');
    // Another conversation's thread is not opened by a retry answer.
    expect(reduce(state, { type: 'message_retried', message: { ...failed, conversation_id: 'c_2' } }).threads.c_2).toBeUndefined();
  });
  it('[OUT1][§11] the list preview says who wrote the last message, a notice is Switchboard\'s, and a message refused for good says "not sent" with the reason', () => {
    expect(messagePreview(message())).toEqual({ who: 'AI:', text: 'hello', failed: null });
    expect(messagePreview(message({ role: 'user', text: 'hi' }))).toEqual({ who: '', text: 'hi', failed: null });
    expect(
      messagePreview(message({ role: 'system', text: 'Merci de votre patience.', metadata: { notice: 'handover_requested' } })).who,
    ).toBe('Switchboard:');
    // A system event (an operator took over, a number changed) is its own line, not something Switchboard said.
    expect(messagePreview(message({ role: 'system', type: 'event', text: 'Ana took over the conversation' })).who).toBe('');
    const refused = message({ role: 'operator', status: 'failed', error: { code: '131047', title: 'Re-engagement message' } });
    expect(messagePreview(refused).failed).toBe('131047: Re-engagement message');
    expect(messagePreview({ ...refused, error: null }).failed).toBe('not sent');
    // Pending, sent or delivered is not flagged; a customer's message is never "not sent"; nor is one the customer deleted.
    expect(messagePreview(message({ role: 'operator', status: 'pending' })).failed).toBeNull();
    expect(messagePreview(message({ role: 'user', status: 'failed' })).failed).toBeNull();
    expect(messagePreview({ ...refused, deleted_at: '2026-03-01T14:31:00.000Z' })).toEqual({
      who: '',
      text: 'This message was deleted',
      failed: null,
    });
  });
});
