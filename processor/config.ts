import { z } from 'zod';
import { AuthConfigSchema } from '../core/api-keys.ts';
import { commaList } from '../core/config.ts';
import { RuleLimitsSchema } from '../engine/index.ts';
import { LimitsConfigSchema } from '../engine/limits.ts';
import { SinksConfigSchema } from '../sinks/index.ts';
import { RedactionConfigSchema } from '../transforms/index.ts';
import { TransportConfigSchema } from '../transport/index.ts';

const pathList = commaList(z.string().min(1));

export const ProcessorSettingsSchema = z
  .strictObject({
    host: z.string().min(1).default('0.0.0.0').describe('address of /healthz, /readyz and /metrics'),
    port: z
      .int()
      .min(0)
      .max(65_535)
      .default(9464)
      .describe(
        'with workers > 1, worker i listens on port + i (each has its own /metrics); 0 picks free ports',
      ),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    workers: z
      .int()
      .min(1)
      .max(64)
      .default(1)
      .describe(
        'processes in this command, each a member of the consumer group (Kafka) with its own engines, sinks and checkpoints; one per core uses them all. NATS and memory: keep 1 (one durable reads the stream in order)',
      ),
    group: z
      .string()
      .min(1)
      .default('clawdstrike-processor')
      .describe('Kafka consumer group / JetStream durable; processors sharing it split the partitions'),
    maxBatchSize: z.int().positive().default(2_000).describe('messages per batch (NATS and memory)'),
    fromBeginning: z
      .boolean()
      .default(true)
      .describe('where a new group starts: oldest retained record, or new ones only'),
    rules: pathList.optional().describe('rule files or folders; the bundled rules/ when unset'),
    intel: pathList.default([]).describe('threat-intel files or folders'),
    assets: pathList.default([]).describe('agent inventory files (JSON or CSV)'),
    ruleLimits: RuleLimitsSchema.describe(
      'bounds on rule files: a file past one is refused with the reason (on reload, the running rules stay)',
    ),
    sigmaFieldMapping: z
      .record(z.string().min(1), z.string().min(1))
      .default({})
      .describe(
        'Sigma field name → our fact (e.g. {"ProcessName": "data.command"}), over the built-in table of docs/sigma.md',
      ),
    watch: z
      .boolean()
      .default(true)
      .describe('reload rules, intel and assets when their files change (SIGHUP always does)'),
    checkpoints: z
      .boolean()
      .default(true)
      .describe('save engine state per partition and restore it when a partition is assigned'),
    checkpointIntervalMs: z
      .int()
      .positive()
      .default(5_000)
      .describe(
        'state is saved and offsets committed (Kafka) or messages acknowledged (NATS) together at most this often; after each batch in memory',
      ),
    rollbackJournalBytes: z
      .int()
      .positive()
      .default(64 * 1024 * 1024)
      .describe(
        'bytes of records handled since the last checkpoint, kept in memory to roll engines back after a failed batch; reaching it checkpoints at once',
      ),
    maxInFlightRecords: z
      .int()
      .positive()
      .default(20_000)
      .describe(
        'Kafka and NATS: records evaluated and handed to the sinks but not yet final on every sink; reaching it pauses fetching until some are final',
      ),
    reportIntervalMs: z
      .int()
      .min(100)
      .default(10_000)
      .describe(
        'how often rule counts (alerts and suppressed per rule) and webhook delivery outcomes are written to the sinks the console reads (sqlite, elasticsearch)',
      ),
    shutdownTimeoutMs: z.int().positive().default(15_000),
    auth: AuthConfigSchema.prefault({}).describe(
      "who may read /metrics: the collector's auth section (keys, headers, metricsScope; a YAML anchor shares it)",
    ),
  })
  .prefault({});

/** The processor's part of the shared config file; `transport` and `sinks` are shared with the other commands. */
export const ProcessorConfigSchema = z
  .object({
    processor: ProcessorSettingsSchema,
    transport: TransportConfigSchema.prefault({}),
    sinks: SinksConfigSchema.prefault({}),
    redaction: RedactionConfigSchema,
    limits: LimitsConfigSchema.describe('shared with the collector and replay: limits.record, limits.engine'),
  })
  .superRefine(({ processor, transport }, context) => {
    // On NATS the acks wait for the checkpoint: records in flight, the batch in hand, the client's fetch-ahead
    // and the final ones awaiting the next checkpoint (up to half the bound, see commitWanted) are all
    // unacknowledged. Below this JetStream stops delivering before the in-flight bound pauses anything.
    const needed = 2 * (processor.maxInFlightRecords + 2 * processor.maxBatchSize);
    if (transport.kind === 'nats' && processor.checkpoints && transport.nats.maxAckPending < needed) {
      context.addIssue({
        code: 'custom',
        path: ['transport', 'nats', 'maxAckPending'],
        message: `at least ${needed} (2 × (processor.maxInFlightRecords + 2 × processor.maxBatchSize)): JetStream would stop delivering before the processor's in-flight bound`,
      });
    }
  });
export type ProcessorConfig = z.infer<typeof ProcessorConfigSchema>;
export type ProcessorSettings = z.infer<typeof ProcessorSettingsSchema>;
