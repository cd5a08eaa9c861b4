import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { ScriptedHttpServer } from '../test/support/http-server.ts';
import { metricValue } from '../test/support/pipeline.ts';
import { makeAlert } from '../test/support/sink-items.ts';
import { MemoryDeadLetterWriter } from './driver/dead-letter.ts';
import { registerSinkMetrics } from './metrics.ts';
import { SinkRouter } from './router.ts';
import { WebhookSinkConfigSchema } from './webhook/config.ts';
import { webhookRoutes } from './webhook/sink.ts';

const SECRET = `whsec_${Buffer.alloc(32, 0x33).toString('base64')}`;

describe('registerSinkMetrics', () => {
  let server: ScriptedHttpServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it("exports each route's counts, dead letters by code and webhook circuits as the router reports them", async () => {
    // The first alert lands; then the receiver fails every request, which opens the circuit.
    let calls = 0;
    server = await ScriptedHttpServer.start(() => (++calls === 1 ? { status: 204 } : { status: 503 }));
    const config = WebhookSinkConfigSchema.parse({
      type: 'webhook',
      secret: SECRET,
      actions: { alert_soc: { url: `${server.url}/soc` } },
      circuitBreaker: { failureThreshold: 2, openMs: 60_000 },
      delivery: { retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 2 } },
    });
    const router = new SinkRouter(webhookRoutes(config), { deadLetters: new MemoryDeadLetterWriter() });
    const registry = new Registry();
    registerSinkMetrics(registry, router);
    const sink = { sink: 'webhook.alert_soc' };

    expect(await router.deliver({ alerts: [makeAlert({ actions: ['alert_soc'] })] })).toMatchObject({
      written: 1,
    });
    const before = await registry.metrics();
    expect(metricValue(before, 'edr_sink_items_written_total', sink)).toBe(1);
    expect(metricValue(before, 'edr_sink_dead_letters_total')).toBe(0);
    expect(metricValue(before, 'edr_sink_circuit_state', { ...sink, state: 'closed' })).toBe(1);

    expect(await router.deliver({ alerts: [makeAlert({ actions: ['alert_soc'] })] })).toMatchObject({
      deadLettered: 1,
    });
    const after = await registry.metrics();
    await router.close();
    const stats = router.stats()[0]!;
    // Two 503s opened the circuit; the third attempt was refused by it without a request.
    expect(calls).toBe(3);
    expect(metricValue(after, 'edr_sink_requests_total', sink)).toBe(stats.requests);
    expect(stats.requests).toBe(4);
    expect(metricValue(after, 'edr_sink_retries_total', sink)).toBe(2);
    expect(metricValue(after, 'edr_sink_dead_letters_total', { ...sink, reason: 'retries_exhausted' })).toBe(
      1,
    );
    expect(metricValue(after, 'edr_sink_pending_items', sink)).toBe(0);
    const endpoint = new URL(server.url).origin;
    expect(
      ['closed', 'half-open', 'open'].map((state) =>
        metricValue(after, 'edr_sink_circuit_state', { ...sink, endpoint, state }),
      ),
    ).toEqual([0, 0, 1]);
  });
});
