import { collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * Gauges prom-client names with `_total`, which Prometheus keeps for counters (promtool check metrics
 * reports them). Each is the sum of the by-type gauge without the suffix, so nothing is lost without them.
 */
const TOTAL_NAMED_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** prom-client's Node process metrics under `prefix`, less the gauges that look like counters. */
export function collectProcessMetrics(registry: Registry, prefix: string): void {
  collectDefaultMetrics({ register: registry, prefix });
  for (const name of TOTAL_NAMED_GAUGES) registry.removeSingleMetric(`${prefix}${name}`);
}
