import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB, OperatorRow } from './schema.js';

type Db = Kysely<DB> | Transaction<DB>;

export interface NewOperator {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  role: 'admin' | 'operator';
}

/** Inserts an operator unless the email is taken; returns the new row, or undefined when it existed. */
export async function insertOperator(db: Db, operator: NewOperator, now: string): Promise<OperatorRow | undefined> {
  return db
    .insertInto('operators')
    .values({ ...operator, status: 'away', disabled_at: null, created_at: now, updated_at: now })
    .onConflict((oc) => oc.column('email').doNothing())
    .returningAll()
    .executeTakeFirst();
}

/** Emails are stored lower-cased by the callers, so this is an exact match. */
export async function findOperatorByEmail(db: Db, email: string): Promise<OperatorRow | undefined> {
  return db.selectFrom('operators').selectAll().where('email', '=', email).executeTakeFirst();
}

export async function findOperatorById(db: Db, id: string): Promise<OperatorRow | undefined> {
  return db.selectFrom('operators').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listOperators(db: Db): Promise<OperatorRow[]> {
  return db.selectFrom('operators').selectAll().orderBy('created_at').orderBy('id').execute();
}

export async function countOperators(db: Db): Promise<number> {
  const r = await db
    .selectFrom('operators')
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function updateOperator(
  db: Db,
  id: string,
  patch: Partial<Pick<OperatorRow, 'status' | 'disabled_at' | 'password_hash' | 'name' | 'role'>>,
  now: string,
): Promise<OperatorRow | undefined> {
  return db
    .updateTable('operators')
    .set({ ...patch, updated_at: now })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

export interface NewSession {
  /** sha256 (hex) of the secret token: the token itself is never stored. */
  id: string;
  operator_id: string;
  kind: 'session' | 'api_token';
  name: string | null;
  expires_at: string | null;
}

export async function insertSession(db: Db, session: NewSession, now: string): Promise<void> {
  await db
    .insertInto('sessions')
    .values({ ...session, created_at: now, last_used_at: null })
    .execute();
}

export interface SessionWithOperator {
  session: { id: string; kind: string; expires_at: string | null };
  operator: OperatorRow;
}

/** The session (or API token) with this hashed id and its operator, if both exist. Expiry is the caller's rule. */
export async function findSessionWithOperator(db: Db, id: string): Promise<SessionWithOperator | undefined> {
  const session = await db
    .selectFrom('sessions')
    .select(['id', 'kind', 'expires_at', 'operator_id'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (!session) return undefined;
  const operator = await findOperatorById(db, session.operator_id);
  if (!operator) return undefined;
  return { session: { id: session.id, kind: session.kind, expires_at: session.expires_at }, operator };
}

export async function deleteSession(db: Db, id: string): Promise<void> {
  await db.deleteFrom('sessions').where('id', '=', id).execute();
}

export async function deleteSessionsOf(db: Db, operatorId: string): Promise<void> {
  await db.deleteFrom('sessions').where('operator_id', '=', operatorId).execute();
}

export async function deleteSessionsOfKind(db: Db, operatorId: string, kind: 'session' | 'api_token'): Promise<void> {
  await db.deleteFrom('sessions').where('operator_id', '=', operatorId).where('kind', '=', kind).execute();
}

export interface ApiTokenListing {
  id: string;
  name: string | null;
  operator_email: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

/** API tokens (hashed ids only), oldest first; of one operator when `operatorId` is given. */
export async function listApiTokens(db: Db, operatorId?: string): Promise<ApiTokenListing[]> {
  let q = db
    .selectFrom('sessions')
    .innerJoin('operators', 'operators.id', 'sessions.operator_id')
    .select([
      'sessions.id',
      'sessions.name',
      'operators.email as operator_email',
      'sessions.created_at',
      'sessions.expires_at',
      'sessions.last_used_at',
    ])
    .where('sessions.kind', '=', 'api_token');
  if (operatorId) q = q.where('sessions.operator_id', '=', operatorId);
  return q.orderBy('sessions.created_at').orderBy('sessions.id').execute();
}

/** Deletes the API tokens whose hashed id starts with `prefix` (hex); returns the ids deleted. */
export async function deleteApiTokensByPrefix(db: Db, prefix: string): Promise<string[]> {
  const rows = await db.deleteFrom('sessions').where('kind', '=', 'api_token').where('id', 'like', `${prefix}%`).returning('id').execute();
  return rows.map((r) => r.id);
}

export async function countApiTokensByPrefix(db: Db, prefix: string): Promise<number> {
  const r = await db
    .selectFrom('sessions')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('kind', '=', 'api_token')
    .where('id', 'like', `${prefix}%`)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Removes sessions and tokens whose expiry has passed. */
export async function deleteExpiredSessions(db: Db, now: string): Promise<void> {
  await db.deleteFrom('sessions').where('expires_at', 'is not', null).where('expires_at', '<=', now).execute();
}

/** Records one login attempt under `key`; returns its row id (to forget it again after a success). */
export async function recordLoginFailure(db: Db, key: string, at: string): Promise<number> {
  const row = await db.insertInto('login_attempts').values({ key, at }).returning('id').executeTakeFirstOrThrow();
  return Number(row.id);
}

export async function countLoginFailuresSince(db: Db, key: string, since: string): Promise<number> {
  const r = await db
    .selectFrom('login_attempts')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('key', '=', key)
    .where('at', '>', since)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** The time of the oldest attempt under `key` after `since`, or null when there is none. */
export async function oldestLoginFailureSince(db: Db, key: string, since: string): Promise<string | null> {
  const r = await db
    .selectFrom('login_attempts')
    .select((eb) => eb.fn.min('at').as('at'))
    .where('key', '=', key)
    .where('at', '>', since)
    .executeTakeFirst();
  return (r?.at as string | null | undefined) ?? null;
}

/**
 * PostgreSQL: serialises login accounting across transactions and processes until the caller's
 * transaction ends (READ COMMITTED would let two transactions count the same rows and both insert).
 * SQLite needs nothing: it has one writer.
 */
export async function lockLoginAttempts(db: Db, dialect: 'sqlite' | 'postgres'): Promise<void> {
  if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(${LOGIN_ATTEMPTS_LOCK})`.execute(db);
}

const LOGIN_ATTEMPTS_LOCK = 7_270_002;

export async function deleteLoginAttempts(db: Db, ids: readonly number[]): Promise<void> {
  if (ids.length > 0) await db.deleteFrom('login_attempts').where('id', 'in', ids).execute();
}

export async function clearLoginFailures(db: Db, key: string): Promise<void> {
  await db.deleteFrom('login_attempts').where('key', '=', key).execute();
}

/** Forgets failures older than `before`: they no longer count towards any limit. */
export async function pruneLoginFailures(db: Db, before: string): Promise<void> {
  await db.deleteFrom('login_attempts').where('at', '<=', before).execute();
}
