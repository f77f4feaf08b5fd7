import { mimeTypeOrDefault } from '../../chat/mime-type.js';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppContext } from '../../app/context.js';
import { readMedia } from '../../app/read-media.js';
import { parseInput } from '../validate.js';

const Params = z.object({ media_id: z.string().min(1).max(100) });

/** Types a browser may render in place; anything else (HTML, SVG, PDF …) is served as a download. */
const INLINE_TYPES = /^(image\/(jpeg|png|gif|webp)|audio\/[\w.+-]+|video\/[\w.+-]+)$/i;

/**
 * `GET /api/media/{media_id}` (SPEC §7): the bytes with their content type and length, privately
 * cacheable (a media id's bytes never change), with single byte ranges for audio/video seeking.
 * 404 `media_not_found` when unknown or failed, 409 `media_not_ready` while downloading, 410
 * `media_deleted` once the customer deleted its message [RV1]. The /api
 * auth hook guards it. The bytes came from a customer, so they are never sniffed, never run script
 * (CSP sandbox) and, unless a plain image/audio/video type, are sent as an attachment.
 */
export async function registerMediaRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get('/api/media/:media_id', async (request, reply) => {
    const { media_id } = parseInput(Params, request.params);
    const content = await readMedia(ctx, media_id);
    // Stored before ingest validated types, a type with CR/LF must not break the header (→ 500).
    const mimeType = mimeTypeOrDefault(content.mimeType);
    const baseType = mimeType.split(';')[0]!.trim();
    const disposition = INLINE_TYPES.test(baseType) ? 'inline' : 'attachment';
    reply
      .header('content-type', mimeType)
      .header('cache-control', 'private, max-age=31536000, immutable')
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; sandbox")
      .header('content-disposition', `${disposition}; filename*=UTF-8''${encodeURIComponent(content.filename ?? content.mediaId)}`)
      .header('accept-ranges', 'bytes');

    const range = parseRange(request.headers.range, content.size);
    if (range === 'unsatisfiable') {
      return reply.status(416).header('content-range', `bytes */${content.size}`).send();
    }
    if (range) {
      return reply
        .status(206)
        .header('content-range', `bytes ${range.start}-${range.end}/${content.size}`)
        .header('content-length', String(range.end - range.start + 1))
        .send(content.open(range.start, range.end));
    }
    return reply.header('content-length', String(content.size)).send(content.open(0, content.size - 1));
  });
}

/**
 * One `bytes=` range (`a-b`, `a-`, `-n`) as inclusive offsets; null to send everything (no header,
 * several ranges, or a form we do not serve); 'unsatisfiable' when it starts past the end.
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'unsatisfiable' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size) return 'unsatisfiable';
  if (end < start) return null;
  return { start, end };
}
