import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildCollector } from '../index.ts';
import { bearer, collectorConfig, JSON_TYPE, KEYS, samples } from './support.ts';

let app: FastifyInstance;
let now = 0;
afterEach(async () => {
  await app?.close();
});

async function start(rateLimit: Record<string, unknown>) {
  now = 1_000_000;
  app = await buildCollector(collectorConfig({ rateLimit: { enabled: true, ...rateLimit } }), {
    clock: () => now,
  });
}

const send = (records: unknown[], key: string = KEYS.ingest) =>
  app.inject({
    method: 'POST',
    url: '/v1/events',
    payload: JSON.stringify(records),
    headers: { ...bearer(key), ...JSON_TYPE },
  });

describe('rate limits', () => {
  it('limits requests per key with 429 and Retry-After, independently per key, and refills over time', async () => {
    await start({ perKey: { ratePerSecond: 1, burst: 2 }, perAgent: { ratePerSecond: 1_000, burst: 1_000 } });
    const one = [samples.policyEvent('k-1')];
    expect((await send(one)).statusCode).toBe(202);
    expect((await send(one)).statusCode).toBe(202);
    const limited = await send(one);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('1');
    expect(limited.json()).toMatchObject({ error: { code: 'EDR_ERR_RATE_LIMITED' } });
    expect((await send(one, KEYS.admin)).statusCode).toBe(202);
    now += 1_000;
    expect((await send(one)).statusCode).toBe(202);
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('edr_collector_rate_limited_total{scope="key"} 1');
  });

  it('limits records per agent: a noisy agent is refused while the others in the batch get through', async () => {
    await start({
      perKey: { ratePerSecond: 1_000, burst: 1_000 },
      perAgent: { ratePerSecond: 10, burst: 10 },
    });
    const noisy = Array.from({ length: 12 }, (_, i) => samples.policyEvent(`noisy-${i}`, 'noisy'));
    // Within its burst (a batch may overdraw it once), then refused while the quiet agent still passes.
    expect((await send(noisy)).json()).toMatchObject({ accepted: 12, rejected: 0 });
    const mixed = await send([
      samples.policyEvent('noisy-x', 'noisy'),
      samples.policyEvent('quiet-1', 'quiet'),
    ]);
    expect(mixed.statusCode).toBe(202);
    expect(mixed.json()).toEqual({
      accepted: 1,
      rejected: 1,
      errors: [
        { index: 0, field: 'agentId', message: 'agent "noisy" is over its rate limit; retry after 1 s' },
      ],
    });
    const onlyNoisy = await send([samples.policyEvent('noisy-y', 'noisy')]);
    expect(onlyNoisy.statusCode).toBe(429);
    expect(onlyNoisy.headers['retry-after']).toBe('1');
    now += 1_000;
    expect((await send([samples.policyEvent('noisy-z', 'noisy')])).json()).toMatchObject({ accepted: 1 });
  });
});
