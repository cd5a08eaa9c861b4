/**
 * Checkpoints of any size: a store saves and restores values far above the brokers' 1 MiB record limits
 * (Kafka's default max.message.bytes, NATS' default max_payload), atomically (a reader gets the old or the
 * new value, never a mix), and the snapshot codec never needs one string for a whole snapshot.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { loadRules, parseRecord } from '../../engine/index.ts';
import { decodeSnapshot, encodeSnapshot } from '../../processor/checkpoint-codec.ts';
import { PartitionEngines, type RestoreOutcome } from '../../processor/partition-engines.ts';
import { createTransport, type TransportConfig } from '../../transport/index.ts';
import {
  collect,
  dropTransportResources,
  isolatedTransportConfig,
  silentLogger,
} from '../../transport/testing/index.ts';
import {
  alertIdsOf,
  alertOf,
  coversAlerts,
  eventRecords,
  metricValue,
  pipelineFixture,
  processorConfig,
  publishInChunks,
  scrapeMetrics,
  startProcessor,
  useCleanup,
  waitForEventsProcessed,
} from '../support/pipeline.ts';
import { expectedAlerts, referenceScenario } from '../support/scenarios.ts';
import { REPO_ROOT } from '../support/shared.ts';

const MiB = 1024 * 1024;
/** Kafka's default max.message.bytes (1 MiB and the record overhead). */
const KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

function storeOn(config: TransportConfig, defer: (cleanup: () => unknown) => void) {
  const transport = createTransport(config, { logger: silentLogger });
  defer(() => transport.close());
  return transport.createCheckpointStore();
}

/** The state topic as a broker with default settings has it: records of 1 MiB at most. */
async function createDefaultStateTopic(config: TransportConfig, partitions = 3): Promise<void> {
  const admin = new kafkajs.Kafka({
    brokers: config.kafka.brokers,
    logLevel: kafkajs.logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic: config.names.state,
          numPartitions: partitions,
          configEntries: [
            { name: 'cleanup.policy', value: 'compact' },
            { name: 'max.message.bytes', value: String(KAFKA_DEFAULT_MAX_MESSAGE_BYTES) },
          ],
        },
      ],
    });
  } finally {
    await admin.disconnect();
  }
}

/** Messages in the checkpoint bucket's stream under a key's parts. */
async function natsPartMessages(config: TransportConfig, key: string): Promise<number> {
  const nc = await connect({ servers: config.nats.servers });
  try {
    const bucket = `${config.nats.stream}-checkpoints`;
    const info = await (await jetstreamManager(nc)).streams.info(`KV_${bucket}`, {
      subjects_filter: `$KV.${bucket}.${key}.parts.>`,
    });
    return Object.values(info.state.subjects ?? {}).reduce((sum, count) => sum + count, 0);
  } finally {
    await nc.close();
  }
}

async function putAsOneRecord(config: TransportConfig, value: Buffer): Promise<void> {
  if (config.kind === 'kafka') {
    const kafka = new kafkajs.Kafka({ brokers: config.kafka.brokers, logLevel: kafkajs.logLevel.NOTHING });
    const producer = kafka.producer({ retry: { retries: 0 } });
    await producer.connect();
    try {
      await producer.send({ topic: config.names.state, acks: -1, messages: [{ key: 'one', value }] });
    } finally {
      await producer.disconnect();
    }
    return;
  }
  const nc = await connect({ servers: config.nats.servers });
  try {
    const kv = await new Kvm(nc).create(`${config.nats.stream}-checkpoints`, { history: 1 });
    await kv.put('one', value);
  } finally {
    await nc.close();
  }
}

async function natsMaxPayload(config: TransportConfig): Promise<number> {
  const nc = await connect({ servers: config.nats.servers });
  try {
    return nc.info?.max_payload ?? 0;
  } finally {
    await nc.close();
  }
}

