import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { type Role, RoleSchema } from '../config.ts';

export const SESSION_COOKIE = 'edr_console';

const PayloadSchema = z.strictObject({
  sid: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
  user: z.string().min(1).max(128),
  role: RoleSchema,
  /** Unix ms. */
  exp: z.number().int(),
});
export type SessionPayload = z.infer<typeof PayloadSchema>;

/** A cookie longer than this is refused before any parsing or MAC work. */
const MAX_COOKIE_CHARS = 1_024;

/**
 * Stateless sessions: the cookie is `<base64url JSON>.<base64url HMAC-SHA256>`; a changed byte anywhere fails
 * the MAC and the cookie is ignored. The CSRF token is a second MAC over the session id, so it needs no
 * storage either and changes with every login. Logout revokes the session id until it would expire.
 */
export class SessionCookies {
  readonly #key: Buffer;
  readonly #revoked = new Map<string, number>();

  constructor(
    secret: string | undefined,
    private readonly ttlMs: number,
    private readonly clock: () => number,
  ) {
    this.#key = secret ? Buffer.from(secret, 'utf8') : randomBytes(32);
  }

  issue(user: string, role: Role): { cookie: string; payload: SessionPayload } {
    const payload: SessionPayload = {
      sid: randomBytes(18).toString('base64url'),
      user,
      role,
      exp: this.clock() + this.ttlMs,
    };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return { cookie: `${body}.${this.#mac(`session.${body}`)}`, payload };
  }

  /** The session a cookie value carries; undefined when it is malformed, forged, expired or revoked. */
  verify(cookie: string | undefined): SessionPayload | undefined {
    if (!cookie || cookie.length > MAX_COOKIE_CHARS) return undefined;
    const dot = cookie.indexOf('.');
    if (dot <= 0) return undefined;
    const body = cookie.slice(0, dot);
    if (!this.#equal(cookie.slice(dot + 1), this.#mac(`session.${body}`))) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    const payload = PayloadSchema.safeParse(parsed);
    if (!payload.success || payload.data.exp <= this.clock() || this.#revoked.has(payload.data.sid)) {
      return undefined;
    }
    return payload.data;
  }

  csrfToken(session: SessionPayload): string {
    return this.#mac(`csrf.${session.sid}`);
  }

  checkCsrf(session: SessionPayload, presented: unknown): boolean {
    return typeof presented === 'string' && this.#equal(presented, this.csrfToken(session));
  }

  revoke(session: SessionPayload): void {
    const now = this.clock();
    // Entries outlive their session by nothing: an expired cookie is refused anyway.
    for (const [sid, exp] of this.#revoked) if (exp <= now) this.#revoked.delete(sid);
    this.#revoked.set(session.sid, session.exp);
  }

  #mac(text: string): string {
    return createHmac('sha256', this.#key).update(text).digest('base64url');
  }

  #equal(presented: string, expected: string): boolean {
    const a = Buffer.from(presented);
    const b = Buffer.from(expected);
    return a.length === b.length && timingSafeEqual(a, b);
  }
}
