import { DomainError } from '../chat/errors.js';
import { newRowId } from '../store/json.js';
import { insertOperator } from '../store/operator.store.js';
import type { OperatorRow } from '../store/schema.js';
import type { AppContext } from './context.js';
import { normaliseEmail } from './login.js';
import { generatePassword, hashPassword } from './password.js';

export const MIN_PASSWORD_LENGTH = 8;

export interface AddOperatorInput {
  email: string;
  name: string;
  role: 'admin' | 'operator';
  /** When absent a random password is generated and returned once. */
  password?: string | null;
}

export interface AddedOperator {
  operator: OperatorRow;
  /** The generated password, or null when the caller chose one. Shown once, never stored in clear. */
  generatedPassword: string | null;
}

/** Creates an operator (email unique, case-insensitive); `conflict` when the email is taken. */
export async function addOperator(ctx: Pick<AppContext, 'committer'>, input: AddOperatorInput, now = new Date()): Promise<AddedOperator> {
  const email = normaliseEmail(input.email);
  const name = input.name.trim();
  if (!/^[^@\s]+@[^@\s]+$/.test(email) || email.length > 254) throw new DomainError('validation_failed', 'email: not an email address');
  if (name.length === 0 || name.length > 200) throw new DomainError('validation_failed', 'name: 1 to 200 characters');
  if (input.password != null && input.password.length < MIN_PASSWORD_LENGTH) {
    throw new DomainError('validation_failed', `password: at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  const generatedPassword = input.password == null ? generatePassword() : null;
  const passwordHash = await hashPassword(input.password ?? generatedPassword!);
  const operator = await ctx.committer.run((tx) =>
    insertOperator(
      tx.db,
      {
        id: newRowId('op'),
        email,
        name,
        password_hash: passwordHash,
        role: input.role,
      },
      now.toISOString(),
    ),
  );
  if (!operator) throw new DomainError('conflict', `an operator with email ${email} exists`);
  return { operator, generatedPassword };
}
