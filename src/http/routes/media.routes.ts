import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.js';

/** Media bytes (SPEC §7 GET /api/media/{media_id}). */
export async function registerMediaRoutes(_app: FastifyInstance, _ctx: AppContext): Promise<void> {}
