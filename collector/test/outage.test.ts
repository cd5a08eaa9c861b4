import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { createTransport } from '../../transport/index.ts';
import {
  brokerAddress,
  collect,
  dropTransportResources,
  isolatedTransportConfig,
  silentLogger,
} from '../../transport/testing/index.ts';
import { buildCollector } from '../index.ts';
import { eventIds } from './brokers.ts';
import { bearer, collectorConfig, NDJSON_TYPE, ndjson, samples } from './support.ts';
import { TcpProxy } from './tcp-proxy.ts';

const records = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => samples.policyEvent(`${prefix}-${i}`, `agent-${i % 4}`));
const ids = (prefix: string, count: number) => records(prefix, count).map((record) => record.eventId);

const ingest = (app: FastifyInstance, batch: readonly unknown[]) =>
  app.inject({
    method: 'POST',
    url: '/v1/events',
    payload: ndjson(batch),
    headers: { ...bearer(), ...NDJSON_TYPE },
  });

const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => {});
});

describe('broker outage', () => {
  it('NATS: 503 with Retry-After while acks are lost or the server is gone; after recovery a resend lands exactly once per eventId', async () => {
    const proxy = await TcpProxy.open(brokerAddress('nats'));
    cleanup.push(() => proxy.stop());
    const transportConfig = isolatedTransportConfig('nats', {
      publishTimeoutMs: 1_000,
      nats: { servers: [proxy.url] },
    });
    cleanup.push(() => dropTransportResources(transportConfig));
    // The collector builds its own transport from config, as in production.
    const app = await buildCollector(
      collectorConfig({ transport: transportConfig, ingest: { retryAfterSeconds: 3 } }),
    );
    cleanup.push(() => app.close());

    const first = records('a', 20);
    expect((await ingest(app, first)).json()).toMatchObject({ accepted: 20 });

    // Acks stop coming back: the server stores the batch, yet the collector cannot know it and says 503.
    const second = [...first.slice(0, 5), ...records('b', 20)];
    proxy.freeze();
    const lost = await ingest(app, second);
    expect(lost.statusCode).toBe(503);
    expect(lost.headers['retry-after']).toBe('3');
    expect(lost.json()).toMatchObject({ error: { code: 'EDR_ERR_BROKER_TIMEOUT' } });
    const reader = createTransport(
      { ...transportConfig, nats: { ...transportConfig.nats, servers: [brokerAddress('nats')] } },
      { logger: silentLogger },
    );
    cleanup.push(() => reader.close());
    const stored = eventIds(await collect(reader, 'events', { count: 40, settleMs: 1_000 }));
    expect(stored).toHaveLength(40);

    // The server is unreachable altogether.
    await proxy.stop();
    const down = await ingest(app, second);
    expect(down.statusCode).toBe(503);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);

    // Back: the client resends what got a 503; JetStream drops what it already stored.
    await proxy.start();
    const readiness = async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode;
    await expect.poll(readiness, { timeout: 15_000 }).toBe(200);
    expect((await ingest(app, second)).json()).toMatchObject({ accepted: 25, rejected: 0 });

    const after = eventIds(await collect(reader, 'events', { count: 40, settleMs: 1_500 }));
    expect(after).toHaveLength(40);
    expect(new Set(after)).toEqual(new Set([...ids('a', 20), ...ids('b', 20)]));
  });

  it('Kafka: 503 with Retry-After while the broker is unreachable; the resend to a reachable broker is all there', async () => {
    const transportConfig = isolatedTransportConfig('kafka', { publishTimeoutMs: 1_500 });
    cleanup.push(() => dropTransportResources(transportConfig));
    const unreachable = {
      ...transportConfig,
      kafka: { ...transportConfig.kafka, brokers: ['127.0.0.1:1'], connectionTimeoutMs: 300, retries: 1 },
    };
    const down = await buildCollector(
      collectorConfig({ transport: unreachable, ingest: { retryAfterSeconds: 2 } }),
    );
    const batch = records('k', 30);
    const refused = await ingest(down, batch);
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('2');
    expect((await down.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    await down.close();

    const up = await buildCollector(collectorConfig({ transport: transportConfig }));
    cleanup.push(() => up.close());
    expect((await ingest(up, batch)).json()).toMatchObject({ accepted: 30 });
    const reader = createTransport(transportConfig, { logger: silentLogger });
    cleanup.push(() => reader.close());
    const published = eventIds(await collect(reader, 'events', { count: 30, settleMs: 1_000 }));
    expect(new Set(published)).toEqual(new Set(ids('k', 30)));
  });
});
