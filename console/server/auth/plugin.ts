import type { FastifyReply, FastifyRequest } from 'fastify';
import { exposed } from '../../../collector/plugins/expose.ts';
import { KeyRing, presentedCredential } from '../../../core/api-keys.ts';
import { EdrError } from '../../../core/errors.ts';
import { type ConsoleToken, type Role, roleAtLeast } from '../config.ts';
import { SESSION_COOKIE, type SessionCookies, type SessionPayload } from './session-cookie.ts';

/** What a route requires: `public` routes are the login page, static files and health. */
export type Access = Role | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Every console route declares it; a route without it makes the app refuse to start. */
    access?: Access;
  }
}

export interface Principal {
  user: string;
  role: Role;
  /** A session (cookie, CSRF-checked) or an API token (a header a browser never adds by itself). */
  via: 'session' | 'token';
  session?: SessionPayload;
}

export interface RouteAccess {
  method: string;
  url: string;
  access: Access;
}

export interface ConsoleAuthOptions extends Record<string, unknown> {
  cookies: SessionCookies;
  tokens: readonly ConsoleToken[];
  /** Filled with every route and what it requires (tests check each against each role). */
  routes: RouteAccess[];
}

const principals = new WeakMap<FastifyRequest, Principal>();
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
export const CSRF_HEADER = 'x-csrf-token';
export const CSRF_FIELD = '_csrf';

export function principalOf(request: FastifyRequest): Principal {
  const principal = principals.get(request);
  if (!principal) throw new EdrError('EDR_ERR_UNAUTHORIZED', 'not logged in');
  return principal;
}

export function maybePrincipal(request: FastifyRequest): Principal | undefined {
  return principals.get(request);
}

/** The cookie header's value for one name (first occurrence), without a cookie library. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookieHeader(value: string, maxAgeSeconds: number, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${value}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${maxAgeSeconds}`,
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

/**
 * A state-changing request must come from our own pages: a browser that names the origin (Origin,
 * Sec-Fetch-Site) must name ours. SameSite=Strict already keeps the cookie off cross-site requests; this and
 * the CSRF token are the other two layers.
 */
function crossSite(request: FastifyRequest): boolean {
  // A browser that says where the request comes from decides; an older one is judged by its Origin.
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined) return site !== 'same-origin' && site !== 'none';
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== request.host;
  } catch {
    return true;
  }
}

/**
 * Authenticates every request of the registering context (a session cookie or `Authorization: Bearer` API
 * token) and enforces each route's `access` after the body is parsed: role, then CSRF on state-changing
 * requests made with a session. Routes registered without `access` fail the app at start (fail closed).
 */
export const consoleAuthPlugin = exposed<ConsoleAuthOptions>('edr-console-auth', async (app, options) => {
  const keys = new KeyRing(options.tokens.map((token) => ({ ...token, scopes: ['read' as const] })));
  const roleOfToken = new Map(options.tokens.map((token) => [token.id, token.role]));

  app.addHook('onRoute', (route) => {
    const access = route.config?.access;
    if (access === undefined) {
      throw new EdrError('EDR_ERR_CONFIG', `console route ${route.method} ${route.url} declares no access`);
    }
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') options.routes.push({ method, url: route.url, access });
    }
  });

  app.addHook('onRequest', async (request) => {
    const presented = presentedCredential(request.headers, []);
    if (presented.kind === 'malformed') throw new EdrError('EDR_ERR_UNAUTHORIZED', 'malformed Authorization');
    if (presented.kind === 'token') {
      const key = keys.find(presented.token);
      if (!key) throw new EdrError('EDR_ERR_UNAUTHORIZED', 'unknown API token');
      principals.set(request, { user: key.id, role: roleOfToken.get(key.id)!, via: 'token' });
      return;
    }
    const session = options.cookies.verify(cookieValue(request.headers.cookie, SESSION_COOKIE));
    if (session) principals.set(request, { user: session.user, role: session.role, via: 'session', session });
  });

  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const access = request.routeOptions.config.access;
    const changes = !SAFE_METHODS.has(request.method);
    if (changes && crossSite(request)) throw new EdrError('EDR_ERR_CSRF', 'cross-site request');
    if (access === 'public') return;
    const principal = principals.get(request);
    if (!principal) {
      if (!changes && !request.url.startsWith('/api/')) {
        return reply.redirect(`/login?next=${encodeURIComponent(request.url)}`, 303);
      }
      throw new EdrError('EDR_ERR_UNAUTHORIZED', 'log in, or send an API token');
    }
    if (access === undefined || !roleAtLeast(principal.role, access)) {
      throw new EdrError('EDR_ERR_FORBIDDEN', `${principal.user} is ${principal.role}; this needs ${access}`);
    }
    if (changes && principal.via === 'session' && principal.session) {
      const body = request.body as Record<string, unknown> | undefined;
      const presented = request.headers[CSRF_HEADER] ?? body?.[CSRF_FIELD];
      if (!options.cookies.checkCsrf(principal.session, presented)) throw new EdrError('EDR_ERR_CSRF');
    }
  });
});
