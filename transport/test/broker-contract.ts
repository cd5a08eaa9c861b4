import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createTransport,
  type Message,
  type OutboundRecord,
  type Transport,
  type TransportConfig,
} from '../index.ts';
import { collect, dropTransportResources, isolatedTransportConfig, silentLogger } from '../testing/index.ts';

export const record = (i: number, agent = `agent.${i % 3}`): OutboundRecord => ({
  stream: 'events',
  key: `${agent}:s1`,
  token: agent,
  id: `evt-${i}`,
  value: Buffer.from(JSON.stringify({ i })),
  headers: { 'edr-event-id': `evt-${i}` },
});

export const numberIn = (value: Uint8Array): { i: number } =>
  JSON.parse(Buffer.from(value).toString()) as { i: number };

/** The behaviour every broker adapter must show; each broker's test file calls this and adds its specifics. */
const position = (message: Message): string => `${message.partition}@${message.offset}`;

export function brokerContract(
  kind: 'kafka' | 'nats',
  overrides: Record<string, unknown> = {},
): {
  current: () => { config: TransportConfig; transport: Transport };
} {
  let config: TransportConfig;
  let transport: Transport;
  beforeAll(() => {
    config = isolatedTransportConfig(kind, overrides);
    transport = createTransport(config, { logger: silentLogger });
  });
  afterAll(async () => {
    await transport.close();
    await dropTransportResources(config);
  });

  it('creates its topics/stream on connect and reports ready', async () => {
    const producer = transport.createProducer();
    await producer.connect();
    expect(await producer.ready()).toBe(true);
  });

  it('round-trips records with key and headers; a group commits only what its handler finished', async () => {
    const producer = transport.createProducer();
    await producer.publish(Array.from({ length: 30 }, (_, i) => record(i)));
    const group = 'contract-commit';
    const first = await collect(transport, 'events', { count: 30, group });
    expect(first.map((message) => numberIn(message.value).i).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 30 }, (_, i) => i),
    );
    const sample = first.find((message) => numberIn(message.value).i === 4)!;
    expect(sample.key).toBe('agent.1:s1');
    expect(sample.headers['edr-event-id']).toBe('evt-4');
    // Everything was acked: the same group gets only what is published afterwards.
    await producer.publish([record(100)]);
    const next = await collect(transport, 'events', { count: 1, group, settleMs: 1_000 });
    expect(next.map((message) => numberIn(message.value).i)).toEqual([100]);
  });

  it('redelivers messages whose handler failed', async () => {
    const group = 'contract-retry';
    const consumer = transport.createConsumer({ stream: 'events', group });
    const attempts = new Map<number, number>();
    let failed = false;
    await consumer.start(async (batch) => {
      for (const message of batch.messages) {
        const { i } = numberIn(message.value);
        attempts.set(i, (attempts.get(i) ?? 0) + 1);
      }
      if (!failed) {
        failed = true;
        throw new Error('sink down');
      }
    });
    await expect.poll(() => attempts.size, { timeout: 30_000 }).toBe(31);
    await expect
      .poll(() => [...attempts.values()].some((count) => count >= 2), { timeout: 30_000 })
      .toBe(true);
    await consumer.close();
  });

  it('settles the batch in hand before an owner commits it on stopping, so it is not delivered again', async () => {
    const group = 'contract-settled';
    const consumer = transport.createConsumer({ stream: 'events', group, deferCommits: true });
    const firstBatch: string[] = [];
    let stopping: Promise<void> | undefined;
    await consumer.start(async (batch) => {
      if (stopping) return;
      firstBatch.push(...batch.messages.map(position));
      // An owner stopping right as this handler returns: wait for settlement, then commit and leave.
      stopping = consumer
        .settled()
        .then(() => consumer.commit())
        .then(() => consumer.close());
    });
    await expect.poll(() => stopping !== undefined, { timeout: 30_000 }).toBe(true);
    await stopping;
    expect(firstBatch.length).toBeGreaterThan(0);
    await transport.createProducer().publish([record(300)]);
    const after = await collect(transport, 'events', {
      group,
      until: (messages) => messages.some((message) => numberIn(message.value).i === 300),
    });
    expect(after.some((message) => numberIn(message.value).i === 300)).toBe(true);
    expect(after.map(position).filter((at) => firstBatch.includes(at))).toEqual([]);
  });

  return { current: () => ({ config, transport }) };
}
