import { describe, expect, it } from 'vitest';
import { createTransport, TransportConfigSchema } from '../index.ts';
import { brokerAddress, collect, silentLogger } from '../testing/index.ts';
import { brokerContract, numberIn, record } from './broker-contract.ts';

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

  it('fails a publish to an unreachable server with a retriable error', async () => {
    const config = TransportConfigSchema.parse({ kind: 'nats', nats: { servers: 'nats://127.0.0.1:1' } });
    const transport = createTransport(config, { logger: silentLogger });
    const producer = transport.createProducer();
    await expect(producer.publish([record(1)])).rejects.toMatchObject({ retriable: true, status: 503 });
    expect(await producer.ready()).toBe(false);
    await transport.close();
  });
});
