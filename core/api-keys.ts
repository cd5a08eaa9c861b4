import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { EdrError } from './errors.ts';

/**
 * API keys and their verification, shared by every HTTP endpoint that takes one: the collector's ingest
 * routes and /metrics, and the processor's /metrics. One key config (the `auth` section), one check.
 */
export const SCOPES = ['ingest', 'read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Longest agent-id pattern; patterns are matched against ids that are themselves length-bounded. */
export const MAX_AGENT_PATTERN_LENGTH = 256;

export const ApiKeySchema = z.strictObject({
  id: z.string().min(1).describe('name shown in logs and metrics; never the key itself'),
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'expected the hex SHA-256 of the key (64 hex digits)')
    .transform((hex) => hex.toLowerCase())
    .describe('hex SHA-256 of the key; the key itself is never stored'),
  scopes: z.array(z.enum(SCOPES)).min(1).default(['ingest']).describe('admin implies every scope'),
  agents: z
    .array(z.string().min(1).max(MAX_AGENT_PATTERN_LENGTH))
    .min(1)
    .max(256)
    .optional()
    .describe(
      'agent ids this key may send records for (`*` any run of characters, `?` one); unset: any agent',
    ),
});
export type ApiKey = z.infer<typeof ApiKeySchema>;

export const AuthConfigSchema = z.strictObject({
  required: z.boolean().default(true).describe('false accepts requests without credentials (development)'),
  keys: z.array(ApiKeySchema).default([]).describe('CLAWDSTRIKE_EDR_API_KEY adds one ingest key'),
  headers: z
    .array(z.string().regex(/^[a-z0-9-]+$/, 'a lowercase header name'))
    .default(['x-collector-token'])
    .describe('extra headers that may carry a key, for senders limited to static headers'),
  metricsScope: z
    .enum(['none', 'read'])
    .default('none')
    .describe('scope /metrics requires, on the collector and the processor alike'),
});
export type AuthConfig = z.infer<typeof AuthConfigSchema>;

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Keys are stored as SHA-256 digests; lookups compare digests in constant time against every key. */
export class KeyRing {
  readonly #keys: ReadonlyArray<{ key: ApiKey; digest: Buffer }>;

  constructor(keys: readonly ApiKey[]) {
    this.#keys = keys.map((key) => ({ key, digest: Buffer.from(key.sha256, 'hex') }));
  }

  find(token: string): ApiKey | undefined {
    const digest = sha256(token);
    let found: ApiKey | undefined;
    // No early exit: the time taken does not depend on which key matched, or whether one did.
    for (const entry of this.#keys) if (timingSafeEqual(entry.digest, digest)) found = entry.key;
    return found;
  }
}

/** Authorization schemes that carry a key: ours, Splunk HEC's, and Elasticsearch's API keys. */
const SCHEMES = new Set(['bearer', 'splunk', 'apikey']);

/** Basic credentials carry the key as the password, the user ignored (Splunk HEC: `curl -u x:<token>`). */
function basicPassword(credentials: string): string {
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? '' : decoded.slice(colon + 1);
}

export type Presented = { kind: 'token'; token: string } | { kind: 'malformed' } | { kind: 'none' };

/** The credential a request presents: an Authorization scheme above, or one of the configured static headers. */
export function presentedCredential(
  headers: IncomingHttpHeaders,
  staticHeaders: readonly string[],
): Presented {
  const authorization = headers.authorization;
  if (authorization !== undefined) {
    const space = authorization.indexOf(' ');
    const scheme = space > 0 ? authorization.slice(0, space).toLowerCase() : '';
    const credentials = space > 0 ? authorization.slice(space + 1).trim() : '';
    const token = scheme === 'basic' ? basicPassword(credentials) : SCHEMES.has(scheme) ? credentials : '';
    return token !== '' ? { kind: 'token', token } : { kind: 'malformed' };
  }
  for (const name of staticHeaders) {
    const value = headers[name];
    if (typeof value === 'string' && value !== '') return { kind: 'token', token: value };
  }
  return { kind: 'none' };
}

export type KeyFailure = 'missing' | 'malformed' | 'unknown' | 'scope';

export type KeyCheck =
  | { ok: true; key: ApiKey | undefined }
  | { ok: false; failure: KeyFailure; detail: string };

/**
 * The key a request presents, checked for `scope`. `allowMissing` lets a request without any credential
 * through (`key` undefined); a credential that is presented must always verify.
 */
export function checkKey(
  headers: IncomingHttpHeaders,
  options: { keys: KeyRing; scope: Scope; headers: readonly string[]; allowMissing: boolean },
): KeyCheck {
  const presented = presentedCredential(headers, options.headers);
  if (presented.kind === 'malformed') {
    return {
      ok: false,
      failure: 'malformed',
      detail:
        'Authorization must be "Bearer <key>", "Splunk <key>", "ApiKey <key>" or Basic with the key as password',
    };
  }
  if (presented.kind === 'none') {
    return options.allowMissing
      ? { ok: true, key: undefined }
      : { ok: false, failure: 'missing', detail: 'send Authorization: Bearer <key>' };
  }
  const key = options.keys.find(presented.token);
  if (!key) return { ok: false, failure: 'unknown', detail: 'unknown key' };
  if (!key.scopes.includes(options.scope) && !key.scopes.includes('admin')) {
    return { ok: false, failure: 'scope', detail: `key ${key.id} lacks the ${options.scope} scope` };
  }
  return { ok: true, key };
}

export function keyFailureError(check: Extract<KeyCheck, { ok: false }>): EdrError {
  return new EdrError(check.failure === 'scope' ? 'EDR_ERR_FORBIDDEN' : 'EDR_ERR_UNAUTHORIZED', check.detail);
}

/**
 * An onRequest hook for /metrics when `auth.metricsScope` asks for one (undefined otherwise): the read
 * scope, checked as the ingest routes check theirs; refusals answer `{error: {code, message}}`.
 */
export function metricsAccessHook(
  auth: AuthConfig,
): ((request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>) | undefined {
  if (auth.metricsScope === 'none') return undefined;
  const options = {
    keys: new KeyRing(auth.keys),
    scope: 'read' as const,
    headers: auth.headers,
    allowMissing: !auth.required,
  };
  return async (request, reply) => {
    const check = checkKey(request.headers, options);
    if (check.ok) return undefined;
    const error = keyFailureError(check);
    return reply.code(error.status).send({ error: { code: error.code, message: error.message } });
  };
}
