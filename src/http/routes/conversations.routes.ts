import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.js';

/** Conversations REST (SPEC §7). */
export async function registerConversationRoutes(_app: FastifyInstance, _ctx: AppContext): Promise<void> {}
