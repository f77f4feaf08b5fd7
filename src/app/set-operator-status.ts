import { DomainError } from '../chat/errors.js';
import { updateOperator } from '../store/operator.store.js';
import type { OperatorRow } from '../store/schema.js';
import type { AppContext } from './context.js';

export const OPERATOR_STATUSES = ['available', 'busy', 'away'] as const;
export type OperatorStatus = (typeof OPERATOR_STATUSES)[number];

/** Sets the operator's presence (SPEC §11: available / busy / away). */
export async function setOperatorStatus(
  ctx: Pick<AppContext, 'committer'>,
  operatorId: string,
  status: OperatorStatus,
  now = new Date(),
): Promise<OperatorRow> {
  const row = await ctx.committer.run((tx) => updateOperator(tx.db, operatorId, { status }, now.toISOString()));
  if (!row) throw new DomainError('not_found', 'no such operator');
  return row;
}
