import { describe, expect, it } from 'vitest';
import { createTransport, type Message, type OutboundRecord, TransportConfigSchema } from '../index.ts';
import { silentLogger } from '../testing/index.ts';

const record = (i: number, stream: OutboundRecord['stream'] = 'events'): OutboundRecord => ({
  stream,
  key: `agent-${i % 2}:s`,
  token: `agent-${i % 2}`,
  id: `e${i}`,
  value: Buffer.from(String(i)),
  headers: { n: String(i) },
});

function memoryTransport(maxBacklog = 1_000) {
  return createTransport(TransportConfigSchema.parse({ kind: 'memory', memory: { maxBacklog } }), {
    logger: silentLogger,
  });
}

/** Starts a consumer whose handler is `handle`, and waits until `done()` says so. */
async function consumeUntil(
  transport: ReturnType<typeof memoryTransport>,
  handle: (message: Message) => void,
  done: () => boolean,
): Promise<void> {
  const consumer = transport.createConsumer({ stream: 'events', group: 'g' });
  await consumer.start(async (batch) => {
    for (const message of batch.messages) handle(message);
  });
  await expect.poll(done, { timeout: 5_000, interval: 10 }).toBe(true);
  await consumer.close();
}

describe('memory transport', () => {
  it('delivers published records with key, headers and partition, in order', async () => {
    const transport = memoryTransport();
    await transport.createProducer().publish([record(1), record(2), record(3, 'violations')]);
    const seen: Message[] = [];
    await consumeUntil(
      transport,
      (message) => seen.push(message),
      () => seen.length === 2,
    );
    expect(seen.map((message) => Buffer.from(message.value).toString())).toEqual(['1', '2']);
    expect(seen[0]).toMatchObject({
      key: 'agent-1:s',
      headers: { n: '1' },
      partition: 'memory/agent.events',
    });
    await transport.close();
  });

  it('redelivers a nak with a higher delivery count, and not a termed message', async () => {
    const transport = memoryTransport();
    await transport.createProducer().publish([record(1), record(2)]);
    const deliveries: string[] = [];
    await consumeUntil(
      transport,
      (message) => {
        deliveries.push(`${message.offset}#${message.deliveryCount}`);
        if (message.offset === '0' && message.deliveryCount === 1) message.nak(5);
        if (message.offset === '1') message.term('poison');
      },
      () => deliveries.includes('0#2'),
    );
    // The nak rewinds: offset 1 comes again after offset 0's redelivery, then it is termed for good.
    expect(deliveries).toEqual(['0#1', '1#1', '0#2', '1#2']);
    await transport.close();
  });

  it('redelivers the whole batch when the handler throws', async () => {
    const transport = memoryTransport();
    await transport.createProducer().publish([record(1), record(2)]);
    const consumer = transport.createConsumer({ stream: 'events', group: 'g' });
    let calls = 0;
    const counts: number[] = [];
    await consumer.start(async (batch) => {
      calls++;
      counts.push(...batch.messages.map((message) => message.deliveryCount));
      if (calls === 1) throw new Error('sink down');
    });
    await expect.poll(() => calls, { timeout: 5_000 }).toBe(2);
    expect(counts).toEqual([1, 1, 2, 2]);
    await consumer.close();
  });

  it('pauses and resumes delivery, and reports lag', async () => {
    const transport = memoryTransport();
    const producer = transport.createProducer();
    const consumer = transport.createConsumer({ stream: 'events', group: 'g' });
    let seen = 0;
    consumer.pause();
    await consumer.start(async (batch) => {
      seen += batch.messages.length;
    });
    await producer.publish([record(1), record(2), record(3)]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen).toBe(0);
    expect(consumer.lag()).toEqual([{ partition: 'memory/agent.events', lag: 3 }]);
    consumer.resume();
    await expect.poll(() => seen).toBe(3);
    expect(consumer.lag()[0]?.lag).toBe(0);
    await consumer.close();
  });

  it('refuses to publish (retriable) when consumers fall too far behind', async () => {
    const transport = memoryTransport(2);
    const consumer = transport.createConsumer({ stream: 'events', group: 'g' });
    consumer.pause();
    await consumer.start(async () => {});
    const producer = transport.createProducer();
    await producer.publish([record(1), record(2)]);
    await expect(producer.publish([record(3)])).rejects.toMatchObject({
      code: 'EDR_ERR_BROKER_UNAVAILABLE',
      retriable: true,
    });
    await consumer.close();
  });
});