describe.each(['kafka', 'nats'] as const)('checkpoints beyond the record limit (%s)', (kind) => {
  const defer = useCleanup();

  it('saves and restores 6 MiB, replaces it atomically, and cleans up the parts it replaced', async () => {
    const config = isolatedTransportConfig(kind);
    defer(() => dropTransportResources(config));
    if (kind === 'kafka') await createDefaultStateTopic(config);
    else expect(await natsMaxPayload(config)).toBeLessThanOrEqual(MiB);
    const key = 'group/events/0';
    // Random bytes: what gzip leaves of a snapshot, and far above one record.
    const first = randomBytes(6 * MiB);
    const second = randomBytes(5 * MiB + 123);

    // As one record the broker refuses it: what made large checkpoints fail before they went in parts.
    await expect(putAsOneRecord(config, first)).rejects.toThrow();

    const writer = storeOn(config, defer);
    await writer.save(key, first);
    // A reader of its own (another processor taking the partition over) gets every byte back.
    expect(Buffer.from((await storeOn(config, defer).load(key))!).equals(first)).toBe(true);

    // While a writer alternates two large values, every load gets one of them whole, never a mix.
    const reader = storeOn(config, defer);
    const loads: Array<Promise<Uint8Array | undefined>> = [];
    for (let round = 0; round < 4; round++) {
      await writer.save(key, round % 2 === 0 ? second : first);
      loads.push(reader.load(key));
    }
    for (const loaded of await Promise.all(loads)) {
      const bytes = Buffer.from(loaded!);
      expect(bytes.equals(first) || bytes.equals(second)).toBe(true);
    }
    expect(Buffer.from((await storeOn(config, defer).load(key))!).equals(first)).toBe(true);

    // A small value replaces the parts; the parts of earlier versions are gone from the bucket.
    await writer.save(key, Buffer.from('small'));
    expect(Buffer.from((await storeOn(config, defer).load(key))!).toString()).toBe('small');
    if (kind === 'nats') expect(await natsPartMessages(config, key)).toBe(0);
  });
});

/** File reads with random paths over many sessions: engine state that gzip cannot shrink much. */
function stateFiller(count: number, runId: string): Record<string, unknown>[] {
  const start = Date.now() - 5 * 60_000;
  return Array.from({ length: count }, (_, index) => ({
    eventId: `fill-${runId}-${index}`,
    eventType: 'file_read',
    timestamp: new Date(start + index).toISOString(),
    sessionId: `fill-session-${index % 300}`,
    data: { type: 'file', path: `/work/${randomBytes(48).toString('hex')}`, operation: 'read' },
    metadata: { source: 'test', agentId: `fill-agent-${index % 7}` },
  }));
}

describe.each(['kafka', 'nats'] as const)('a processor checkpoint of several MiB (%s)', (kind) => {
  const defer = useCleanup();

  it('is saved, restored by the next processor of the group, and its state fires the sequence', {
    timeout: 240_000,
  }, async () => {
    const { config, publisher, directory } = await pipelineFixture(defer, kind, 'big-checkpoint', {
      // One partition (as NATS has): the whole state in one checkpoint.
      kafka: { partitions: 1 },
    });
    // A state topic of the broker's default 1 MiB records (NATS' max_payload is 1 MiB too).
    if (kind === 'kafka') await createDefaultStateTopic(config, 1);
    const producer = publisher.createProducer();
    const settings = processorConfig(config, {
      group: `big-${randomUUID()}`,
      directory,
      processor: { checkpointIntervalMs: 500 },
    });
    const runId = randomUUID().slice(0, 8);
    const exfiltration = referenceScenario({
      runId,
      sessionsPerRule: 1,
      startMs: Date.now() - 10 * 60_000,
      benignPerSession: 0,
    }).filter((event) => String(event.sessionId).includes('credential_exfiltration'));
    const sequence = expectedAlerts(exfiltration).filter(
      (alert) => alert.ruleId === 'CREDENTIAL_EXFILTRATION',
    );
    expect(sequence).toHaveLength(1);
    const [credentialRead, ...egress] = eventRecords(exfiltration);
    const filler = eventRecords(stateFiller(20_000, runId));

    const first = await startProcessor(settings);
    let firstStopped = false;
    defer(() => (firstStopped ? undefined : first.stop()));
    await publishInChunks(producer, [credentialRead!, ...filler], { chunk: 2_000 });
    // NATS takes one batch at a time, each behind its checkpoint of up to 20k new session entries: on a loaded
    // CI host the last batches of the fill took over a minute.
    await waitForEventsProcessed(first.address, filler.length + 1, 150_000);
    // The state of one partition (NATS has one) took more than a record may hold.
    await expect
      .poll(async () => maxSample(await scrapeMetrics(first.address), 'edr_processor_checkpoint_bytes'), {
        timeout: 30_000,
      })
      .toBeGreaterThan(1.5 * MiB);
    await first.stop();
    firstStopped = true;

    const second = await startProcessor(settings);
    defer(() => second.stop());
    await producer.publish(egress);
    await waitForEventsProcessed(second.address, egress.length, 30_000);
    const alerts = (await collect(publisher, 'alerts', { until: coversAlerts(sequence) })).map(alertOf);
    expect(alertIdsOf(alerts)).toContain(sequence[0]!.alertId);
    const metrics = await scrapeMetrics(second.address);
    expect(metricValue(metrics, 'edr_processor_checkpoint_restore_failures_total')).toBe(0);
    // Only the egress was delivered to the second processor: the read came from the checkpoint.
    expect(metricValue(metrics, 'edr_processor_events_total')).toBe(egress.length);
  });
});

/** The largest sample of a metric (0 when it has none). */
function maxSample(text: string, name: string): number {
  let max = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{.*\})? ([^ ]+)$/.exec(line);
    if (match?.[1] === name) max = Math.max(max, Number(match[2]));
  }
  return max;
}

