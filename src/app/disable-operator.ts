import { DomainError } from '../chat/errors.js';
import { deleteSessionsOf, findOperatorByEmail, findOperatorById, updateOperator } from '../store/operator.store.js';
import type { OperatorRow } from '../store/schema.js';
import type { AppContext } from './context.js';
import { normaliseEmail } from './login.js';

/**
 * Disables an operator (by id or email): they can no longer log in, and every session and API token
 * of theirs ends at once. Idempotent. An admin cannot disable themselves (`conflict`), so the API
 * never locks out the caller by accident.
 */
export async function disableOperator(
  ctx: Pick<AppContext, 'committer'>,
  target: { id: string } | { email: string },
  actorId: string | null,
  now = new Date(),
): Promise<OperatorRow> {
  return ctx.committer.run(async (tx) => {
    const operator =
      'id' in target ? await findOperatorById(tx.db, target.id) : await findOperatorByEmail(tx.db, normaliseEmail(target.email));
    if (!operator) throw new DomainError('not_found', 'no such operator');
    if (operator.id === actorId) throw new DomainError('conflict', 'you cannot disable yourself');
    await deleteSessionsOf(tx.db, operator.id);
    if (operator.disabled_at !== null) return operator;
    return (await updateOperator(tx.db, operator.id, { disabled_at: now.toISOString() }, now.toISOString()))!;
  });
}
