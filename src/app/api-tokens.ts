import { DomainError } from '../chat/errors.js';
import {
  countApiTokensByPrefix,
  deleteApiTokensByPrefix,
  findOperatorByEmail,
  listApiTokens,
  type ApiTokenListing,
} from '../store/operator.store.js';
import { createApiToken, toAuthenticated, tokenId, type NewApiToken } from './authenticate.js';
import type { AppContext } from './context.js';
import { normaliseEmail } from './login.js';

/** Shortest id prefix `revokeApiToken` accepts: 8 hex characters name one token among billions. */
export const MIN_TOKEN_ID_PREFIX = 8;

/**
 * An API token for the operator with `email`, as if they created it themselves (whoever runs the
 * CLI holds the database anyway). The token is returned once; only its hash is stored.
 */
export async function createApiTokenFor(
  ctx: Pick<AppContext, 'committer' | 'store'>,
  input: { email: string; name: string; expiresInDays?: number },
  now = new Date(),
): Promise<NewApiToken & { id: string }> {
  const name = input.name.trim();
  if (name.length === 0 || name.length > 200) throw new DomainError('validation_failed', 'name: 1 to 200 characters');
  const operator = await findOperatorByEmail(ctx.store.reader, normaliseEmail(input.email));
  if (!operator) throw new DomainError('not_found', 'no such operator');
  const created = await createApiToken(ctx, toAuthenticated(operator), { name, expiresInDays: input.expiresInDays }, now);
  return { ...created, id: tokenId(created.token) };
}

/** API tokens (never the secrets: their hashed ids), of one operator when `email` is given. */
export async function listTokens(ctx: Pick<AppContext, 'store'>, email?: string): Promise<ApiTokenListing[]> {
  if (email === undefined) return listApiTokens(ctx.store.reader);
  const operator = await findOperatorByEmail(ctx.store.reader, normaliseEmail(email));
  if (!operator) throw new DomainError('not_found', 'no such operator');
  return listApiTokens(ctx.store.reader, operator.id);
}

/**
 * Revokes the one API token whose id starts with `prefix` (as `token list` shows it): requests
 * with it are refused from this commit on. An ambiguous or unknown prefix revokes nothing.
 */
export async function revokeApiToken(ctx: Pick<AppContext, 'committer'>, prefix: string): Promise<string> {
  const wanted = prefix.trim().toLowerCase();
  if (!/^[0-9a-f]+$/.test(wanted) || wanted.length < MIN_TOKEN_ID_PREFIX) {
    throw new DomainError('validation_failed', `token id: at least ${MIN_TOKEN_ID_PREFIX} hex characters, as \`token list\` shows it`);
  }
  return ctx.committer.run(async (tx) => {
    const matches = await countApiTokensByPrefix(tx.db, wanted);
    if (matches === 0) throw new DomainError('not_found', `no API token with id ${wanted}…`);
    if (matches > 1) throw new DomainError('conflict', `${matches} tokens start with ${wanted}: give more of the id`);
    return (await deleteApiTokensByPrefix(tx.db, wanted))[0]!;
  });
}
