import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ApiKeySchema, AuthConfigSchema } from '../core/api-keys.ts';
import { type ConfigInputs, type ConfigOverride, ENV_PREFIX, loadConfig } from '../core/config.ts';
import { LimitsConfigSchema } from '../engine/limits.ts';
import { TransportConfigSchema } from '../transport/index.ts';

export type { ApiKey, Scope } from '../core/api-keys.ts';
export { SCOPES } from '../core/api-keys.ts';
export { ApiKeySchema };

export const SourceSchema = z.strictObject({
  hmacSecret: z
    .string()
    .min(1)
    .optional()
    .describe(
      'when set, x-clawdstrike-signature: sha256=<HMAC of the body> must verify; it then authenticates',
    ),
  anonymous: z
    .boolean()
    .default(false)
    .describe('accept this source without credentials (senders that cannot add any)'),
  agents: ApiKeySchema.shape.agents.describe(
    'agent ids this source may send records for when it authenticates by signature or anonymously; unset: any',
  ),
  replay: z
    .strictObject({
      windowSeconds: z
        .int()
        .positive()
        .max(86_400)
        .default(300)
        .describe('a signed record whose timestamp is further than this from arrival is refused'),
      maxTracked: z
        .int()
        .positive()
        .default(100_000)
        .describe('signatures remembered per source (for the window); when full, new requests get 429'),
    })
    .prefault({})
    .describe('replay protection of a source with an hmacSecret'),
});

const BucketSchema = z.strictObject({
  ratePerSecond: z.number().positive(),
  burst: z.number().positive(),
});

export const CollectorConfigSchema = z.object({
  server: z
    .strictObject({
      host: z.string().min(1).default('0.0.0.0'),
      port: z.int().min(0).max(65_535).default(8080).describe('also PORT or --port'),
      logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      shutdownTimeoutMs: z.int().positive().default(10_000).describe('grace period for requests in flight'),
      workers: z
        .int()
        .min(1)
        .max(64)
        .default(1)
        .describe('processes sharing the port (node:cluster); one per core uses them all'),
      headersTimeoutMs: z
        .int()
        .positive()
        .default(10_000)
        .describe('a request whose headers are not all in by then is answered 408 and its connection closed'),
      requestTimeoutMs: z
        .int()
        .positive()
        .default(30_000)
        .describe(
          'a request whose body is not all in by then is answered 408 and its connection closed (slow uploads)',
        ),
      maxConnections: z
        .int()
        .positive()
        .default(10_000)
        .describe('open connections per process; further ones are closed at once'),
    })
    .refine((server) => server.headersTimeoutMs <= server.requestTimeoutMs, {
      message: 'headersTimeoutMs must not exceed requestTimeoutMs',
      path: ['headersTimeoutMs'],
    })
    .prefault({}),
  transport: TransportConfigSchema.prefault({}),
  auth: AuthConfigSchema.prefault({}),
  sources: z
    .record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only'), SourceSchema)
    .default({})
    .describe('per-sender settings, keyed by the <source> in /ingest/<source>/...'),
  ingest: z
    .strictObject({
      maxBodyBytes: z
        .int()
        .positive()
        .default(10 * 1024 * 1024)
        .describe('on the wire and after gunzip'),
      maxRecordsPerRequest: z
        .int()
        .positive()
        .default(10_000)
        .describe('framing stops at the first record past it: 413 for the request'),
      maxJsonDepth: z
        .int()
        .min(8)
        .max(1_000)
        .default(64)
        .describe('a record whose JSON nests deeper is refused before it is parsed (its own error)'),
      maxErrorsReported: z.int().positive().default(100).describe('per response; `rejected` counts all'),
      retryAfterSeconds: z.int().positive().default(5).describe('Retry-After sent with 503'),
    })
    .prefault({}),
  splunkHec: z
    .strictObject({
      ack: z
        .strictObject({
          enabled: z
            .boolean()
            .default(true)
            .describe(
              'indexer acknowledgement: a request naming a channel gets an ackId that /services/collector/ack reports; false answers /ack with code 14',
            ),
          maxChannels: z
            .int()
            .positive()
            .default(1_000)
            .describe('channels remembered over all senders; the least recently used is forgotten'),
          maxPendingPerChannel: z
            .int()
            .positive()
            .default(1_000)
            .describe('ackIds issued and not yet reported, per channel; the oldest is forgotten'),
          maxAckIdsPerQuery: z
            .int()
            .positive()
            .default(1_000)
            .describe('ackIds one /services/collector/ack request may ask about; more is code 6'),
        })
        .prefault({}),
      allowQueryStringAuth: z
        .boolean()
        .default(false)
        .describe(
          "take the key as ?token= (Splunk's allowQueryStringAuth); off, a known key sent so is code 16. URLs end up in proxy logs",
        ),
    })
    .prefault({})
    .describe('Splunk HEC routes (/services/collector/...)'),
  rateLimit: z
    .strictObject({
      enabled: z.boolean().default(true),
      perKey: BucketSchema.prefault({ ratePerSecond: 1_000, burst: 2_000 }).describe(
        'requests per credential',
      ),
      perKeyRecords: BucketSchema.prefault({ ratePerSecond: 50_000, burst: 200_000 }).describe(
        'records per credential, over all its agents',
      ),
      perAgent: BucketSchema.prefault({ ratePerSecond: 5_000, burst: 20_000 }).describe(
        'records per (credential, agentId): a key flooding as another agent spends only its own bucket',
      ),
      maxTracked: z
        .int()
        .positive()
        .default(100_000)
        .describe('buckets kept per limiter; idle ones go first'),
    })
    .prefault({}),
  limits: LimitsConfigSchema.describe(
    'shared with the processor and replay: parseRecord applies limits.record to every record',
  ),
});

export type CollectorConfig = z.infer<typeof CollectorConfigSchema>;
export type SourceConfig = z.infer<typeof SourceSchema>;

export interface CollectorConfigInputs extends ConfigInputs {
  /** The --port flag; wins over PORT and the config. */
  port?: number | string;
}

/**
 * File (JSON or YAML) < CLAWDSTRIKE_EDR_<SECTION>__<KEY> env vars < PORT < --port. CLAWDSTRIKE_EDR_API_KEY
 * adds an ingest key (hashed here, never kept in clear). Throws EDR_ERR_CONFIG naming each bad key.
 */
export function loadCollectorConfig(inputs: CollectorConfigInputs = {}): CollectorConfig {
  const env = inputs.env ?? process.env;
  const port = ['server', 'port'];
  const overrides: ConfigOverride[] = [
    ...(env.PORT !== undefined ? [{ path: port, value: env.PORT, origin: 'PORT' }] : []),
    ...(inputs.overrides ?? []),
    ...(inputs.port !== undefined ? [{ path: port, value: String(inputs.port), origin: '--port' }] : []),
  ];
  const config = loadConfig(CollectorConfigSchema, ENV_PREFIX, { ...inputs, env, overrides });
  const apiKey = env[`${ENV_PREFIX}API_KEY`];
  if (apiKey) {
    config.auth.keys.push({
      id: 'env',
      sha256: createHash('sha256').update(apiKey).digest('hex'),
      scopes: ['ingest'],
    });
  }
  return config;
}
