import { DomainError } from '../chat/errors.js';
import { deleteSessionsOfKind, findOperatorByEmail, updateOperator } from '../store/operator.store.js';
import type { OperatorRow } from '../store/schema.js';
import { MIN_PASSWORD_LENGTH } from './add-operator.js';
import type { AppContext } from './context.js';
import { normaliseEmail } from './login.js';
import { generatePassword, hashPassword } from './password.js';

export interface ResetPassword {
  operator: OperatorRow;
  /** The generated password, or null when the caller chose one. Shown once, never stored in clear. */
  generatedPassword: string | null;
}

/**
 * Sets a new password for the operator with `email` (a generated one when `password` is null) and
 * ends every session of theirs, so whoever knew the old password is logged out. API tokens stay:
 * they are revoked one by one (`switchboard token revoke`).
 */
export async function resetPassword(
  ctx: Pick<AppContext, 'committer'>,
  input: { email: string; password: string | null },
  now = new Date(),
): Promise<ResetPassword> {
  if (input.password !== null && input.password.length < MIN_PASSWORD_LENGTH) {
    throw new DomainError('validation_failed', `password: at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  const generatedPassword = input.password === null ? generatePassword() : null;
  const passwordHash = await hashPassword(input.password ?? generatedPassword!);
  const operator = await ctx.committer.run(async (tx) => {
    const found = await findOperatorByEmail(tx.db, normaliseEmail(input.email));
    if (!found) throw new DomainError('not_found', 'no such operator');
    await deleteSessionsOfKind(tx.db, found.id, 'session');
    return (await updateOperator(tx.db, found.id, { password_hash: passwordHash }, now.toISOString()))!;
  });
  return { operator, generatedPassword };
}
