import { describe, expect, it } from 'vitest';
import { KAFKA_CLIENTS } from '../config.ts';
import { createTransport, TransportConfigSchema } from '../index.ts';
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
