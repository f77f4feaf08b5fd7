import { DomainError } from '../chat/errors.js';
import {
  clearLoginFailures,
  countLoginFailuresSince,
  deleteExpiredSessions,
  deleteLoginAttempts,
  deleteSession,
  findOperatorByEmail,
  insertSession,
  lockLoginAttempts,
  oldestLoginFailureSince,
  pruneLoginFailures,
  recordLoginFailure,
} from '../store/operator.store.js';
import type { OperatorRow } from '../store/schema.js';
import { newToken, tokenId } from './authenticate.js';
import type { AppContext } from './context.js';
import { dummyHash, verifyPassword } from './password.js';

/** Sessions last a fixed 12 hours from login; the operator then logs in again. */
export const SESSION_TTL_MS = 12 * 3600 * 1000;
/** At most this many failed logins per (email, client address) within LOGIN_WINDOW_MS … */
export const LOGIN_MAX_FAILURES = 5;
/** … per email from any address (a distributed guess at one account) … */
export const LOGIN_MAX_FAILURES_PER_ACCOUNT = 10;
/** … and per client address for any email (one client trying many accounts) … */
export const LOGIN_MAX_FAILURES_PER_ADDRESS = 30;
/** … after which login answers `rate_limited` until enough failures are this old. */
export const LOGIN_WINDOW_MS = 15 * 60 * 1000;

export interface LoginResult {
  token: string;
  expiresAt: Date;
  operator: OperatorRow;
}

/** Emails are compared case-insensitively: stored and looked up lower-cased. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * Checks the credentials and opens a session. Every attempt is first recorded as a failure in the
 * same transaction that counts the earlier ones (serialised on PostgreSQL, see lockLoginAttempts),
 * so parallel guesses cannot all pass the check before any is counted; a correct password then
 * forgets its own record. Three counters apply: per (email, address), per email, per address. An
 * attempt over any limit is refused before the password is even checked, with `retry_after_s`.
 * The answers do not depend on whether the email exists (an unknown email costs as much as a wrong
 * password and is counted the same). A disabled operator is refused only after a correct password.
 */
export async function login(
  ctx: Pick<AppContext, 'store' | 'committer'>,
  input: { email: string; password: string; clientAddress: string },
  now = new Date(),
): Promise<LoginResult> {
  const email = normaliseEmail(input.email);
  const limits: [key: string, max: number][] = [
    [`${email}|${input.clientAddress}`, LOGIN_MAX_FAILURES],
    [`account:${email}`, LOGIN_MAX_FAILURES_PER_ACCOUNT],
    [`address:${input.clientAddress}`, LOGIN_MAX_FAILURES_PER_ADDRESS],
  ];
  const windowStart = new Date(now.getTime() - LOGIN_WINDOW_MS).toISOString();
  const reserved = await ctx.committer.run(async (tx) => {
    await lockLoginAttempts(tx.db, tx.dialect);
    await pruneLoginFailures(tx.db, windowStart);
    for (const [key, max] of limits) {
      if ((await countLoginFailuresSince(tx.db, key, windowStart)) >= max) {
        const oldest = await oldestLoginFailureSince(tx.db, key, windowStart);
        const freeAt = (oldest ? Date.parse(oldest) : now.getTime()) + LOGIN_WINDOW_MS;
        // A parallel attempt that took the lock before this one may carry a later `now`: never
        // promise more than the window.
        const seconds = Math.ceil((freeAt - now.getTime()) / 1000);
        return { limited: true as const, retryAfterSeconds: Math.min(LOGIN_WINDOW_MS / 1000, Math.max(1, seconds)) };
      }
    }
    const ids: number[] = [];
    for (const [key] of limits) ids.push(await recordLoginFailure(tx.db, key, now.toISOString()));
    return { limited: false as const, ids };
  });
  if (reserved.limited) {
    throw new DomainError('rate_limited', 'too many failed logins; try again later', { retry_after_s: reserved.retryAfterSeconds });
  }
  const operator = await findOperatorByEmail(ctx.store.reader, email);
  const ok = await verifyPassword(input.password, operator?.password_hash ?? (await dummyHash()));
  if (!operator || !ok) throw new DomainError('invalid_credentials', 'wrong email or password');
  if (operator.disabled_at !== null) throw new DomainError('operator_disabled', 'this operator is disabled');
  const token = newToken();
  const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
  await ctx.committer.run(async (tx) => {
    await deleteLoginAttempts(tx.db, reserved.ids);
    await clearLoginFailures(tx.db, limits[0]![0]);
    await deleteExpiredSessions(tx.db, now.toISOString());
    await insertSession(
      tx.db,
      { id: tokenId(token), operator_id: operator.id, kind: 'session', name: null, expires_at: expiresAt.toISOString() },
      now.toISOString(),
    );
  });
  return { token, expiresAt, operator };
}

/** Ends the session (or revokes the API token) with this stored id. */
export async function logout(ctx: Pick<AppContext, 'committer'>, sessionId: string): Promise<void> {
  await ctx.committer.run((tx) => deleteSession(tx.db, sessionId));
}
