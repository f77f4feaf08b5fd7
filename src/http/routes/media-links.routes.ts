import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppContext } from '../../app/context.js';
import { loadMediaLinks } from '../../app/media-links.js';
import { readMedia } from '../../app/read-media.js';
import { DomainError } from '../../chat/errors.js';
import { mimeTypeOrDefault } from '../../chat/mime-type.js';
import { parseInput } from '../validate.js';

const Params = z.object({ media_id: z.string().min(1).max(100) });
const Query = z.object({ exp: z.string().max(20).optional(), sig: z.string().max(100).optional() });

/** Types a browser may render in place; anything else is served as a download (as /api/media does). */
const INLINE_TYPES = /^(image\/(jpeg|png|gif|webp)|audio\/[\w.+-]+|video\/[\w.+-]+)$/i;

/**
 * `GET /media-links/{media_id}?exp=&sig=`: the bytes of one media object for a provider that
 * fetches operator media by URL (MontyMobile, Qiscus), without a session. 403 `forbidden` when
 * the signature is wrong or `exp` has passed — checked before the media is looked up, so an
 * unsigned request learns nothing about which ids exist. Headers as /api/media: the bytes' type,
 * nosniff, a sandbox CSP, and an attachment disposition for anything but plain image/audio/video.
 */
export async function registerMediaLinkRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const links = await loadMediaLinks(ctx);
  app.get('/media-links/:media_id', async (request, reply) => {
    const { media_id } = parseInput(Params, request.params);
    const { exp, sig } = parseInput(Query, request.query);
    if (!exp || !sig || !links.verify(media_id, exp, sig)) throw new DomainError('forbidden', 'the media link is invalid or has expired');
    const content = await readMedia(ctx, media_id);
    const mimeType = mimeTypeOrDefault(content.mimeType);
    const disposition = INLINE_TYPES.test(mimeType.split(';')[0]!.trim()) ? 'inline' : 'attachment';
    reply
      .header('content-type', mimeType)
      .header('cache-control', 'private, no-store')
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; sandbox")
      .header('content-disposition', `${disposition}; filename*=UTF-8''${encodeURIComponent(content.filename ?? content.mediaId)}`)
      .header('content-length', String(content.size));
    return reply.send(content.open(0, content.size - 1));
  });
}
