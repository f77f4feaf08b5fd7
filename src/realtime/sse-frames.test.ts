import { describe, expect, it } from 'vitest';
import { sseComment, sseEvent, sseRetry } from './sse-frames.js';

describe('SSE framing', () => {
  it('[RT1] an event frame carries its id, name and data, and ends with a blank line', () => {
    expect(sseEvent(42, 'new_message', '{"a":1}')).toBe('id: 42\nevent: new_message\ndata: {"a":1}\n\n');
  });

  it('splits data on every kind of line break, so a newline cannot end the frame early', () => {
    expect(sseEvent(1, 'x', 'a\nb\r\nc\rd')).toBe('id: 1\nevent: x\ndata: a\ndata: b\ndata: c\ndata: d\n\n');
  });

  it('omits the id when there is none', () => {
    expect(sseEvent(null, 'x', '')).toBe('event: x\ndata: \n\n');
  });

  it('retry and comment frames', () => {
    expect(sseRetry(2000)).toBe('retry: 2000\n\n');
    expect(sseComment('ping')).toBe(': ping\n\n');
    expect(sseComment('a\nb')).toBe(': a b\n\n');
  });
});
