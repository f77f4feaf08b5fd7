import { describe, expect, it } from 'vitest';
import { isDomainError } from './errors.js';
import { CUSTOMER_SERVICE_WINDOW_MS, assertWindowOpen, isWindowOpen, windowExpiresAt } from './window.js';

const last = new Date('2026-03-01T14:30:22.000Z');
const at = (ms: number) => new Date(last.getTime() + ms);

describe('customer-service window', () => {
  it('[§3 window] expires 24 h after the last inbound message', () => {
    expect(CUSTOMER_SERVICE_WINDOW_MS).toBe(86_400_000);
    expect(windowExpiresAt(last)?.toISOString()).toBe('2026-03-02T14:30:22.000Z');
  });

  it('[§3 window] there is no window before the contact ever wrote', () => {
    expect(windowExpiresAt(null)).toBeNull();
    expect(isWindowOpen(null, last)).toBe(false);
  });

  it('[§3 window] is open up to, and closed from, the expiry instant', () => {
    expect(isWindowOpen(last, last)).toBe(true);
    expect(isWindowOpen(last, at(CUSTOMER_SERVICE_WINDOW_MS - 1))).toBe(true);
    expect(isWindowOpen(last, at(CUSTOMER_SERVICE_WINDOW_MS))).toBe(false);
    expect(() => assertWindowOpen(last, at(CUSTOMER_SERVICE_WINDOW_MS - 1))).not.toThrow();
  });

  it('[§3 window] a reply outside the window is refused with window_closed', () => {
    const error = (() => {
      try {
        assertWindowOpen(last, at(CUSTOMER_SERVICE_WINDOW_MS + 1));
      } catch (e) {
        return e;
      }
    })();
    expect(isDomainError(error) && error.code).toBe('window_closed');
    expect(isDomainError(error) && error.details).toEqual({ window_expires_at: '2026-03-02T14:30:22.000Z' });
  });

  it('[§3 window] a reply to a contact who never wrote is refused with window_closed', () => {
    expect(() => assertWindowOpen(null, last)).toThrow(
      expect.objectContaining({ code: 'window_closed', details: { window_expires_at: null } }),
    );
  });
});