describe.each(['kafka', 'nats'] as const)('a state entry larger than a record (%s)', (kind) => {
  const defer = useCleanup();

  it('goes in parts and comes back whole with the rest of the changelog', async () => {
    const partBytes = 4_096;
    const config = isolatedTransportConfig(kind, { checkpointPartBytes: partBytes });
    defer(() => dropTransportResources(config));
    const loaded = loadRules([join(REPO_ROOT, 'rules')]);
    if (!loaded.ok) throw new Error('bundled rules do not load');
    const rules = loaded.value;
    const group = `big-entry-${randomUUID()}`;
    // Each opening reads through a store of its own, as another processor would.
    const open = async (onRestore?: (outcome: RestoreOutcome) => void) =>
      new PartitionEngines({
        inputs: () => ({ rules, intel: undefined, assets: undefined }),
        clock: Date.now,
        checkpoints: storeOn(config, defer),
        group,
        decode: () => [],
        // Every checkpoint applied: the entry itself is written (in parts), not only its redo log.
        changelog: { maxLogs: 1 },
        onRestore: (_, outcome) => onRestore?.(outcome),
      }).forPartition('events/0');
    // One session reading 200 distinct long paths (kept as digests): a session entry of about 11 KiB, three parts.
    const start = Date.now() - 60_000;
    const reads = Array.from({ length: 200 }, (_, index) => {
      const parsed = parseRecord({
        eventId: `big-${index}`,
        eventType: 'file_read',
        timestamp: new Date(start + index).toISOString(),
        sessionId: 'one-session',
        data: { type: 'file', path: `/data/${index}/${'p'.repeat(90)}`, operation: 'read' },
        metadata: { source: 'test', agentId: 'one-agent' },
      });
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
      return parsed.value;
    });
    const sessionEntry = JSON.stringify(['s', 'one-agent', 'one-session']);
    const first = await open();
    first.engine.processBatch(reads);
    await first.checkpoint();
    const written = JSON.stringify(first.engine.entry(sessionEntry));
    expect(written.length).toBeGreaterThan(2 * partBytes);

    const restores: RestoreOutcome[] = [];
    const second = await open((outcome) => restores.push(outcome));
    expect(restores[0]).toMatchObject({ restored: true, from: 'changelog' });
    // The same session (its recency stamp is renumbered by the restore, in the same order).
    expect({ ...(second.engine.entry(sessionEntry) as object), order: 0 }).toEqual({
      ...JSON.parse(written),
      order: 0,
    });
    expect(second.engine.snapshot()).toEqual(first.engine.snapshot());
  });
});

describe('snapshot codec', () => {
  const sample = () => ({
    version: 1,
    seq: 42,
    sessions: Array.from({ length: 300 }, (_, i) => ({
      id: `s${i}`,
      targets: Array.from({ length: 20 }, (_, j) => `/home/agent/${i}/${j}/${'x'.repeat(i % 50)}`),
      data: JSON.parse(`{"__proto__": {"polluted": ${i}}, "constructor": "c${i}"}`) as unknown,
    })),
    long: `${'é'.repeat(5_000)}${'\u{1F600}'.repeat(3_000)}`,
    nested: [[[{ deep: Array.from({ length: 2_000 }, (_, i) => i) }]]],
    empty: { list: [], object: {} },
  });

  it('writes a snapshot larger than a piece in pieces and reads back the same value', async () => {
    const snapshot = sample();
    const pieceChars = 500;
    const bytes = await encodeSnapshot(snapshot, pieceChars);
    const lines = gunzipSync(bytes).toString('utf8').split('\n');
    expect(JSON.stringify(snapshot).length).toBeGreaterThan(500 * pieceChars);
    expect(lines.length).toBeGreaterThan(500);
    // Each line is about one piece (plus its path and one item at most).
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThan(3 * pieceChars);
    const decoded = (await decodeSnapshot(bytes)) as ReturnType<typeof sample>;
    expect(decoded).toEqual(JSON.parse(JSON.stringify(snapshot)));
    // `__proto__` from agent data stays an own data property, and nothing reached Object.prototype.
    expect(Object.hasOwn(decoded.sessions[7]!.data as object, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('reads a small snapshot as one line, and the one-document checkpoints of earlier versions', async () => {
    const snapshot = { version: 1, seq: 1, sessions: [{ id: 'a' }] };
    expect(
      gunzipSync(await encodeSnapshot(snapshot))
        .toString()
        .split('\n'),
    ).toHaveLength(2);
    expect(await decodeSnapshot(await encodeSnapshot(snapshot))).toEqual(snapshot);
    expect(await decodeSnapshot(gzipSync(JSON.stringify(snapshot)))).toEqual(snapshot);
  });
});
