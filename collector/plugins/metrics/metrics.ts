import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Why records were refused or dropped; whole requests are counted by error code instead. `internal` is an
 * unexpected exception while handling one record (isolated to it, and logged); `forbidden_agent` a record
 * for an agent its sender may not speak for; `stale` a signed record outside its source's replay window;
 * `too_large` a record over the broker's record size; `conflict` an eventId repeated in one request with
 * different content; `after_refused` a record after a refused one in a batch whose sender resends from the
 * refusal (Splunk HEC), left unread so the resend cannot duplicate it.
 */
export const RECORD_REJECT_REASONS = [
  'malformed',
  'invalid',
  'internal',
  'forbidden_agent',
  'stale',
  'too_large',
  'conflict',
  'rate_limited',
  'broker_unavailable',
  'after_refused',
] as const;
export type RecordRejectReason = (typeof RECORD_REJECT_REASONS)[number];

export type CollectorMetrics = ReturnType<typeof createCollectorMetrics>;

/** Every collector metric, registered on the given registry (one per app, so tests can build several). */
export function createCollectorMetrics(registry: Registry) {
  const registers = [registry];
  return {
    requests: new Counter({
      name: 'edr_collector_requests_total',
      help: 'HTTP requests answered, by route pattern and status code',
      labelNames: ['route', 'status'] as const,
      registers,
    }),
    requestsInFlight: new Gauge({
      name: 'edr_collector_requests_in_flight',
      help: 'HTTP requests being handled (ingest requests wait here for the broker acknowledgement); each leaves once its response is sent or its connection is gone',
      registers,
    }),
    requestsRejected: new Counter({
      name: 'edr_collector_requests_rejected_total',
      help: 'Whole requests refused (auth, size, media type, rate limit, broker down), by ingest protocol and error code',
      labelNames: ['protocol', 'code'] as const,
      registers,
    }),
    recordsReceived: new Counter({
      name: 'edr_collector_records_received_total',
      help: 'Records found in request bodies, by ingest protocol',
      labelNames: ['protocol'] as const,
      registers,
    }),
    recordsAccepted: new Counter({
      name: 'edr_collector_records_accepted_total',
      help: 'Records acknowledged by the broker and answered as accepted',
      labelNames: ['protocol'] as const,
      registers,
    }),
    recordsRejected: new Counter({
      name: 'edr_collector_records_rejected_total',
      help: 'Records refused or dropped, by ingest protocol and reason',
      labelNames: ['protocol', 'reason'] as const,
      registers,
    }),
    recordsDeduplicated: new Counter({
      name: 'edr_collector_records_deduplicated_total',
      help: 'Records repeating an eventId already in the same request (accepted, published once)',
      labelNames: ['protocol'] as const,
      registers,
    }),
    recordsPublished: new Counter({
      name: 'edr_collector_records_published_total',
      help: 'Records the broker acknowledged, by logical stream',
      labelNames: ['stream'] as const,
      registers,
    }),
    publishDuration: new Histogram({
      name: 'edr_collector_publish_duration_seconds',
      help: 'Time from publish to the broker acknowledging a request batch',
      labelNames: ['outcome'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    rateLimited: new Counter({
      name: 'edr_collector_rate_limited_total',
      help: 'Rate-limit refusals: per credential (requests), per credential and agent (records), per credential (records)',
      labelNames: ['scope'] as const,
      registers,
    }),
  };
}
