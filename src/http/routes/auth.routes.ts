import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { presentOperator } from '../../api/present.js';
import { addOperator } from '../../app/add-operator.js';
import { createApiToken, getOperator, listAllOperators } from '../../app/authenticate.js';
import type { AppContext } from '../../app/context.js';
import { disableOperator } from '../../app/disable-operator.js';
import { login, logout, SESSION_TTL_MS } from '../../app/login.js';
import { OPERATOR_STATUSES, setOperatorStatus } from '../../app/set-operator-status.js';
import { clearedSessionCookie, installAuthHook, recordRoutes, requireAdmin, requireOperator, sessionCookie } from '../auth.js';
import { parseInput } from '../validate.js';

const LoginBody = z.object({ email: z.string().min(1).max(254), password: z.string().min(1).max(1024) });
const TokenBody = z.object({
  name: z.string().trim().min(1).max(200),
  operator_id: z.string().min(1).max(100).optional(),
  expires_in_days: z.number().int().min(1).max(3650).optional(),
});
const NewOperatorBody = z.object({
  email: z.string().min(3).max(254),
  name: z.string().trim().min(1).max(200),
  role: z.enum(['admin', 'operator']).default('operator'),
  password: z.string().min(8).max(1024).optional(),
});
const StatusBody = z.object({ status: z.enum(OPERATOR_STATUSES) });
const IdParams = z.object({ id: z.string().min(1).max(100) });

/**
 * Operators and auth (SPEC §7, §10). `app` must be the ROOT instance: the auth hook installed here
 * guards every /api/* route registered anywhere after it. Admin-only: listing, creating and
 * disabling operators, and API tokens for someone else.
 */
export async function registerAuthRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  recordRoutes(app);
  installAuthHook(app, ctx);
  const secureCookie = ctx.config.publicUrl?.startsWith('https:') ?? false;

  app.post('/api/auth/login', async (request, reply) => {
    const body = parseInput(LoginBody, request.body);
    const result = await login(ctx, { email: body.email, password: body.password, clientAddress: request.ip });
    reply.header('set-cookie', sessionCookie(result.token, Math.floor(SESSION_TTL_MS / 1000), secureCookie));
    return { operator: presentOperator(result.operator), expires_at: result.expiresAt.toISOString() };
  });

  app.post('/api/auth/logout', async (request, reply) => {
    // Logging out with an API token revokes that token.
    await logout(ctx, request.auth!.sessionId);
    reply.header('set-cookie', clearedSessionCookie(secureCookie));
    return { status: 'logged_out' };
  });

  app.get('/api/auth/me', async (request) => {
    const operator = await getOperator(ctx, requireOperator(request).id);
    // The responder decides what the dashboard offers (no "Hand back to AI" without one).
    return { operator: presentOperator(operator), auth: request.auth!.kind, ai_responder: ctx.config.ai.responder };
  });

  app.post('/api/auth/tokens', async (request, reply) => {
    const actor = requireOperator(request);
    const body = parseInput(TokenBody, request.body);
    const created = await createApiToken(ctx, actor, {
      operatorId: body.operator_id,
      name: body.name,
      expiresInDays: body.expires_in_days,
    });
    return reply.status(201).send(created);
  });

  app.get('/api/operators', async (request) => {
    requireAdmin(request);
    return { operators: (await listAllOperators(ctx)).map(presentOperator) };
  });

  app.post('/api/operators', async (request, reply) => {
    requireAdmin(request);
    const body = parseInput(NewOperatorBody, request.body);
    const added = await addOperator(ctx, { email: body.email, name: body.name, role: body.role, password: body.password ?? null });
    return reply.status(201).send({ operator: presentOperator(added.operator), generated_password: added.generatedPassword });
  });

  app.post('/api/operators/:id/disable', async (request) => {
    const actor = requireAdmin(request);
    const { id } = parseInput(IdParams, request.params);
    return { operator: presentOperator(await disableOperator(ctx, { id }, actor.id)) };
  });

  app.get('/api/operators/me/status', async (request) => {
    const operator = await getOperator(ctx, requireOperator(request).id);
    return { status: operator.status };
  });

  app.put('/api/operators/me/status', async (request) => {
    const { status } = parseInput(StatusBody, request.body);
    const operator = await setOperatorStatus(ctx, requireOperator(request).id, status);
    return { status: operator.status };
  });
}
