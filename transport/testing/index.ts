import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import kafkajs from 'kafkajs';
import { type TransportConfig, TransportConfigSchema } from '../config.ts';
import type { Message, StreamName, Transport, TransportKind } from '../types.ts';
import { STREAMS } from '../types.ts';

/**
 * Helpers for tests and benchmarks that need a real broker (here and in other components). Not part of the
 * runtime API: production code never imports this folder.
 */

const BROKER_ENV = { kafka: 'KAFKA_BROKERS', nats: 'NATS_URL' } as const;

/** The broker address the test harness exported; a missing one fails the test (never a silent skip). */
export function brokerAddress(kind: 'kafka' | 'nats'): string {
  const name = BROKER_ENV[kind];
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run the tests through vitest (test/harness/global-setup.ts provides it) or export ${name}`,
    );
  }
  return value;
}

/** A config whose topics / subjects / stream are unique to this call, so test runs never collide. */
export function isolatedTransportConfig(
  kind: TransportKind,
  overrides: Record<string, unknown> = {},
): TransportConfig {
  const id = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const names = Object.fromEntries(STREAMS.map((stream) => [stream, `edrtest-${id}.${stream}`]));
  const base: Record<string, unknown> = { kind, names, publishTimeoutMs: 5_000 };
  if (kind === 'kafka') base.kafka = { brokers: brokerAddress('kafka'), partitions: 3 };
  if (kind === 'nats')
    base.nats = { servers: brokerAddress('nats'), stream: `EDRTEST_${id}`, storage: 'memory' };
  return TransportConfigSchema.parse(deepMerge(base, overrides));
}

function deepMerge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deletes what isolatedTransportConfig() made the brokers create. */
export async function dropTransportResources(config: TransportConfig): Promise<void> {
  if (config.kind === 'kafka') {
    const admin = new kafkajs.Kafka({
      brokers: config.kafka.brokers,
      logLevel: kafkajs.logLevel.NOTHING,
    }).admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const topics = Object.values(config.names).filter((topic) => existing.has(topic));
      if (topics.length > 0) await admin.deleteTopics({ topics });
    } finally {
      await admin.disconnect();
    }
  } else if (config.kind === 'nats') {
    const nc = await connect({ servers: config.nats.servers });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.delete(config.nats.stream).catch(() => false);
      // The checkpoint KV bucket (`<stream>-checkpoints`, see nats/index.ts) is a stream of its own.
      await jsm.streams.delete(`KV_${config.nats.stream}-checkpoints`).catch(() => false);
    } finally {
      await nc.close();
    }
  }
}

export interface CollectOptions {
  /** Resolve once this many messages arrived, or once `until` holds; then wait `settleMs` more for extras. */
  count?: number;
  until?: (messages: readonly Message[]) => boolean;
  timeoutMs?: number;
  settleMs?: number;
  group?: string;
}

/** Reads a stream back through the transport's own consumer, from the beginning, with a fresh group. */
export async function collect(
  transport: Transport,
  stream: StreamName,
  options: CollectOptions,
): Promise<Message[]> {
  const { count = 1, timeoutMs = 30_000, settleMs = 500 } = options;
  const done = options.until ?? ((messages: readonly Message[]) => messages.length >= count);
  const group = options.group ?? `collect-${randomBytes(4).toString('hex')}`;
  const consumer = transport.createConsumer({ stream, group, fromBeginning: true });
  const messages: Message[] = [];
  let reached: () => void = () => {};
  const enough = new Promise<void>((resolve) => {
    reached = resolve;
  });
  await consumer.start(async (batch) => {
    messages.push(...batch.messages);
    if (done(messages)) reached();
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), timeoutMs);
  });
  if (!(await Promise.race([enough.then(() => false), timedOut]))) {
    await new Promise((resolve) => setTimeout(resolve, settleMs));
  }
  clearTimeout(timer);
  await consumer.close();
  return messages;
}

/** For tests that provoke failures on purpose and do not want them in the output. */
export const silentLogger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };
