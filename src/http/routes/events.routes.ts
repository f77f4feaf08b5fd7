import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.js';

/** SSE stream (SPEC §8). */
export async function registerEventRoutes(_app: FastifyInstance, _ctx: AppContext): Promise<void> {}
