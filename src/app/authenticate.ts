import { createHash, randomBytes } from 'node:crypto';
import { DomainError } from '../chat/errors.js';
import { findOperatorById, findSessionWithOperator, insertSession, listOperators } from '../store/operator.store.js';
import type { OperatorRow } from '../store/schema.js';
import type { AppContext } from './context.js';

export type SessionKind = 'session' | 'api_token';

/** The operator behind a request, without the password hash. */
export interface AuthenticatedOperator {
  id: string;
  email: string;
  name: string;
  role: 'admin' | 'operator';
  status: 'available' | 'busy' | 'away';
}

export interface Authentication {
  operator: AuthenticatedOperator;
  kind: SessionKind;
  /** The stored id (sha256 of the token) of the session or API token used. */
  sessionId: string;
}

/** A new secret token; only its sha256 is ever stored. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The stored id of a token: sha256 hex. A database leak therefore gives no usable token. */
export function tokenId(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function toAuthenticated(row: OperatorRow): AuthenticatedOperator {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role === 'admin' ? 'admin' : 'operator',
    status: row.status as AuthenticatedOperator['status'],
  };
}

/**
 * The operator a token of `kind` belongs to, or null when the token is unknown, of the other
 * kind, expired, or its operator is disabled. Reads only.
 */
export async function authenticate(
  ctx: Pick<AppContext, 'store'>,
  token: string,
  kind: SessionKind,
  now = new Date(),
): Promise<Authentication | null> {
  if (token.length === 0 || token.length > 200) return null;
  return authenticateStored(ctx, tokenId(token), kind, now);
}

/**
 * The same check by the stored id: for a long-lived request (an SSE stream) whose session may end
 * while it runs — logout, expiry, a disabled operator.
 */
export async function authenticateStored(
  ctx: Pick<AppContext, 'store'>,
  id: string,
  kind: SessionKind,
  now = new Date(),
): Promise<Authentication | null> {
  const found = await findSessionWithOperator(ctx.store.reader, id);
  if (!found || found.session.kind !== kind) return null;
  if (found.session.expires_at !== null && Date.parse(found.session.expires_at) <= now.getTime()) return null;
  if (found.operator.disabled_at !== null) return null;
  return { operator: toAuthenticated(found.operator), kind, sessionId: id };
}

export interface NewApiToken {
  token: string;
  operator_id: string;
  name: string;
  expires_at: string | null;
}

/**
 * Creates an API token (`Authorization: Bearer …`) for `operatorId`. Operators create tokens for
 * themselves; only an admin may create one for someone else. The token is returned once.
 */
export async function createApiToken(
  ctx: Pick<AppContext, 'committer'>,
  actor: AuthenticatedOperator,
  input: { operatorId?: string; name: string; expiresInDays?: number },
  now = new Date(),
): Promise<NewApiToken> {
  const operatorId = input.operatorId ?? actor.id;
  if (operatorId !== actor.id && actor.role !== 'admin')
    throw new DomainError('forbidden', 'only an admin can create tokens for other operators');
  const token = newToken();
  const expiresAt = input.expiresInDays ? new Date(now.getTime() + input.expiresInDays * 86_400_000).toISOString() : null;
  await ctx.committer.run(async (tx) => {
    const operator = await findOperatorById(tx.db, operatorId);
    if (!operator) throw new DomainError('not_found', `no operator ${operatorId}`);
    if (operator.disabled_at !== null) throw new DomainError('operator_disabled', 'the operator is disabled');
    await insertSession(
      tx.db,
      { id: tokenId(token), operator_id: operatorId, kind: 'api_token', name: input.name, expires_at: expiresAt },
      now.toISOString(),
    );
  });
  return { token, operator_id: operatorId, name: input.name, expires_at: expiresAt };
}

/** The operator row by id (`not_found` when it does not exist). */
export async function getOperator(ctx: Pick<AppContext, 'store'>, id: string): Promise<OperatorRow> {
  const row = await findOperatorById(ctx.store.reader, id);
  if (!row) throw new DomainError('not_found', `no operator ${id}`);
  return row;
}

/** Every operator, oldest first. */
export async function listAllOperators(ctx: Pick<AppContext, 'store'>): Promise<OperatorRow[]> {
  return listOperators(ctx.store.reader);
}
