import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError } from '../chat/errors.js';
import type { AppContext } from '../app/context.js';
import { authenticate, type AuthenticatedOperator, type Authentication } from '../app/authenticate.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The operator of an authenticated /api/* request (set by the auth hook); null elsewhere. */
    operator: AuthenticatedOperator | null;
    /** How the request authenticated (session cookie or API token), null when it did not. */
    auth: Authentication | null;
  }
}

export const SESSION_COOKIE = 'sb_session';

/** The only /api/* routes reachable without an operator: `METHOD /pattern`. */
export const PUBLIC_API_ROUTES: ReadonlySet<string> = new Set(['POST /api/auth/login']);

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/');
}

export function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** The session cookie: HttpOnly, SameSite=Strict, Path=/; Secure when PUBLIC_URL is https (SPEC §10). */
export function sessionCookie(token: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

export function clearedSessionCookie(secure: boolean): string {
  return sessionCookie('', 0, secure);
}

/**
 * A cross-site HTML form can send only urlencoded, multipart or text/plain bodies and cannot set
 * headers, so a JSON content type or an `X-Requested-With` header proves the request came from
 * script of our own origin (SPEC §10). Multipart uploads from the dashboard send the header.
 */
export function hasCsrfProof(request: FastifyRequest): boolean {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const requestedWith = request.headers['x-requested-with'];
  return type === 'application/json' || (typeof requestedWith === 'string' && requestedWith.length > 0);
}

/**
 * False when the browser says the request comes from another site: an `Origin` (sent by browsers
 * on every cross-origin and every non-GET fetch or form post) naming a host other than the one the
 * request is addressed to and other than PUBLIC_URL's, `Origin: null` (sandboxed frames, some
 * redirects), or `Sec-Fetch-Site` other than same-origin/none. Requests without these headers
 * (curl, providers, old browsers) pass: they are held by the content-type proof and SameSite.
 */
export function isSameOrigin(request: FastifyRequest, publicOrigin: string | null): boolean {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return false;
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (typeof origin !== 'string' || origin === 'null') return false;
  if (publicOrigin !== null && origin === publicOrigin) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/** Throws `forbidden` unless the request's operator is an admin. */
export function requireAdmin(request: FastifyRequest): AuthenticatedOperator {
  const operator = requireOperator(request);
  if (operator.role !== 'admin') throw new DomainError('forbidden', 'admins only');
  return operator;
}

/** The request's operator; the auth hook guarantees one on every non-public /api/* route. */
export function requireOperator(request: FastifyRequest): AuthenticatedOperator {
  if (!request.operator) throw new DomainError('unauthorized', 'log in first');
  return request.operator;
}

async function authenticateRequest(ctx: AppContext, request: FastifyRequest): Promise<Authentication | null> {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match ? authenticate(ctx, match[1]!, 'api_token') : null;
  }
  const token = cookieValue(request.headers.cookie, SESSION_COOKIE);
  return token ? authenticate(ctx, token, 'session') : null;
}

/**
 * Guards every /api/* request on the ROOT instance, so routes registered anywhere after it — in
 * any plugin — are covered without opting in; unknown /api paths answer 401 too, not 404. Both the
 * raw path and the matched route pattern are checked, so an encoded path cannot slip past.
 * Cookie-authenticated state-changing requests also need CSRF proof and must not come from another
 * origin (`forbidden` otherwise); bearer tokens are never sent by browsers on their own, so they
 * need neither.
 */
export function installAuthHook(app: FastifyInstance, ctx: AppContext): void {
  let publicOrigin: string | null = null;
  try {
    publicOrigin = ctx.config.publicUrl ? new URL(ctx.config.publicUrl).origin : null;
  } catch {
    publicOrigin = null;
  }
  const refuseCrossSite = (request: FastifyRequest): void => {
    if (!hasCsrfProof(request)) throw new DomainError('forbidden', 'send JSON or an X-Requested-With header');
    if (!isSameOrigin(request, publicOrigin)) throw new DomainError('forbidden', 'cross-origin request refused');
  };
  app.decorateRequest('operator', null);
  app.decorateRequest('auth', null);
  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0]!;
    const pattern = request.routeOptions.url;
    if (!isApiPath(path) && !(pattern !== undefined && isApiPath(pattern))) return;
    const unsafe = !SAFE_METHODS.has(request.method);
    if (pattern !== undefined && PUBLIC_API_ROUTES.has(`${request.method} ${pattern}`)) {
      // Login too: a foreign page must not log the browser in to an account of its choosing.
      if (unsafe) refuseCrossSite(request);
      return;
    }
    const auth = await authenticateRequest(ctx, request);
    if (!auth) throw new DomainError('unauthorized', 'log in or send a valid API token');
    if (auth.kind === 'session' && unsafe) refuseCrossSite(request);
    request.auth = auth;
    request.operator = auth.operator;
  });
}

export interface RouteEntry {
  method: string;
  url: string;
}

const routeTables = new WeakMap<FastifyInstance, RouteEntry[]>();

/** Starts recording every route registered on `app` (and its plugins) from now on. */
export function recordRoutes(app: FastifyInstance): void {
  const table: RouteEntry[] = [];
  routeTables.set(app, table);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) table.push({ method: String(method), url: route.url });
  });
}

/** The routes recorded by `recordRoutes` (for the auth and OpenAPI coverage tests). */
export function registeredRoutes(app: FastifyInstance): readonly RouteEntry[] {
  return routeTables.get(app) ?? [];
}
