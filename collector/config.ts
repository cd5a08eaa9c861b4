import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type ConfigInputs, type ConfigOverride, ENV_PREFIX, loadConfig } from '../core/config.ts';
import { TransportConfigSchema } from '../transport/index.ts';

export const SCOPES = ['ingest', 'read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export const ApiKeySchema = z.strictObject({
  id: z.string().min(1).describe('name shown in logs and metrics; never the key itself'),
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'expected the hex SHA-256 of the key (64 hex digits)')
    .transform((hex) => hex.toLowerCase())
    .describe('hex SHA-256 of the key; the key itself is never stored'),
  scopes: z.array(z.enum(SCOPES)).min(1).default(['ingest']).describe('admin implies every scope'),
});

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
    })
    .prefault({}),
  transport: TransportConfigSchema.prefault({}),
  auth: z
    .strictObject({
      required: z
        .boolean()
        .default(true)
        .describe('false accepts requests without credentials (development)'),
      keys: z.array(ApiKeySchema).default([]).describe('CLAWDSTRIKE_EDR_API_KEY adds one ingest key'),
      headers: z
        .array(z.string().regex(/^[a-z0-9-]+$/, 'a lowercase header name'))
        .default(['x-collector-token'])
        .describe('extra headers that may carry a key, for senders limited to static headers'),
      metricsScope: z.enum(['none', 'read']).default('none').describe('scope /metrics requires'),
    })
    .prefault({}),
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
      maxRecordsPerRequest: z.int().positive().default(10_000),
      maxErrorsReported: z.int().positive().default(100).describe('per response; `rejected` counts all'),
      retryAfterSeconds: z.int().positive().default(5).describe('Retry-After sent with 503'),
    })
    .prefault({}),
  rateLimit: z
    .strictObject({
      enabled: z.boolean().default(true),
      perKey: BucketSchema.prefault({ ratePerSecond: 1_000, burst: 2_000 }).describe(
        'requests per credential',
      ),
      perAgent: BucketSchema.prefault({ ratePerSecond: 5_000, burst: 20_000 }).describe(
        'records per agentId',
      ),
      maxTracked: z
        .int()
        .positive()
        .default(100_000)
        .describe('buckets kept per limiter; idle ones go first'),
    })
    .prefault({}),
});

export type CollectorConfig = z.infer<typeof CollectorConfigSchema>;
export type ApiKey = z.infer<typeof ApiKeySchema>;
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
