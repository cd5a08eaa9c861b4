import type { FastifyRequest } from 'fastify';
import {
  type ApiKey,
  checkKey,
  type KeyFailure,
  type KeyRing,
  presentedCredential,
  type Scope,
} from '../../../core/api-keys.ts';
import type { Clock } from '../../../core/clock.ts';
import { EdrError } from '../../../core/errors.ts';
import type { SourceConfig } from '../../config.ts';
import { exposed } from '../expose.ts';
import { type AgentBinding, agentBinding } from './agents.ts';
import { ReplayGuard } from './replay.ts';
import { verifySignature } from './signature.ts';

export type { AgentBinding } from './agents.ts';
export { agentBinding } from './agents.ts';

export interface Principal {
  /** `key:<id>`, `source:<name>` or `anonymous`; rate limits and logs use it. */
  id: string;
  scopes: readonly Scope[];
  via: 'key' | 'signature' | 'anonymous';
  /** The agent ids it may send records for; undefined: any. */
  agents: AgentBinding | undefined;
  /** A signed source's replay window: each record's time must lie within this many ms of arrival. */
  freshWithinMs?: number;
}

export type AuthFailure = KeyFailure | 'signature' | 'replayed' | 'query_disabled';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route reads a key from `?token=` when no header carries one (Splunk HEC); see queryTokens. */
    acceptsQueryToken?: boolean;
  }
}

const CODE_BY_FAILURE = {
  missing: 'EDR_ERR_UNAUTHORIZED',
  malformed: 'EDR_ERR_UNAUTHORIZED',
  unknown: 'EDR_ERR_UNAUTHORIZED',
  scope: 'EDR_ERR_FORBIDDEN',
  signature: 'EDR_ERR_BAD_SIGNATURE',
  replayed: 'EDR_ERR_REPLAYED',
  query_disabled: 'EDR_ERR_UNAUTHORIZED',
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
  /**
   * Whether a key in the URL (`?token=`, on routes that accept one) is taken. Either way it is checked
   * first, as Splunk does: an unknown one is refused as unknown, a known one then as disabled.
   */
  queryTokens: boolean;
  /** Per-source settings, looked up by the `:source` route parameter. */
  sources?: Readonly<Record<string, SourceConfig>>;
  clock: Clock;
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
 * before the body is read; for a source with an HMAC secret, the signature over the raw body instead, once
 * per signature within the source's replay window.
 */
export const authPlugin = exposed<AuthOptions>('edr-auth', async (app, options) => {
  const sourceConfig = (request: FastifyRequest) => {
    const source = sourceOf(request);
    return source === undefined ? undefined : options.sources?.[source];
  };
  const keyBindings = new Map<ApiKey, AgentBinding | undefined>();
  const bindingOf = (key: ApiKey) => {
    if (!keyBindings.has(key)) keyBindings.set(key, agentBinding(key.agents));
    return keyBindings.get(key);
  };
  const sourceBindings = new Map<string, AgentBinding | undefined>();
  const replayGuards = new Map<string, ReplayGuard>();
  for (const [name, source] of Object.entries(options.sources ?? {})) {
    sourceBindings.set(name, agentBinding(source.agents));
    if (source.hmacSecret) {
      const { windowSeconds, maxTracked } = source.replay;
      replayGuards.set(name, new ReplayGuard({ windowMs: windowSeconds * 1000, maxTracked }, options.clock));
    }
  }
  /** The signature a request reserved in its source's replay guard, released when it is not accepted. */
  const reserved = new WeakMap<FastifyRequest, { guard: ReplayGuard; signature: string }>();

  app.addHook('onRequest', async (request) => {
    const config = sourceConfig(request);
    if (config?.hmacSecret) return;
    const queryToken = queryTokenOf(request, options.headers);
    const check = checkKey(
      queryToken === undefined ? request.headers : { authorization: `Splunk ${queryToken}` },
      {
        keys: options.keys,
        scope: options.scope,
        headers: options.headers,
        allowMissing: Boolean(config?.anonymous) || !options.required,
      },
    );
    if (!check.ok) throw new AuthError(check.failure, check.detail);
    if (queryToken !== undefined && !options.queryTokens) {
      throw new AuthError('query_disabled', 'a key in the URL is not taken (splunkHec.allowQueryStringAuth)');
    }
    if (check.key) {
      const { key } = check;
      principals.set(request, {
        id: `key:${key.id}`,
        scopes: key.scopes,
        via: 'key',
        agents: bindingOf(key),
      });
      return;
    }
    const name = sourceOf(request);
    principals.set(request, {
      id: name ? `source:${name}` : 'anonymous',
      scopes: [options.scope],
      via: 'anonymous',
      agents: name === undefined ? undefined : sourceBindings.get(name),
    });
  });

  app.addHook('preHandler', async (request) => {
    const config = sourceConfig(request);
    if (!config?.hmacSecret) return;
    const name = sourceOf(request)!;
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const header = request.headers['x-clawdstrike-signature'];
    const signature = verifySignature(
      config.hmacSecret,
      body,
      typeof header === 'string' ? header : undefined,
    );
    if (!signature) {
      throw new AuthError('signature', 'x-clawdstrike-signature must be sha256=<HMAC-SHA256 of the body>');
    }
    const guard = replayGuards.get(name)!;
    const admission = guard.admit(signature);
    if (!admission.ok && admission.reason === 'replayed') {
      throw new AuthError('replayed', `this signed body was already received by source ${name}`);
    }
    if (!admission.ok) {
      throw new EdrError('EDR_ERR_RATE_LIMITED', `replay cache of source ${name} is full`, {
        retryAfterSeconds: admission.retryAfterSeconds,
      });
    }
    reserved.set(request, { guard, signature });
    principals.set(request, {
      id: `source:${name}`,
      scopes: [options.scope],
      via: 'signature',
      agents: sourceBindings.get(name),
      freshWithinMs: config.replay.windowSeconds * 1000,
    });
  });

  // A refused or failed request (e.g. 503 while the broker is down) was not received: its retry is no replay.
  app.addHook('onSend', async (request, reply) => {
    const entry = reserved.get(request);
    if (entry && (reply.statusCode < 200 || reply.statusCode >= 300)) entry.guard.release(entry.signature);
  });
});

/** `?token=` of a route that accepts one, when no header presents a credential. */
function queryTokenOf(request: FastifyRequest, staticHeaders: readonly string[]): string | undefined {
  if (request.routeOptions.config.acceptsQueryToken !== true) return undefined;
  const token = (request.query as Record<string, unknown> | undefined)?.token;
  if (typeof token !== 'string' || token === '') return undefined;
  return presentedCredential(request.headers, staticHeaders).kind === 'none' ? token : undefined;
}

/** A URL as it may be logged: the value of a `token` query parameter (a key, for Splunk HEC) replaced. */
export function loggableUrl(url: string): string {
  return url.replace(/([?&]token=)[^&#]*/gi, '$1[redacted]');
}
