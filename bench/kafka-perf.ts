/**
 * Kafka's own perf tools (org.apache.kafka.tools.ProducerPerformance and ConsumerPerformance, from the
 * kafka-tools artifact of the broker's version) as the reference a benchmark states its rate against: what
 * a JVM client reaches on the same broker, machine and moment.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import { KAFKA_VERSION, kafkaToolsClasspath, requireJdk } from '../test/harness/services.ts';

const run = promisify(execFile);

export interface ToolRate {
  records: number;
  recordsPerSecond: number;
  megabytesPerSecond: number;
  /** The tool's summary line, as printed. */
  summary: string;
}

async function java(mainClass: string, args: readonly string[], version: string): Promise<string> {
  const { bin } = requireJdk(17, 'Kafka perf tools');
  const classpath = await kafkaToolsClasspath(version);
  const { stdout } = await run(bin, ['-Xmx512m', '-cp', classpath, mainClass, ...args], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** Creates `topic` with `partitions` partitions (as our topics are), so the tool writes what we write. */
export async function createTopic(brokers: string, topic: string, partitions: number): Promise<void> {
  const admin = new kafkajs.Kafka({
    brokers: brokers.split(','),
    logLevel: kafkajs.logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

export async function deleteTopic(brokers: string, topic: string): Promise<void> {
  const admin = new kafkajs.Kafka({
    brokers: brokers.split(','),
    logLevel: kafkajs.logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [topic] });
  } finally {
    await admin.disconnect();
  }
}

/**
 * ProducerPerformance at full speed with our producer's settings: acks=all, idempotent, no compression.
 * Its last line: `N records sent, R records/sec (M MB/sec), ...`.
 */
export async function producerTool(options: {
  brokers: string;
  topic: string;
  records: number;
  recordSize: number;
  version?: string;
}): Promise<ToolRate> {
  const out = await java(
    'org.apache.kafka.tools.ProducerPerformance',
    [
      '--topic',
      options.topic,
      '--num-records',
      String(options.records),
      '--record-size',
      String(options.recordSize),
      '--throughput',
      '-1',
      '--producer-props',
      `bootstrap.servers=${options.brokers}`,
      'acks=all',
      'enable.idempotence=true',
      'compression.type=none',
    ],
    options.version ?? KAFKA_VERSION,
  );
  const summary = out.trim().split('\n').at(-1) ?? '';
  const match = /^(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\)/.exec(summary);
  if (!match) throw new Error(`ProducerPerformance printed no summary:\n${out.slice(-2_000)}`);
  return {
    records: Number(match[1]),
    recordsPerSecond: Number(match[2]),
    megabytesPerSecond: Number(match[3]),
    summary,
  };
}

/**
 * ConsumerPerformance reading `messages` records of `topic` from the beginning with a fresh group. Its CSV
 * line: start, end, MB, MB/s, records, records/s, rebalance ms, fetch ms, fetch MB/s, fetch records/s; the
 * fetch figures leave out the group join, as our drain rate (first to last event) does.
 */
export async function consumerTool(options: {
  brokers: string;
  topic: string;
  messages: number;
  version?: string;
}): Promise<ToolRate> {
  const out = await java(
    'org.apache.kafka.tools.ConsumerPerformance',
    [
      '--bootstrap-server',
      options.brokers,
      '--topic',
      options.topic,
      '--messages',
      String(options.messages),
      '--group',
      `perf-tool-${Date.now().toString(36)}`,
      '--timeout',
      '60000',
      '--hide-header',
    ],
    options.version ?? KAFKA_VERSION,
  );
  const summary =
    out
      .trim()
      .split('\n')
      .find((line) => /^\d{4}-/.test(line)) ?? '';
  const fields = summary.split(',').map((field) => field.trim());
  if (fields.length < 10) throw new Error(`ConsumerPerformance printed no summary:\n${out.slice(-2_000)}`);
  return {
    records: Number(fields[4]),
    recordsPerSecond: Number(fields[9]),
    megabytesPerSecond: Number(fields[8]),
    summary,
  };
}
