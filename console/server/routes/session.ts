import type { FastifyPluginAsync } from 'fastify';
import { EdrError } from '../../../core/errors.ts';
import type { LoginLinks } from '../auth/login-links.ts';
import { hashPassword, verifyPassword } from '../auth/passwords.ts';
import { principalOf, sessionCookieHeader } from '../auth/plugin.ts';
import type { SessionCookies } from '../auth/session-cookie.ts';
import type { Role } from '../config.ts';
import { loginPage } from '../views/login.ts';
import { field, HTML, localPath, type RouteDeps } from './shared.ts';

/** Password checks at once: each scrypt check holds 32 MiB and tens of ms of CPU, so a flood waits its turn. */
const MAX_CONCURRENT_PASSWORD_CHECKS = 4;

export const sessionRoutes: FastifyPluginAsync<
  RouteDeps & { cookies: SessionCookies; links: LoginLinks }
> = async (app, { settings, cookies, links }) => {
  const users = new Map(settings.users.map((user) => [user.name, user]));
  // An unknown user costs the same check as a known one, so timing does not tell which names exist.
  const decoy = hashPassword('decoy password');
  let checking = 0;
  const maxAge = settings.sessionTtlSeconds;
  const startSession = (secure: boolean, user: string, role: Role) =>
    sessionCookieHeader(cookies.issue(user, role).cookie, maxAge, secure);

  app.get<{ Querystring: { token?: string; next?: string } }>(
    '/login',
    { config: { access: 'public' } },
    async (request, reply) => {
      const next = localPath(request.query.next, '/alerts');
      const token = request.query.token;
      if (typeof token !== 'string') return reply.type(HTML).send(loginPage({ next }).value);
      const grant = links.redeem(token);
      if (!grant) {
        return reply
          .code(401)
          .type(HTML)
          .send(loginPage({ next, error: 'This login link is unknown, used or expired.' }).value);
      }
      reply.header('set-cookie', startSession(request.protocol === 'https', grant.user, grant.role));
      return reply.redirect(next, 303);
    },
  );

  app.post('/login', { config: { access: 'public' } }, async (request, reply) => {
    const name = field(request.body, 'user') ?? '';
    const password = field(request.body, 'password') ?? '';
    const next = localPath(field(request.body, 'next'), '/alerts');
    if (checking >= MAX_CONCURRENT_PASSWORD_CHECKS)
      throw new EdrError('EDR_ERR_RATE_LIMITED', 'too many logins at once');
    checking++;
    let valid: boolean;
    const user = users.get(name);
    try {
      valid = await verifyPassword(password, user?.password ?? (await decoy));
    } finally {
      checking--;
    }
    if (!user || !valid) {
      return reply
        .code(401)
        .type(HTML)
        .send(loginPage({ next, error: 'Unknown user or wrong password.' }).value);
    }
    reply.header('set-cookie', startSession(request.protocol === 'https', user.name, user.role));
    return reply.redirect(next, 303);
  });

  app.post('/logout', { config: { access: 'viewer' } }, async (request, reply) => {
    const { session } = principalOf(request);
    if (session) cookies.revoke(session);
    reply.header('set-cookie', sessionCookieHeader('', 0, request.protocol === 'https'));
    return reply.redirect('/login', 303);
  });
};
