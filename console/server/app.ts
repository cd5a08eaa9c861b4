import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import { type Clock, systemClock } from '../../core/clock.ts';
import { EdrError } from '../../core/errors.ts';
import type { ConsoleStore } from '../store/types.ts';
import { LoginLinks } from './auth/login-links.ts';
import { consoleAuthPlugin, maybePrincipal, type RouteAccess } from './auth/plugin.ts';
import { SessionCookies } from './auth/session-cookie.ts';
import type { ConsoleSettings, Role } from './config.ts';
import type { ResponseRunner } from './respond.ts';
import { apiRoutes } from './routes/api.ts';
import { pageRoutes } from './routes/pages.ts';
import { sessionRoutes } from './routes/session.ts';
import { staticRoutes } from './routes/static.ts';
import { streamRoutes } from './routes/stream.ts';
import type { RuleInfo } from './rules.ts';
import { errorPage, type ViewContext } from './views/layout.ts';

export interface ConsoleDeps {
  store: ConsoleStore;
  /** The loaded rules (descriptions, files); alerts of other rules still show. */
  rules: readonly RuleInfo[];
  /** Manual response; without it no action can be run from the console. */
  responder?: ResponseRunner;
  clock?: Clock;
  logger?: FastifyServerOptions['logger'];
}

export interface Console {
  app: FastifyInstance;
  /** A one-time login link path (`/login?token=…`) for a user and role. */
  loginPath(user: string, role: Role): string;
  /** Every authenticated route and the role it requires (complete once the app is ready). */
  routes: readonly RouteAccess[];
}

/**
 * The Content-Security-Policy of every answer: our own script and stylesheet only, no inline script or style,
 * no frames, forms posting only to us. With HTML escaped everywhere, a hostile event cannot run script.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // Login links carry a token in the URL: never send a URL on to another site. (`no-referrer` would also make
  // Chrome send `Origin: null` on our own form posts.)
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
};

/** Form bodies and JSON alike stay small: the largest is a note (4,000 characters) and its fields. */
const BODY_LIMIT_BYTES = 64 * 1024;

export function wantsHtml(request: FastifyRequest): boolean {
  return !request.url.startsWith('/api/') && request.method === 'GET';
}

export function isForm(request: FastifyRequest): boolean {
  return (request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
}

/** Form fields by name; a repeated name gives a list (multi-value filters, selected alerts). */
function parseForm(body: string): Record<string, string | string[]> {
  const fields: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const previous = fields[key];
    fields[key] =
      previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return fields;
}

export async function buildConsole(settings: ConsoleSettings, deps: ConsoleDeps): Promise<Console> {
  const clock = deps.clock ?? systemClock;
  const app = Fastify({
    logger: deps.logger ?? { level: settings.logLevel },
    bodyLimit: BODY_LIMIT_BYTES,
    return503OnClosing: true,
  });
  const cookies = new SessionCookies(settings.sessionSecret, settings.sessionTtlSeconds * 1000, clock);
  const links = new LoginLinks(settings.loginLinkTtlSeconds * 1000, settings.maxLoginLinks, clock);
  const rules = new Map(deps.rules.map((rule) => [rule.id, rule]));

  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => {
      done(null, parseForm(body as string));
    },
  );
  app.addHook('onSend', async (_request, reply) => {
    reply.headers(SECURITY_HEADERS);
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  });
  const contextOf = (request: FastifyRequest): ViewContext | undefined => {
    const principal = maybePrincipal(request);
    if (!principal) return undefined;
    return {
      user: principal.user,
      role: principal.role,
      csrf: principal.session ? cookies.csrfToken(principal.session) : '',
      storeKind: deps.store.kind,
    };
  };
  const sendError = (error: EdrError, request: FastifyRequest, reply: FastifyReply) => {
    if (wantsHtml(request) || isForm(request)) {
      return reply
        .code(error.status)
        .type('text/html; charset=utf-8')
        .send(errorPage(error.status, error.message, contextOf(request)).value);
    }
    return reply.code(error.status).send({ error: { code: error.code, message: error.message } });
  };
  app.setErrorHandler((error, request, reply) => {
    if (error instanceof EdrError) return sendError(error, request, reply);
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return sendError(new EdrError('EDR_ERR_BAD_REQUEST', (error as Error).message), request, reply);
    }
    request.log.error({ err: error }, 'console request failed');
    return sendError(new EdrError('EDR_ERR_INTERNAL'), request, reply);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(
      new EdrError('EDR_ERR_NOT_FOUND', `${request.method} ${request.url.slice(0, 200)}`),
      request,
      reply,
    ),
  );

  await app.register(staticRoutes, { store: deps.store });
  const routes: RouteAccess[] = [];
  await app.register(async (scope) => {
    await scope.register(consoleAuthPlugin, { cookies, tokens: settings.tokens, routes });
    const shared = { store: deps.store, rules, responder: deps.responder, contextOf, settings, clock };
    await scope.register(sessionRoutes, { ...shared, cookies, links });
    await scope.register(pageRoutes, shared);
    await scope.register(apiRoutes, { ...shared, links });
    await scope.register(streamRoutes, shared);
  });
  return {
    app,
    routes,
    loginPath: (user, role) => `/login?token=${encodeURIComponent(links.issue({ user, role }))}`,
  };
}
