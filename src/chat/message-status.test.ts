import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { STATUS_RANK, isStatusForward, nextStatus } from './message-status.js';
import { MESSAGE_STATUSES, type MessageStatus } from './types.js';

type Reported = 'sent' | 'delivered' | 'read' | 'failed';
const REPORTED: readonly Reported[] = ['sent', 'delivered', 'read', 'failed'];

function applyAll(start: MessageStatus, reports: readonly MessageStatus[]): MessageStatus {
  let status = start;
  for (const incoming of reports) status = nextStatus(status, incoming) ?? status;
  return status;
}

/**
 * The documented model: the highest ladder status reported wins when it is `delivered` or
 * `read`; below that, any `failed` wins; otherwise the highest of `pending`/`sent`.
 */
function expectedFinal(reports: readonly Reported[]): MessageStatus {
  const ladder = reports.filter((s): s is Exclude<Reported, 'failed'> => s !== 'failed');
  const top = ladder.reduce<keyof typeof STATUS_RANK>((best, s) => (STATUS_RANK[s] > STATUS_RANK[best] ? s : best), 'pending');
  if (STATUS_RANK[top] >= STATUS_RANK.delivered) return top;
  return reports.includes('failed') ? 'failed' : top;
}

describe('nextStatus', () => {
  it('[ST1] moves forward along pending < sent < delivered < read', () => {
    expect(nextStatus('pending', 'sent')).toBe('sent');
    expect(nextStatus('pending', 'read')).toBe('read');
    expect(nextStatus('sent', 'delivered')).toBe('delivered');
    expect(nextStatus('delivered', 'read')).toBe('read');
  });

  it('[ST1] an equal or lower status changes nothing: a late sent after read', () => {
    expect(nextStatus('read', 'sent')).toBeNull();
    expect(nextStatus('read', 'delivered')).toBeNull();
    expect(nextStatus('read', 'read')).toBeNull();
    expect(nextStatus('delivered', 'sent')).toBeNull();
    expect(nextStatus('sent', 'sent')).toBeNull();
    expect(nextStatus('sent', 'pending')).toBeNull();
  });

  it('[ST1] failed applies to a pending or sent message', () => {
    expect(nextStatus('pending', 'failed')).toBe('failed');
    expect(nextStatus('sent', 'failed')).toBe('failed');
    expect(nextStatus('failed', 'failed')).toBeNull();
  });

  it('[ST1] a late failure after delivered or read changes nothing', () => {
    expect(nextStatus('delivered', 'failed')).toBeNull();
    expect(nextStatus('read', 'failed')).toBeNull();
  });

  it('[ST1] after failed, delivered or read moves forward: the provider delivered after all', () => {
    expect(nextStatus('failed', 'delivered')).toBe('delivered');
    expect(nextStatus('failed', 'read')).toBe('read');
  });

  it('[ST1] after failed, a sent changes nothing: it is the failed attempt’s own reordered webhook', () => {
    expect(nextStatus('failed', 'sent')).toBeNull();
    expect(nextStatus('failed', 'pending')).toBeNull();
  });

  it('[ST1] received (inbound) never changes and is never applied', () => {
    for (const incoming of MESSAGE_STATUSES) expect(nextStatus('received', incoming)).toBeNull();
    for (const current of MESSAGE_STATUSES) expect(nextStatus(current, 'received')).toBeNull();
  });

  it('[ST1] isStatusForward agrees with nextStatus for every pair', () => {
    for (const current of MESSAGE_STATUSES) {
      for (const incoming of MESSAGE_STATUSES) {
        expect(isStatusForward(current, incoming)).toBe(nextStatus(current, incoming) !== null);
      }
    }
  });

  it('[ST1] never returns the status it was given (null means no change)', () => {
    for (const current of MESSAGE_STATUSES) {
      for (const incoming of MESSAGE_STATUSES) expect(nextStatus(current, incoming)).not.toBe(current);
    }
  });
});

describe('nextStatus over sequences', () => {
  const reports = fc.array(fc.constantFrom(...REPORTED), { maxLength: 12 });

  it('[ST1] the final status is the highest non-failed rank seen; failed stands only while nothing reached delivered', () => {
    fc.assert(
      fc.property(reports, (seq) => {
        expect(applyAll('pending', seq)).toBe(expectedFinal(seq));
      }),
      { numRuns: 2000 },
    );
  });

  it('[ST1] the order in which sent, delivered and read arrive never matters', () => {
    const trio = fc.shuffledSubarray(['sent', 'delivered', 'read'] as const, { minLength: 3, maxLength: 3 });
    fc.assert(
      fc.property(trio, (order) => {
        expect(applyAll('pending', order)).toBe('read');
      }),
    );
  });

  it('[ST1] the order of any reports never matters, duplicates included', () => {
    fc.assert(
      fc.property(
        reports.chain((seq) => fc.tuple(fc.constant(seq), fc.shuffledSubarray(seq, { minLength: seq.length }))),
        ([seq, shuffled]) => {
          expect(applyAll('pending', shuffled)).toBe(applyAll('pending', seq));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('[ST1] an inbound message stays received whatever is reported', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...MESSAGE_STATUSES)), (seq) => {
        expect(applyAll('received', seq)).toBe('received');
      }),
    );
  });

  it('[ST1] a redelivered report is a no-op the second time', () => {
    fc.assert(
      fc.property(reports, fc.constantFrom(...REPORTED), (seq, again) => {
        const once = applyAll('pending', [...seq, again]);
        expect(nextStatus(once, again)).toBeNull();
      }),
    );
  });
});
