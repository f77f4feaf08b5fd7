import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.js';

/** Operators and auth (SPEC §10): login, logout, me, sessions, API tokens, the /api auth hook. */
export async function registerAuthRoutes(_app: FastifyInstance, _ctx: AppContext): Promise<void> {}
