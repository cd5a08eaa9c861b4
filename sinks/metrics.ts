import { Counter, Gauge, type Registry } from 'prom-client';
import type { RouteStats, SinkRouter } from './router.ts';

/** What the sink metrics read at each scrape: a SinkRouter. */
export type SinkMetricsSource = Pick<SinkRouter, 'stats'>;

const CIRCUIT_STATES = ['closed', 'half-open', 'open'] as const;

/**
 * Registers the sink metrics on `registry` (the processor's /metrics); every value is read from
 * `router.stats()` when scraped. Counters count since the router started.
 * - `edr_sink_items_written_total{sink}`, `edr_sink_items_duplicate_total{sink}`
 * - `edr_sink_dead_letters_total{sink,reason}`: reason is the failure code (`document_parsing_exception`,
 *   `http_400`, `queue_full`, `retries_exhausted`, ...)
 * - `edr_sink_requests_total{sink}`, `edr_sink_retries_total{sink}`
 * - `edr_sink_pending_items{sink}`, `edr_sink_in_flight_requests{sink}`
 * - `edr_sink_ready{sink}` (1 or 0, as /readyz sees it), `edr_sink_failing_seconds{sink}` (0 while working)
 * - `edr_sink_circuit_state{sink,endpoint,state}`: 1 for each webhook endpoint's current circuit state
 */
export function registerSinkMetrics(registry: Registry, router: SinkMetricsSource): void {
  const registers = [registry];
  const counter = (name: string, help: string, value: (route: RouteStats) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['sink'] as const,
      registers,
      collect() {
        this.reset();
        for (const route of router.stats()) this.inc({ sink: route.name }, value(route));
      },
    });
  const gauge = (name: string, help: string, value: (route: RouteStats) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['sink'] as const,
      registers,
      collect() {
        this.reset();
        for (const route of router.stats()) this.set({ sink: route.name }, value(route));
      },
    });
  counter('edr_sink_items_written_total', 'Items a sink confirmed written', (r) => r.written);
  counter(
    'edr_sink_items_duplicate_total',
    'Items a sink already held (an earlier delivery of the same id)',
    (r) => r.duplicates,
  );
  counter('edr_sink_requests_total', 'Write requests sent to a sink', (r) => r.requests);
  counter('edr_sink_retries_total', 'Retries after a failed write (outages included)', (r) => r.retries);
  gauge('edr_sink_pending_items', 'Items handed to a sink and not yet final', (r) => r.pendingItems);
  gauge('edr_sink_in_flight_requests', 'Write requests in flight', (r) => r.inFlightRequests);
  gauge('edr_sink_ready', '1 while the sink is ready (as /readyz sees it), else 0', (r) => (r.ready ? 1 : 0));
  gauge(
    'edr_sink_failing_seconds',
    'How long the sink has been failing (its items wait); 0 while it works',
    (r) => r.failingMs / 1000,
  );
  new Counter({
    name: 'edr_sink_dead_letters_total',
    help: 'Items dead-lettered, by sink and failure code',
    labelNames: ['sink', 'reason'] as const,
    registers,
    collect() {
      this.reset();
      for (const route of router.stats()) {
        for (const [reason, count] of Object.entries(route.deadLettersByCode)) {
          this.inc({ sink: route.name, reason }, count);
        }
      }
    },
  });
  new Gauge({
    name: 'edr_sink_circuit_state',
    help: 'Circuit breaker state per webhook endpoint: 1 for the current state',
    labelNames: ['sink', 'endpoint', 'state'] as const,
    registers,
    collect() {
      this.reset();
      for (const route of router.stats()) {
        for (const [endpoint, state] of circuitStates(route)) {
          for (const each of CIRCUIT_STATES)
            this.set({ sink: route.name, endpoint, state: each }, each === state ? 1 : 0);
        }
      }
    },
  });
}

/** The `circuits` a sink reports in its stats (webhooks): endpoint → state. */
function circuitStates(route: RouteStats): Array<[string, string]> {
  const circuits = route.sink?.circuits;
  if (typeof circuits !== 'object' || circuits === null) return [];
  return Object.entries(circuits).flatMap(([endpoint, stats]) => {
    const state = (stats as { state?: unknown } | null)?.state;
    return typeof state === 'string' ? [[endpoint, state] as [string, string]] : [];
  });
}
