import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics } from '../core/process-metrics.ts';
import type { EngineStats } from '../engine/index.ts';
import { registerSinkMetrics, type SinkMetricsSource } from '../sinks/index.ts';
import type { PartitionLag } from '../transport/index.ts';
import type { InFlight } from './in-flight.ts';

export interface MetricSources {
  lag: () => readonly PartitionLag[];
  engines: () => Promise<Array<{ partition: string; stats: EngineStats }>>;
  sinkPending: () => number;
  /** Batches handed to the sinks and not yet final on all of them. */
  inFlight: Pick<InFlight, 'records' | 'batches' | 'oldestMs'>;
  journalBytes: () => number;
  /** The sink router: per-sink written, retries, dead letters by reason, readiness, circuits (edr_sink_*). */
  sinks?: SinkMetricsSource;
}

export type ProcessorMetrics = ReturnType<typeof createProcessorMetrics>['metrics'];

/** Every processor metric on its own registry; gauges read their sources when scraped. */
export function createProcessorMetrics(sources: MetricSources) {
  const registry = new Registry();
  const registers = [registry];
  collectProcessMetrics(registry, 'edr_processor_');
  if (sources.sinks) registerSinkMetrics(registry, sources.sinks);
  const metrics = {
    events: new Counter({
      name: 'edr_processor_events_total',
      help: 'Events decoded and run through the engine',
      registers,
    }),
    alerts: new Counter({
      name: 'edr_processor_alerts_total',
      help: 'Alerts emitted, by rule and severity',
      labelNames: ['rule', 'severity'] as const,
      registers,
    }),
    deadLettered: new Counter({
      name: 'edr_processor_dlq_total',
      help: 'Poison records sent to the dead-letter stream',
      registers,
    }),
    batches: new Counter({
      name: 'edr_processor_batches_total',
      help: 'Batches handled, by result',
      labelNames: ['result'] as const,
      registers,
    }),
    evaluationSeconds: new Histogram({
      name: 'edr_processor_rule_evaluation_seconds',
      help: 'Engine time per batch (sessions, rules, correlation, enrichment)',
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    }),
    checkpointSeconds: new Histogram({
      name: 'edr_processor_checkpoint_seconds',
      help: 'Time to take and save one partition checkpoint',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    }),
    checkpointFailures: new Counter({
      name: 'edr_processor_checkpoint_failures_total',
      help: 'Checkpoints not saved (stage save) and offset commits that failed (stage commit)',
      labelNames: ['stage'] as const,
      registers,
    }),
    checkpointBytes: new Gauge({
      name: 'edr_processor_checkpoint_bytes',
      help: 'Size of the partition state as its last checkpoint left it in the store (every entry, bytes)',
      labelNames: ['partition'] as const,
      registers,
    }),
    checkpointWrittenBytes: new Counter({
      name: 'edr_processor_checkpoint_written_bytes_total',
      help: 'Bytes checkpoints wrote to the store (entries changed, their redo log, the markers)',
      registers,
    }),
    checkpointEntries: new Counter({
      name: 'edr_processor_checkpoint_entries_total',
      help: 'State entries checkpoints wrote or removed (only those changed since the last checkpoint)',
      registers,
    }),
    restoreSeconds: new Histogram({
      name: 'edr_processor_restore_seconds',
      help: 'Time to read a partition checkpoint and put its state back into the engine',
      buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30],
      registers,
    }),
    rollbacks: new Counter({
      name: 'edr_processor_rollbacks_total',
      help: 'Failed batches taken back out of their partition engine before redelivery, by result',
      labelNames: ['result'] as const,
      registers,
    }),
    restoreFailures: new Counter({
      name: 'edr_processor_checkpoint_restore_failures_total',
      help: 'Checkpoints that could not be read; the partition state started empty',
      registers,
    }),
    paused: new Gauge({
      name: 'edr_processor_paused',
      help: '1 while consumption is paused because sinks are saturated',
      registers,
    }),
    checkpointsDeferred: new Counter({
      name: 'edr_processor_checkpoints_deferred_total',
      help: 'Due checkpoints put off because the batches in flight did not become final in time (a slow sink)',
      registers,
    }),
    redeliveries: new Counter({
      name: 'edr_processor_sink_redeliveries_total',
      help: 'Batches sent to a sink again after its delivery failed (its dead letters could not be written), or their alerts to the alerts stream (sink="alerts stream")',
      labelNames: ['sink'] as const,
      registers,
    }),
    rekeyed: new Counter({
      name: 'edr_processor_rekeyed_records_total',
      help: 'Events records not keyed by their agentId, re-keyed into the repartition topic, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    reloads: new Counter({
      name: 'edr_processor_reloads_total',
      help: 'Rule/intel/asset reloads, by result',
      labelNames: ['result'] as const,
      registers,
    }),
  };
  new Gauge({
    name: 'edr_processor_consumer_lag',
    help: 'Records behind the end of each assigned partition, counted from the last record final on every sink',
    labelNames: ['partition'] as const,
    registers,
    collect() {
      this.reset();
      for (const { partition, lag } of sources.lag()) this.set({ partition }, lag);
    },
  });
  new Gauge({
    name: 'edr_processor_sink_pending_items',
    help: 'Items handed to sinks and not yet finalized',
    registers,
    collect() {
      this.set(sources.sinkPending());
    },
  });
  new Gauge({
    name: 'edr_processor_in_flight_records',
    help: 'Records evaluated and handed to the sinks, not yet final on every sink (bounded by maxInFlightRecords)',
    registers,
    collect() {
      this.set(sources.inFlight.records);
    },
  });
  new Gauge({
    name: 'edr_processor_in_flight_batches',
    help: 'Batches evaluated and handed to the sinks, not yet final on every sink',
    registers,
    collect() {
      this.set(sources.inFlight.batches);
    },
  });
  new Gauge({
    name: 'edr_processor_oldest_in_flight_seconds',
    help: 'How long the oldest batch not yet final on every sink has waited; 0 when none (the commit waits for it)',
    registers,
    collect() {
      this.set(sources.inFlight.oldestMs() / 1000);
    },
  });
  new Gauge({
    name: 'edr_processor_rollback_journal_bytes',
    help: 'Bytes of records handled since the last checkpoint, kept to roll a partition engine back',
    registers,
    collect() {
      this.set(sources.journalBytes());
    },
  });
  new Gauge({
    name: 'edr_processor_state_size',
    help: 'Engine state entries per partition and kind (sessions, correlationStates, partialMatches, ...)',
    labelNames: ['partition', 'kind'] as const,
    registers,
    async collect() {
      this.reset();
      for (const { partition, stats } of await sources.engines()) {
        for (const [kind, size] of Object.entries(stats.state)) this.set({ partition, kind }, size);
      }
    },
  });
  // A counter read off the engines' own counts: set by reset + inc, and back to 0 when a partition's engine
  // is rebuilt (a counter reset, which rate() and increase() allow for).
  new Counter({
    name: 'edr_processor_state_evictions_total',
    help: 'How often each engine bound bit, per partition (counts since the engine started)',
    labelNames: ['partition', 'kind'] as const,
    registers,
    async collect() {
      this.reset();
      for (const { partition, stats } of await sources.engines()) {
        for (const [kind, count] of Object.entries(stats.evictions)) this.inc({ partition, kind }, count);
        this.inc({ partition, kind: 'lateEvents' }, stats.lateEvents);
        this.inc({ partition, kind: 'duplicatesDropped' }, stats.duplicatesDropped);
      }
    },
  });
  return { registry, metrics };
}
