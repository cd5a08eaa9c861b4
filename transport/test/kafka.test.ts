import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KAFKA_CLIENTS } from '../config.ts';
import { createTransport, type Message, type TransportConfig, TransportConfigSchema } from '../index.ts';
import { brokerAddress, collect, silentLogger } from '../testing/index.ts';
import { brokerContract, numberIn, record } from './broker-contract.ts';

describe.each(KAFKA_CLIENTS)('kafka transport on %s', (client) => {
  brokerAddress('kafka');
  const { current } = brokerContract('kafka', { kafka: { client } });

  it('keeps a key on one partition and exposes per-partition lag', async () => {
    const { transport } = current();
    const producer = transport.createProducer();
    await producer.publish(Array.from({ length: 20 }, (_, i) => record(1_000 + i, 'agent-k')));
    const messages = await collect(transport, 'events', { count: 51 });
    const keyed = messages.filter((message) => message.key === 'agent-k:s1');
    expect(new Set(keyed.map((message) => message.partition)).size).toBe(1);
    expect(keyed.map((message) => numberIn(message.value).i)).toEqual(
      Array.from({ length: 20 }, (_, i) => 1_000 + i),
    );
  });

  it('rewinds a partition on nak and delivers the message again', async () => {
    const { transport } = current();
    const consumer = transport.createConsumer({ stream: 'events', group: 'kafka-nak' });
    const seen: string[] = [];
    let nakked = false;
    await consumer.start(async (batch) => {
      for (const message of batch.messages) {
        const { i } = numberIn(message.value);
        if (i === 5 && !nakked) {
          nakked = true;
          message.nak(10);
          return;
        }
        seen.push(`${i}`);
      }
    });
    await expect.poll(() => seen.includes('5'), { timeout: 30_000 }).toBe(true);
    expect(seen.filter((entry) => entry === '5')).toHaveLength(1);
    await expect.poll(() => consumer.lag().length, { timeout: 30_000 }).toBeGreaterThan(0);
    await consumer.close();
  });

  it('with deferred commits, commits positions only when asked', async () => {
    const { transport } = current();
    const group = 'kafka-deferred';
    const consumeAll = async (commit: boolean): Promise<number> => {
      const consumer = transport.createConsumer({ stream: 'events', group, deferCommits: true });
      expect(consumer.defersCommits).toBe(true);
      let seen = 0;
      await consumer.start(async (batch) => {
        seen += batch.messages.length;
      });
      await expect
        .poll(() => consumer.lag().length > 0 && consumer.lag().every((p) => p.lag === 0), {
          timeout: 30_000,
        })
        .toBe(true);
      if (commit) await consumer.commit();
      await consumer.close();
      return seen;
    };
    const total = await consumeAll(false);
    expect(total).toBeGreaterThan(0);
    // Nothing was committed: the group starts over and sees every record again.
    expect(await consumeAll(true)).toBe(total);
    // Committed: only what is published afterwards arrives.
    await transport.createProducer().publish([record(7_000)]);
    const after = await collect(transport, 'events', { count: 1, group, settleMs: 1_000 });
    expect(after.map((message) => numberIn(message.value).i)).toEqual([7_000]);
  });

  it('places each key on the partition a Java client would (murmur2, as kafkajs)', async () => {
    const { transport, config } = current();
    const agents = Array.from({ length: 12 }, (_, i) => `agent-p${i}`);
    await transport.createProducer().publish(agents.map((agent, i) => record(2_000 + i, agent)));
    const messages = await collect(transport, 'events', {
      until: (seen) => agents.every((agent) => seen.some((message) => message.key === `${agent}:s1`)),
    });
    for (const agent of agents) {
      const key = `${agent}:s1`;
      const landed = messages.filter((message) => message.key === key).map((message) => message.partition);
      expect(landed).toEqual([javaPartition(config, key)]);
    }
  });

  it('pause stops delivery until resume, for all partitions or for one', async () => {
    const { transport } = current();
    const producer = transport.createProducer();
    const consumer = transport.createConsumer({
      stream: 'events',
      group: 'kafka-pause',
      fromBeginning: false,
    });
    const seen: Message[] = [];
    await consumer.start(async (batch) => {
      seen.push(...batch.messages);
    });
    await expect
      .poll(
        async () => {
          await producer.publish([record(3_000, 'agent-warm')]);
          return seen.length;
        },
        { timeout: 30_000, interval: 1_000 },
      )
      .toBeGreaterThan(0);
    consumer.pause();
    await sleep(1_500); // the fetch in flight may still bring what was published before
    const before = seen.length;
    await producer.publish([record(3_001, 'agent-a'), record(3_002, 'agent-b')]);
    await sleep(2_500);
    expect(seen.length).toBe(before);
    consumer.resume();
    await expect
      .poll(() => numbersSeen(seen), { timeout: 30_000 })
      .toEqual(expect.arrayContaining([3_001, 3_002]));

    // One partition: the others keep flowing; the held one comes after resume, each record once.
    const { config } = current();
    const held = javaPartition(config, 'agent-a:s1');
    const other = ['agent-b', 'agent-c', 'agent-d', 'agent-e'].find(
      (agent) => javaPartition(config, `${agent}:s1`) !== held,
    );
    consumer.pause([held]);
    await producer.publish([record(3_003, 'agent-a'), record(3_004, 'agent-a'), record(3_005, other)]);
    await expect.poll(() => numbersSeen(seen), { timeout: 30_000 }).toContain(3_005);
    await sleep(1_000);
    expect(numbersSeen(seen)).not.toContain(3_003);
    consumer.resume([held]);
    await expect
      .poll(() => numbersSeen(seen), { timeout: 30_000 })
      .toEqual(expect.arrayContaining([3_003, 3_004]));
    await sleep(1_000);
    const counts = numbersSeen(seen).filter((i) => i >= 3_001);
    expect(counts.sort()).toEqual([...new Set(counts)].sort());
    await consumer.close();
  });

  it('fails a publish to an unreachable broker with a retriable error, quickly', async () => {
    const config = TransportConfigSchema.parse({
      kind: 'kafka',
      publishTimeoutMs: 2_000,
      kafka: { client, brokers: '127.0.0.1:1', connectionTimeoutMs: 300, retries: 1 },
    });
    const transport = createTransport(config, { logger: silentLogger });
    const producer = transport.createProducer();
    const started = Date.now();
    await expect(producer.publish([record(1)])).rejects.toMatchObject({ retriable: true, status: 503 });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(await producer.ready()).toBe(false);
    await transport.close().catch(() => {});
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const numbersSeen = (messages: readonly Message[]): number[] =>
  messages.map((message) => numberIn(message.value).i);

/** The partition Java's default partitioner (murmur2, kafkajs' DefaultPartitioner) picks for a key. */
function javaPartition(config: TransportConfig, key: string): string {
  const partitionMetadata = Array.from({ length: config.kafka.partitions }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
  }));
  const topic = config.names.events;
  const partition = kafkajs.Partitioners.DefaultPartitioner()({
    topic,
    partitionMetadata,
    message: { key, value: null },
  });
  return `${topic}/${partition}`;
}
