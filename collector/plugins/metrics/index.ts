import type { FastifyPluginAsync } from 'fastify';
import { Registry } from 'prom-client';
import { collectProcessMetrics } from '../../../core/process-metrics.ts';
import { exposed } from '../expose.ts';
import { type CollectorMetrics, createCollectorMetrics } from './metrics.ts';

export type { CollectorMetrics, RecordRejectReason } from './metrics.ts';

export function createMetrics(registry = new Registry()): { registry: Registry; metrics: CollectorMetrics } {
  collectProcessMetrics(registry, 'edr_collector_');
  return { registry, metrics: createCollectorMetrics(registry) };
}

export interface MetricsOptions extends Record<string, unknown> {
  registry: Registry;
  metrics: CollectorMetrics;
}

/**
 * Counts requests and in-flight requests for every route; `/metrics` itself is registered by the app. A
 * request leaves the in-flight gauge when its response closes, which happens exactly once whether it was
 * sent, or the client aborted, or its connection timed out or failed (onResponse alone misses the last three).
 */
export const metricsPlugin = exposed<MetricsOptions>('edr-metrics', async (app, { metrics }) => {
  app.addHook('onRequest', async (request, reply) => {
    // The scrape that reads the gauge is not part of the load it shows.
    if (request.routeOptions.url === '/metrics') return;
    metrics.requestsInFlight.inc();
    reply.raw.once('close', () => metrics.requestsInFlight.dec());
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.requests.inc({
      route: request.routeOptions.url ?? 'unmatched',
      status: String(reply.statusCode),
    });
  });
});

/** GET /metrics in Prometheus text format. */
export const metricsRoute: FastifyPluginAsync<MetricsOptions & { render: () => Promise<string> }> = async (
  app,
  { registry, render },
) => {
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', registry.contentType);
    return render();
  });
};
