import { DomainError } from '../chat/errors.js';
import {
  clearLoginFailures, countLoginFailuresSince, deleteExpiredSessions, deleteSession, findOperatorByEmail, insertSession,
  pruneLoginFailures, recordLoginFailure,
} from '../store/operator.store.js';
import type { OperatorRow } from '../store/schema.js';
import { newToken, tokenId } from './authenticate.js';
import type { AppContext } from './context.js';
import { dummyHash, verifyPassword } from './password.js';

/** Sessions last a fixed 12 hours from login; the operator then logs in again. */
export const SESSION_TTL_MS = 12 * 3600 * 1000;
/** At most this many failed logins per (email, client address) within LOGIN_WINDOW_MS … */
export const LOGIN_MAX_FAILURES = 5;
/** … after which login answers `rate_limited` until the oldest failure is this old. */
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
 * Checks the credentials and opens a session. Failures are counted per (email, client address) in
 * the database, so the limit holds across restarts and processes; the 6th attempt within the
 * window is refused before the password is even checked. An unknown email costs as much as a
 * wrong password. A disabled operator is refused only after a correct password, so the answer
 * tells an attacker nothing.
 */
export async function login(ctx: Pick<AppContext, 'store' | 'committer'>, input: { email: string; password: string; clientAddress: string }, now = new Date()): Promise<LoginResult> {
  const email = normaliseEmail(input.email);
  const key = `${email}|${input.clientAddress}`;
  const windowStart = new Date(now.getTime() - LOGIN_WINDOW_MS).toISOString();
  if (await countLoginFailuresSince(ctx.store.reader, key, windowStart) >= LOGIN_MAX_FAILURES) {
    throw new DomainError('rate_limited', 'too many failed logins; try again later');
  }
  const operator = await findOperatorByEmail(ctx.store.reader, email);
  const ok = await verifyPassword(input.password, operator?.password_hash ?? await dummyHash());
  if (!operator || !ok) {
    await ctx.committer.run(async (tx) => {
      await pruneLoginFailures(tx.db, windowStart);
      await recordLoginFailure(tx.db, key, now.toISOString());
    });
    throw new DomainError('invalid_credentials', 'wrong email or password');
  }
  if (operator.disabled_at !== null) throw new DomainError('operator_disabled', 'this operator is disabled');
  const token = newToken();
  const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
  await ctx.committer.run(async (tx) => {
    await clearLoginFailures(tx.db, key);
    await deleteExpiredSessions(tx.db, now.toISOString());
    await insertSession(tx.db, { id: tokenId(token), operator_id: operator.id, kind: 'session', name: null, expires_at: expiresAt.toISOString() }, now.toISOString());
  });
  return { token, expiresAt, operator };
}

/** Ends the session (or revokes the API token) with this stored id. */
export async function logout(ctx: Pick<AppContext, 'committer'>, sessionId: string): Promise<void> {
  await ctx.committer.run((tx) => deleteSession(tx.db, sessionId));
}
