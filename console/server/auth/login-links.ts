import { createHash, randomBytes } from 'node:crypto';
import type { Role } from '../config.ts';

export interface LoginGrant {
  user: string;
  role: Role;
}

/**
 * One-time login tokens: the one `start` prints and those an admin makes for someone else. Only their SHA-256
 * is kept; a token works once, within its lifetime, and at most `max` unused ones are held (oldest dropped).
 */
export class LoginLinks {
  readonly #grants = new Map<string, LoginGrant & { expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
    private readonly clock: () => number,
  ) {}

  issue(grant: LoginGrant): string {
    const token = `csl_${randomBytes(24).toString('base64url')}`;
    if (this.#grants.size >= this.max) this.#grants.delete(this.#grants.keys().next().value!);
    this.#grants.set(digest(token), { ...grant, expiresAt: this.clock() + this.ttlMs });
    return token;
  }

  /** The grant of an unused, unexpired token, which is used up by this call. */
  redeem(token: string): LoginGrant | undefined {
    if (token.length > 128) return undefined;
    const key = digest(token);
    const grant = this.#grants.get(key);
    if (!grant) return undefined;
    this.#grants.delete(key);
    return grant.expiresAt > this.clock() ? { user: grant.user, role: grant.role } : undefined;
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
