import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { SeveritySchema } from '../../core/severity.ts';
import { ITEM_KINDS, type ItemKind, type Route, type Sink } from '../types.ts';

/** Zod pieces every sink config shares; each sink's config.ts composes them with its own keys. */

export const RetryPolicySchema = z
  .object({
    attempts: z
      .int()
      .min(1)
      .default(6)
      .describe(
        'blocking sinks: failures an item may cause on its own (an unexpected error on that one item) before it ' +
          'is dead-lettered; an outage uses none, it is waited out. Webhooks: attempts per action in all',
      ),
    initialDelayMs: z.int().min(0).default(200).describe('backoff ceiling after the first failure'),
    maxDelayMs: z.int().min(0).default(30_000).describe('backoff ceiling; also caps Retry-After'),
  })
  .describe('retry with full-jitter exponential backoff, for retryable items only');

/** How long a failure may last, and how often it is probed, before /readyz reports the sink not ready. */
const healthFields = {
  notReadyAfterMs: z
    .int()
    .min(0)
    .default(30_000)
    .describe(
      'a sink failing (down, full disk) for this long reports not ready in /readyz; one that cannot work at ' +
        'all (bad credentials, read-only folder) at once',
    ),
  probeIntervalMs: z
    .int()
    .min(100)
    .default(5_000)
    .describe('while a sink fails, its destination is probed this often (to become ready again when idle)'),
};

interface DeliveryDefaults {
  batchSize: number;
  concurrency: number;
  maxPendingItems: number;
}

export function deliverySchema(defaults: DeliveryDefaults) {
  return z
    .object({
      batchSize: z.int().min(1).default(defaults.batchSize).describe('items per request'),
      concurrency: z.int().min(1).default(defaults.concurrency).describe('requests in flight at once'),
      maxPendingItems: z
        .int()
        .min(1)
        .default(defaults.maxPendingItems)
        .describe('unfinished items before the route reports backpressure (webhooks: queue size)'),
      retry: RetryPolicySchema.prefault({}),
      ...healthFields,
    })
    .prefault({});
}

/** Every sink's `redact` key (routingFields and the webhook sink). */
export const redactSchema = z
  .boolean()
  .default(true)
  .describe('false: this sink receives secrets in clear, as the engine saw them (see docs/security.md)');

/** Which items a sink receives. */
export function routingFields(defaultKinds: readonly ItemKind[]) {
  return {
    name: z.string().min(1).optional().describe('unique sink name (default: the type)'),
    kinds: z
      .array(z.enum(ITEM_KINDS))
      .min(1)
      .default([...defaultKinds])
      .describe('which items this sink receives: event, alert or both'),
    minSeverity: SeveritySchema.default('info').describe('items below this severity are not sent here'),
    redact: redactSchema,
  };
}

export const TlsSchema = z
  .object({
    caFile: z.string().min(1).optional().describe('PEM file of the CA that signed the server certificate'),
    skipVerify: z.boolean().default(false).describe('accept any server certificate (testing only)'),
  })
  .prefault({});
export type TlsConfig = z.infer<typeof TlsSchema>;

export interface TlsOptions {
  ca?: Buffer;
  rejectUnauthorized: boolean;
}

export function tlsOptions(config: TlsConfig): TlsOptions {
  const options: TlsOptions = { rejectUnauthorized: !config.skipVerify };
  if (config.caFile) options.ca = readFileSync(config.caFile);
  return options;
}

/** A sink driven by its parsed config's routing and delivery keys. */
export function routeFor(
  sink: Sink,
  config: Pick<Route, 'kinds' | 'minSeverity' | 'redact'> & {
    delivery: Omit<Route['delivery'], 'detached'>;
  },
  detached = false,
): Route {
  return {
    sink,
    kinds: config.kinds,
    minSeverity: config.minSeverity,
    delivery: { ...config.delivery, detached },
    redact: config.redact ?? true,
  };
}
