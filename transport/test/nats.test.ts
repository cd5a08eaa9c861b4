import { describe, expect, it } from 'vitest';
import {
  createEndOffsetsReader,
  createTransport,
  type Message,
  type Transport,
  TransportConfigSchema,
} from '../index.ts';
import {
  brokerAddress,
  collect,
  dropTransportResources,
  isolatedTransportConfig,
  silentLogger,
} from '../testing/index.ts';
import { brokerContract, numberIn, record } from './broker-contract.ts';

/** A deferring member of `group` that records what it was handed, as `i#deliveryCount`. */
async function deferringMember(transport: Transport, group: string) {
  const consumer = transport.createConsumer({ stream: 'events', group, deferCommits: true });
  const seen: string[] = [];
  await consumer.start(async (batch) => {
    seen.push(
      ...batch.messages.map((message: Message) => `${numberIn(message.value).i}#${message.deliveryCount}`),
    );
  });
  return { consumer, seen };
}

const range = (from: number, to: number, count: number) =>
  Array.from({ length: to - from }, (_, k) => `${from + k}#${count}`);

describe('nats transport', () => {
  brokerAddress('nats');
  const { current } = brokerContract('nats');

  it('drops a record whose id it already has (Nats-Msg-Id), per logical stream', async () => {
    const { transport } = current();
    const producer = transport.createProducer();
    const again = Array.from({ length: 5 }, (_, i) => record(2_000 + i));
    await producer.publish(again);
    await producer.publish(again);
    // The same id on another logical stream is a different record.
    await producer.publish([{ ...record(2_000), stream: 'violations' }]);
    const events = await collect(transport, 'events', { count: 36, settleMs: 1_000 });
    expect(events.filter((message) => numberIn(message.value).i >= 2_000)).toHaveLength(5);
    const violations = await collect(transport, 'violations', { count: 1 });
    expect(violations).toHaveLength(1);
  });

  it('puts agent ids into one safe subject token', async () => {
    const { transport } = current();
    await transport.createProducer().publish([record(3_000, 'team.a/*>x y')]);
    const messages = await collect(transport, 'events', { count: 37 });
    const message = messages.find((candidate) => numberIn(candidate.value).i === 3_000);
    expect(message?.key).toBe('team.a/*>x y:s1');
  });

  it('redelivers a nak with its delivery count, and never a termed message', async () => {
    const { transport } = current();
    const consumer = transport.createConsumer({ stream: 'events', group: 'nats-nak' });
    const deliveries: string[] = [];
    await consumer.start(async (batch) => {
      for (const message of batch.messages) {
        const { i } = numberIn(message.value);
        if (i === 1 && message.deliveryCount === 1) message.nak(10);
        else if (i === 2) message.term('poison');
        deliveries.push(`${i}#${message.deliveryCount}`);
      }
    });
    await expect.poll(() => deliveries.includes('1#2'), { timeout: 15_000 }).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(deliveries.filter((entry) => entry.startsWith('2#'))).toEqual(['2#1']);
    expect(consumer.lag()[0]?.lag).toBe(0);
    await consumer.close();
  });

  it('defers acks to commit(), keeps held messages past ack_wait, and redelivers what was not committed, in order', {
    timeout: 30_000,
  }, async () => {
    const ackWaitMs = 1_000;
    const config = isolatedTransportConfig('nats', { nats: { ackWaitMs } });
    const transport = createTransport(config, { logger: silentLogger });
    const reader = createEndOffsetsReader(config, silentLogger)!;
    try {
      const producer = transport.createProducer();
      const group = 'deferred';
      const unacknowledged = async () => (await reader.positions('events', group))[0]?.unacknowledged;
      await producer.publish(Array.from({ length: 20 }, (_, i) => record(i)));
      const first = await deferringMember(transport, group);
      expect(first.consumer.defersCommits).toBe(true);
      await expect.poll(() => first.seen.length, { timeout: 10_000 }).toBe(20);
      // Held well past ack_wait: progress acks keep JetStream from redelivering them.
      await new Promise((resolve) => setTimeout(resolve, 3 * ackWaitMs));
      expect(first.seen).toEqual(range(0, 20, 1));
      expect(await unacknowledged()).toBe(20);
      await first.consumer.commit();
      await expect.poll(unacknowledged, { timeout: 5_000 }).toBe(0);

      // Handed over and not committed when the member goes (as in a crash): they come again.
      await producer.publish(Array.from({ length: 10 }, (_, i) => record(20 + i)));
      await expect.poll(() => first.seen.length, { timeout: 10_000 }).toBe(30);
      await first.consumer.close();
      // Newer records wait behind them: the next member fetches nothing until they were redelivered.
      await producer.publish(Array.from({ length: 5 }, (_, i) => record(30 + i)));
      const second = await deferringMember(transport, group);
      await expect.poll(() => second.seen.length, { timeout: 15_000 }).toBe(15);
      expect(second.seen).toEqual([...range(20, 30, 2), ...range(30, 35, 1)]);
      expect(await unacknowledged()).toBe(15);
      await second.consumer.commit();
      await expect.poll(unacknowledged, { timeout: 5_000 }).toBe(0);
      await second.consumer.close();
    } finally {
      await reader.close();
      await transport.close();
      await dropTransportResources(config);
    }
  });

  it('fails a publish to an unreachable server with a retriable error', async () => {
    const config = TransportConfigSchema.parse({ kind: 'nats', nats: { servers: 'nats://127.0.0.1:1' } });
    const transport = createTransport(config, { logger: silentLogger });
    const producer = transport.createProducer();
    await expect(producer.publish([record(1)])).rejects.toMatchObject({ retriable: true, status: 503 });
    expect(await producer.ready()).toBe(false);
    await transport.close();
  });
});
