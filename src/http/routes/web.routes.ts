import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { isApiPath } from '../auth.js';

/** Where `npm run build:web` (`vite build web`) writes the dashboard. */
export const WEB_DIST_DIR = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Switchboard: dashboard not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>The dashboard is not built</h1>
<p>The server is running, but <code>web/dist</code> does not exist. Build the dashboard with</p>
<pre>npm run build:web</pre>
<p>and reload this page. (<code>npm start</code> builds it before starting.)</p>
</body></html>
`;

/**
 * The dashboard's policy: scripts, styles and fetches only from this origin; media from this origin
 * (the authenticated /api/media URLs); no framing.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Paths that belong to the API and the webhooks: never answered with the dashboard. */
function isServerPath(path: string): boolean {
  return isApiPath(path) || path === '/webhooks' || path.startsWith('/webhooks/');
}

/** A path of a built file (`/assets/…`, `/favicon.svg`) rather than a client route (`/c/<id>`). */
function isFilePath(path: string): boolean {
  return path.startsWith('/assets/') || /\.[a-z0-9]+$/i.test(path.slice(path.lastIndexOf('/') + 1));
}

function sendIndex(reply: FastifyReply): FastifyReply {
  // index.html names the hashed bundles of the current build: never cached.
  return reply.header('cache-control', 'no-cache').sendFile('index.html', { cacheControl: false });
}

/**
 * The operator dashboard (SPEC §11) at `/`: the files of web/dist, and index.html for every other
 * GET that is not an API or webhook path (client routes such as `/c/<conversation_id>`). Without a
 * build, `/` answers 503 with a page saying how to build it. Registered after every other route,
 * so it never shadows one.
 */
export async function registerWebRoutes(app: FastifyInstance, distDir: string = WEB_DIST_DIR): Promise<void> {
  await app.register(async (web) => {
    await web.register(fastifyStatic, { root: distDir, serve: false, suppressWarning: true });

    web.addHook('onSend', async (_request, reply) => {
      reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'same-origin');
      reply.header('x-frame-options', 'DENY');
    });

    web.get('/*', async (request, reply) => {
      const path = request.url.split('?')[0]!;
      if (isServerPath(path)) return reply.callNotFound();
      // Checked per request, so a build made while the server runs is picked up.
      if (!existsSync(`${distDir}/index.html`)) {
        return reply.status(503).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(NOT_BUILT_PAGE);
      }
      if (!isFilePath(path)) return sendIndex(reply);
      let file: string;
      try {
        file = decodeURIComponent(path);
      } catch {
        return reply.callNotFound();
      }
      // Bundles under /assets/ carry a content hash in their name: cached for good.
      const isHashed = path.startsWith('/assets/');
      return reply.sendFile(file.slice(1), isHashed ? { maxAge: '365d', immutable: true } : { cacheControl: false });
    });
  });
}
