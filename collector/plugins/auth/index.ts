import type { FastifyRequest } from 'fastify';
import { EdrError } from '../../../core/errors.ts';
import type { Scope, SourceConfig } from '../../config.ts';
import { exposed } from '../expose.ts';
import { presentedCredential } from './credentials.ts';
import type { KeyRing } from './keys.ts';
import { verifySignature } from './signature.ts';

export { KeyRing } from './keys.ts';

export interface Principal {
  /** `key:<id>`, `source:<name>` or `anonymous`; rate limits and logs use it. */
  id: string;
  scopes: readonly Scope[];
  via: 'key' | 'signature' | 'anonymous';
}

export type AuthFailure = 'missing' | 'malformed' | 'unknown' | 'scope' | 'signature';

const CODE_BY_FAILURE = {
  missing: 'EDR_ERR_UNAUTHORIZED',
  malformed: 'EDR_ERR_UNAUTHORIZED',
  unknown: 'EDR_ERR_UNAUTHORIZED',
  scope: 'EDR_ERR_FORBIDDEN',
  signature: 'EDR_ERR_BAD_SIGNATURE',
} as const;

/** An auth refusal that remembers why, for protocols with their own codes (Splunk HEC tells them apart). */
export class AuthError extends EdrError {
  readonly failure: AuthFailure;

  constructor(failure: AuthFailure, detail: string) {
    super(CODE_BY_FAILURE[failure], detail);
    this.failure = failure;
  }
}

export interface AuthOptions extends Record<string, unknown> {
  scope: Scope;
  keys: KeyRing;
  /** false lets requests without any credential through (development). */
  required: boolean;
  /** Static headers that may carry a key. */
  headers: readonly string[];
  /** Per-source settings, looked up by the `:source` route parameter. */
  sources?: Readonly<Record<string, SourceConfig>>;
}

const principals = new WeakMap<FastifyRequest, Principal>();

/** Who sent the request; set by the auth plugin before any handler runs. */
export function principalOf(request: FastifyRequest): Principal {
  const principal = principals.get(request);
  if (!principal) throw new EdrError('EDR_ERR_UNAUTHORIZED', 'request was not authenticated');
  return principal;
}

export function sourceOf(request: FastifyRequest): string | undefined {
  const params = request.params as { source?: unknown } | undefined;
  return typeof params?.source === 'string' ? params.source : undefined;
}

/**
 * Authenticates every route of the registering context: a key (Bearer, Splunk, ApiKey or a static header)
 * before the body is read; for a source with an HMAC secret, the signature over the raw body instead.
 */
export const authPlugin = exposed<AuthOptions>('edr-auth', async (app, options) => {
  const sourceConfig = (request: FastifyRequest) => {
    const source = sourceOf(request);
    return source === undefined ? undefined : options.sources?.[source];
  };

  app.addHook('onRequest', async (request) => {
    const config = sourceConfig(request);
    if (config?.hmacSecret) return;
    principals.set(request, authenticate(request, options, config));
  });

  app.addHook('preHandler', async (request) => {
    const secret = sourceConfig(request)?.hmacSecret;
    if (!secret) return;
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const header = request.headers['x-clawdstrike-signature'];
    if (!verifySignature(secret, body, typeof header === 'string' ? header : undefined)) {
      throw new AuthError('signature', 'x-clawdstrike-signature must be sha256=<HMAC-SHA256 of the body>');
    }
    principals.set(request, { id: `source:${sourceOf(request)}`, scopes: [options.scope], via: 'signature' });
  });
});

function authenticate(
  request: FastifyRequest,
  options: AuthOptions,
  source: SourceConfig | undefined,
): Principal {
  const presented = presentedCredential(request.headers, options.headers);
  if (presented.kind === 'malformed') {
    throw new AuthError(
      'malformed',
      'Authorization must be "Bearer <key>", "Splunk <key>" or "ApiKey <key>"',
    );
  }
  if (presented.kind === 'none') {
    if (source?.anonymous || !options.required) {
      const name = sourceOf(request);
      return { id: name ? `source:${name}` : 'anonymous', scopes: [options.scope], via: 'anonymous' };
    }
    throw new AuthError('missing', 'send Authorization: Bearer <key>');
  }
  const key = options.keys.find(presented.token);
  if (!key) throw new AuthError('unknown', 'unknown key');
  if (!key.scopes.includes(options.scope) && !key.scopes.includes('admin')) {
    throw new AuthError('scope', `key ${key.id} lacks the ${options.scope} scope`);
  }
  return { id: `key:${key.id}`, scopes: key.scopes, via: 'key' };
}
