import { DomainError } from './errors.js';

/** WhatsApp's customer-service window: free-form replies are allowed for 24 h after the last inbound message. */
export const CUSTOMER_SERVICE_WINDOW_MS = 24 * 3600 * 1000;

/** When the window closes, or null when the contact never wrote (no window). */
export function windowExpiresAt(lastInboundAt: Date | null): Date | null {
  return lastInboundAt === null ? null : new Date(lastInboundAt.getTime() + CUSTOMER_SERVICE_WINDOW_MS);
}

/** Open from the last inbound message up to, not including, its expiry instant. */
export function isWindowOpen(lastInboundAt: Date | null, now: Date): boolean {
  const expiresAt = windowExpiresAt(lastInboundAt);
  return expiresAt !== null && now.getTime() < expiresAt.getTime();
}

/** Throws `window_closed` before any provider call when a free-form reply is not allowed (SPEC §3). */
export function assertWindowOpen(lastInboundAt: Date | null, now: Date): void {
  if (isWindowOpen(lastInboundAt, now)) return;
  const expiresAt = windowExpiresAt(lastInboundAt);
  throw new DomainError('window_closed', 'the 24 h customer-service window is closed', {
    window_expires_at: expiresAt?.toISOString() ?? null,
  });
}
