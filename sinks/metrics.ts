import { Counter, Gauge, type Registry } from 'prom-client';
import type { RouteStats, SinkRouter } from './router.ts';

/** What the sink metrics read at each scrape: a SinkRouter. */
export type SinkMetricsSource = Pick<SinkRouter, 'stats'>;

type MetricType = 'counter' | 'gauge';

/** What one route contributes to a metric: label values and the value, per sample. */
type Samples<L extends string> = (route: RouteStats) => Array<[Record<L, string>, number]>;

/** The metrics labelled by sink alone, each read off the route's stats. Counters count since start. */
const PER_SINK: ReadonlyArray<[MetricType, string, string, (route: RouteStats) => number]> = [
  ['counter', 'edr_sink_items_written_total', 'Items a sink confirmed written', (r) => r.written],
  [
    'counter',
    'edr_sink_items_duplicate_total',
    'Items a sink already held (an earlier delivery of the same id)',
    (r) => r.duplicates,
  ],
  ['counter', 'edr_sink_requests_total', 'Write requests sent to a sink', (r) => r.requests],
  ['counter', 'edr_sink_retries_total', 'Retries after a failed write (outages included)', (r) => r.retries],
  ['gauge', 'edr_sink_pending_items', 'Items handed to a sink and not yet final', (r) => r.pendingItems],
  [
    'gauge',
    'edr_sink_oldest_pending_seconds',
    'How long the oldest item handed to a sink and not yet final has waited; 0 when none waits',
    (r) => r.oldestPendingMs / 1000,
  ],
  ['gauge', 'edr_sink_in_flight_requests', 'Write requests in flight', (r) => r.inFlightRequests],
  [
    'gauge',
    'edr_sink_ready',
    '1 while the sink is ready (as /readyz sees it), else 0',
    (r) => (r.ready ? 1 : 0),
  ],
  [
    'gauge',
    'edr_sink_failing_seconds',
    'How long the sink has been failing (its items wait); 0 while it works',
    (r) => r.failingMs / 1000,
  ],
];

const CIRCUIT_STATES = ['closed', 'half-open', 'open'] as const;

/**
 * Registers the sink metrics on `registry` (the processor's /metrics), read from `router.stats()` when
 * scraped: PER_SINK, plus
 * - `edr_sink_dead_letters_total{sink,reason}`: reason is the failure code (`document_parsing_exception`,
 *   `http_400`, `queue_full`, `retries_exhausted`, ...);
 * - `edr_sink_circuit_state{sink,endpoint,state}`: 1 for each webhook endpoint's current circuit state;
 * - `edr_sink_purged_rows_total{sink,table}`: rows the SQLite sink's retention deleted, per table.
 */
export function registerSinkMetrics(registry: Registry, router: SinkMetricsSource): void {
  const register = <L extends string>(
    type: MetricType,
    name: string,
    help: string,
    labelNames: readonly L[],
    samples: Samples<L>,
  ): void => {
    // After a reset, adding the value sets it: one collect serves counters and gauges.
    const collect = function (this: Counter<L> | Gauge<L>) {
      this.reset();
      for (const route of router.stats()) {
        for (const [labels, value] of samples(route)) this.inc(labels, value);
      }
    };
    const config = { name, help, labelNames, registers: [registry], collect };
    if (type === 'counter') new Counter(config);
    else new Gauge(config);
  };

  for (const [type, name, help, value] of PER_SINK) {
    register(type, name, help, ['sink'], (route) => [[{ sink: route.name }, value(route)]]);
  }
  register(
    'counter',
    'edr_sink_dead_letters_total',
    'Items dead-lettered, by sink and failure code',
    ['sink', 'reason'],
    (route) =>
      Object.entries(route.deadLettersByCode).map(([reason, count]) => [{ sink: route.name, reason }, count]),
  );
  register(
    'gauge',
    'edr_sink_circuit_state',
    'Circuit breaker state per webhook endpoint: 1 for the current state',
    ['sink', 'endpoint', 'state'],
    (route) =>
      circuitStates(route).flatMap(([endpoint, current]) =>
        CIRCUIT_STATES.map((state): [Record<'sink' | 'endpoint' | 'state', string>, number] => [
          { sink: route.name, endpoint, state },
          state === current ? 1 : 0,
        ]),
      ),
  );
  register(
    'counter',
    'edr_sink_purged_rows_total',
    'Rows deleted by retention (SQLite), by sink and table',
    ['sink', 'table'],
    (route) => purgedRows(route).map(([table, rows]) => [{ sink: route.name, table }, rows]),
  );
}

/** The `purgedRows` a sink reports in its stats (SQLite): table → rows deleted since start. */
function purgedRows(route: RouteStats): Array<[string, number]> {
  const purged = route.sink?.purgedRows;
  if (typeof purged !== 'object' || purged === null) return [];
  return Object.entries(purged).flatMap(([table, rows]) => (typeof rows === 'number' ? [[table, rows]] : []));
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
