import { z } from 'zod';
import { commaList } from '../core/config.ts';
import { TRANSPORT_KINDS } from './types.ts';

const positiveMs = z.int().positive();

export const StreamNamesSchema = z
  .object({
    events: z.string().min(1).default('agent.events'),
    violations: z.string().min(1).default('agent.violations'),
    audit: z.string().min(1).default('agent.audit'),
    alerts: z.string().min(1).default('agent.alerts'),
    dlq: z.string().min(1).default('agent.dlq'),
    state: z.string().min(1).default('agent.state'),
    repartition: z
      .string()
      .min(1)
      .default('agent.events.repartition')
      .describe(
        'Kafka: internal topic where the processor re-keys events records not keyed by their agentId (created like the others, as many partitions as events); unused on NATS',
      ),
  })
  .describe('Kafka topic, or NATS subject prefix, per logical stream');

export const KAFKA_CLIENTS = ['kafkajs', 'platformatic'] as const;

export const KafkaConfigSchema = z.object({
  client: z
    .enum(KAFKA_CLIENTS)
    .default('kafkajs')
    .describe(
      'client library for producing and group consuming: kafkajs or @platformatic/kafka (BENCHMARKS.md compares them); topic admin and checkpoints use kafkajs either way',
    ),
  brokers: commaList(z.string().min(1)).default([]).describe('host:port list; required when kind is kafka'),
  clientId: z.string().min(1).default('clawdstrike-edr'),
  partitions: z.int().min(1).default(6).describe('partitions of topics created at start'),
  replicationFactor: z.int().min(1).default(1),
  createTopics: z.boolean().default(true).describe('create missing topics at start'),
  connectionTimeoutMs: positiveMs.default(3_000),
  requestTimeoutMs: positiveMs.default(10_000),
  /** Kafka retries inside one publish; kept low so an outage surfaces as a 503 instead of a hang. */
  retries: z.int().min(1).max(10).default(3),
  ssl: z.boolean().default(false),
  sasl: z
    .object({
      mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
      username: z.string().min(1),
      password: z.string().min(1),
    })
    .optional(),
  logLevel: z.enum(['nothing', 'error', 'warn', 'info', 'debug']).default('warn'),
  /** Upper bound of records in one coalesced produce request. */
  maxBatchRecords: z.int().positive().default(20_000),
  sessionTimeoutMs: positiveMs.default(30_000),
  heartbeatIntervalMs: positiveMs.default(3_000),
});

export const NatsConfigSchema = z.object({
  servers: commaList(z.string().min(1)).default(['nats://127.0.0.1:4222']),
  /** One JetStream stream holds every logical stream's subjects. */
  stream: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only')
    .default('AGENT'),
  storage: z.enum(['file', 'memory']).default('file'),
  replicas: z.int().min(1).default(1),
  maxAgeMs: positiveMs.default(7 * 24 * 3_600_000),
  /** Window in which JetStream drops a repeated Nats-Msg-Id. */
  duplicateWindowMs: positiveMs.default(120_000),
  maxAckPending: z
    .int()
    .positive()
    .default(50_000)
    .describe(
      "messages delivered and not yet acknowledged before JetStream stops delivering; the processor's acks wait for its checkpoints, so keep it at least 2 × (processor.maxInFlightRecords + 2 × processor.maxBatchSize) (checked at start)",
    ),
  ackWaitMs: positiveMs
    .default(30_000)
    .describe(
      'an unacknowledged message is redelivered after this long without a progress ack (held ones get one every half of it); a processor restarting after a crash waits this long for them before it consumes',
    ),
  maxDeliver: z
    .int()
    .min(-1)
    .default(-1)
    .describe(
      'deliveries of a message before JetStream drops it (-1: no limit); a batch failing for longer than this many attempts (about 2 minutes for 10) would lose its events, poison records are dead-lettered anyway',
    ),
  user: z.string().optional(),
  pass: z.string().optional(),
  token: z.string().optional(),
});

export const MemoryConfigSchema = z.object({
  /** Unconsumed records per stream before publish is refused (503) rather than growing without bound. */
  maxBacklog: z.int().positive().default(100_000),
});

export const TransportConfigSchema = z
  .object({
    kind: z.enum(TRANSPORT_KINDS).default('memory'),
    names: StreamNamesSchema.prefault({}),
    publishTimeoutMs: positiveMs.default(5_000).describe('a publish not acknowledged in time fails (503)'),
    checkpointPartBytes: z
      .int()
      .min(1_024)
      .max(64 * 1024 * 1024)
      .default(512 * 1024)
      .describe(
        'checkpoints larger than this are saved in parts of this size (Kafka state topic, NATS KV); keep it under the record limit (Kafka max.message.bytes, NATS max_payload: 1 MiB by default)',
      ),
    kafka: KafkaConfigSchema.prefault({}),
    nats: NatsConfigSchema.prefault({}),
    memory: MemoryConfigSchema.prefault({}),
  })
  .superRefine((config, context) => {
    if (config.kind === 'kafka' && config.kafka.brokers.length === 0) {
      context.addIssue({
        code: 'custom',
        path: ['kafka', 'brokers'],
        message: 'required when kind is "kafka"',
      });
    }
  });

export type TransportConfig = z.infer<typeof TransportConfigSchema>;
export type KafkaConfig = z.infer<typeof KafkaConfigSchema>;
export type NatsConfig = z.infer<typeof NatsConfigSchema>;
export type MemoryConfig = z.infer<typeof MemoryConfigSchema>;
