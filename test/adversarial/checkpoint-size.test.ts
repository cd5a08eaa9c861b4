/**
 * Checkpoints of any size: a store saves and restores values far above the brokers' 1 MiB record limits
 * (Kafka's default max.message.bytes, NATS' default max_payload), atomically (a reader gets the old or the
 * new value, never a mix), and the snapshot codec never needs one string for a whole snapshot.
 */
import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { decodeSnapshot, encodeSnapshot } from '../../processor/checkpoint-codec.ts';
import { createTransport, type TransportConfig } from '../../transport/index.ts';
import {
  dropTransportResources,
  isolatedTransportConfig,
  silentLogger,
} from '../../transport/testing/index.ts';
import { useCleanup } from '../support/pipeline.ts';

const MiB = 1024 * 1024;
/** Kafka's default max.message.bytes (1 MiB and the record overhead). */
const KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

function storeOn(config: TransportConfig, defer: (cleanup: () => unknown) => void) {
  const transport = createTransport(config, { logger: silentLogger });
  defer(() => transport.close());
  return transport.createCheckpointStore();
}

/** The state topic as a broker with default settings has it: records of 1 MiB at most. */
async function createDefaultStateTopic(config: TransportConfig): Promise<void> {
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
          numPartitions: 3,
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
