/**
 * npm run bench:pipeline — one processor (in process, bundled rules, file sink under /tmp) reading Kafka.
 *
 * Phase 1 (drain): BENCH_EVENTS envelopes (default 1,000,000; the reference scenario's four attacks planted
 * in ~40% of them, the rest benign) are published to a fresh topic before the processor starts; it then
 * consumes from the beginning. Reported: sustained events/s from its first to its last event, and where the
 * time went (engine, checkpoints, batches) from its own metrics.
 * Phase 2 (steady): BENCH_RATE events/s (default 5,000) for BENCH_STEADY_S seconds (default 30), each event
 * stamped with its produce time. Reported: event→alert latency p50/p99, from the produce time of the event
 * that completed the alert to (a) the alert's arrival on the alerts topic and (b) its detectedAt.
 *
 * KAFKA_BROKERS selects the broker; without it the test harness starts the services for the run.
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createProcessor } from '../cli/commands/processor.ts';
import type { Alert } from '../engine/index.ts';
import { servicesModeFromEnv, startServices, stopResources } from '../test/harness/services.ts';
import {
  alertOf,
  eventRecords,
  metricValue,
  processorConfig,
  removeDir,
  scrapeMetrics,
  tempDir,
} from '../test/support/pipeline.ts';
import { referenceScenario, type WireEvent } from '../test/support/scenarios.ts';
import { createTransport, type OutboundRecord, type Producer } from '../transport/index.ts';
import { dropTransportResources, isolatedTransportConfig, silentLogger } from '../transport/testing/index.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const RATE = Number(process.env.BENCH_RATE ?? 5_000);
const STEADY_S = Number(process.env.BENCH_STEADY_S ?? 30);
const PARTITIONS = 6;
/** Sessions per rule per scenario copy; ~9.5k events per copy with 20 benign events per session. */
const SESSIONS_PER_RULE = 50;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Scenario copies with distinct ids, generated lazily so a million events never sit in memory at once. */
function* scenarioCopies(label: string): Generator<WireEvent[]> {
  for (let copy = 0; ; copy++) {
    yield referenceScenario({
      runId: `${label}${copy}`,
      sessionsPerRule: SESSIONS_PER_RULE,
      startMs: Date.now() - 60 * 60_000,
      benignPerSession: 20,
    });
  }
}

async function prePublish(producer: Producer, count: number): Promise<number> {
  let published = 0;
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (const events of scenarioCopies('d')) {
    const records = eventRecords(events.slice(0, count - published));
    for (let start = 0; start < records.length; start += 5_000) {
      inFlight.push(producer.publish(records.slice(start, start + 5_000)));
      // A few publishes in flight keep the broker busy without holding everything in memory.
      if (inFlight.length >= 4) await inFlight.shift();
    }
    published += records.length;
    if (published >= count) break;
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - started) / 1000;
  console.log(`published ${published} events in ${seconds.toFixed(1)} s (${rate(published, seconds)} /s)`);
  return published;
}

function rate(count: number, seconds: number): string {
  return Math.round(count / seconds).toLocaleString('en-US');
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Snapshot {
  at: number;
  events: number;
  batches: number;
  evaluationS: number;
  checkpointS: number;
  cpuMs: number;
}

async function snapshot(address: string): Promise<Snapshot> {
  const text = await scrapeMetrics(address);
  const cpu = process.cpuUsage();
  return {
    at: performance.now(),
    events: metricValue(text, 'edr_processor_events_total'),
    batches: metricValue(text, 'edr_processor_batches_total', { result: 'ok' }),
    evaluationS: metricValue(text, 'edr_processor_rule_evaluation_seconds_sum'),
    checkpointS: metricValue(text, 'edr_processor_checkpoint_seconds_sum'),
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
}

async function main(): Promise<void> {
  const owned = process.env.KAFKA_BROKERS
    ? undefined
    : await startServices({ mode: servicesModeFromEnv(), detached: false });
  for (const endpoint of owned?.endpoints ?? []) {
    if (endpoint.name === 'kafka') process.env.KAFKA_BROKERS = endpoint.url;
  }
  const transportConfig = isolatedTransportConfig('kafka', { kafka: { partitions: PARTITIONS } });
  const publisher = createTransport(transportConfig, { logger: silentLogger });
  const directory = await tempDir('bench-pipeline');
  const config = processorConfig(transportConfig, {
    group: `bench-${randomUUID()}`,
    directory,
    processor: { logLevel: 'warn' },
  });
  const log = pino({ level: 'warn' });
  const processor = createProcessor(config, log);
  try {
    const producer = publisher.createProducer();
    await producer.connect();
    const total = await prePublish(producer, EVENTS);

    // Phase 1: drain the backlog.
    await processor.start();
    let first: Snapshot | undefined;
    let last = await snapshot(processor.address);
    while (last.events < total) {
      await sleep(250);
      last = await snapshot(processor.address);
      if (!first && last.events > 0) first = last;
    }
    const base = first!;
    const seconds = (last.at - base.at) / 1000;
    const drained = last.events - base.events;
    const batches = last.batches - base.batches;
    console.log(
      [
        `drain: ${total} events; ${rate(drained, seconds)} events/s sustained over ${seconds.toFixed(1)} s`,
        `  batches ${batches} (avg ${Math.round(drained / Math.max(1, batches))} events)`,
        `  engine ${(((last.evaluationS - base.evaluationS) / seconds) * 100).toFixed(1)}% of wall time, ` +
          `checkpoints ${(((last.checkpointS - base.checkpointS) / seconds) * 100).toFixed(1)}%`,
        `  process CPU ${(((last.cpuMs - base.cpuMs) / 1000 / seconds) * 100).toFixed(0)}% of one core`,
      ].join('\n'),
    );

    // Phase 2: steady rate; latency measured on the alerts topic and from detectedAt.
    const producedAt = new Map<string, number>();
    const arrivals: number[] = [];
    const detections: number[] = [];
    const reader = publisher.createConsumer({ stream: 'alerts', group: `bench-alerts-${randomUUID()}` });
    await reader.start(async (batch) => {
      const now = Date.now();
      for (const message of batch.messages) {
        const alert: Alert = alertOf(message);
        const sent = producedAt.get(alert.eventIds.at(-1) ?? '');
        if (sent === undefined) continue; // a phase-1 alert
        arrivals.push(now - sent);
        detections.push(Date.parse(alert.detectedAt) - sent);
      }
    });
    const tick = 100;
    const perTick = Math.round((RATE * tick) / 1000);
    const copies = scenarioCopies('s');
    let pending: WireEvent[] = [];
    let sent = 0;
    const steadyStart = performance.now();
    const inFlight = new Set<Promise<void>>();
    for (let next = steadyStart; performance.now() - steadyStart < STEADY_S * 1000; next += tick) {
      if (pending.length < perTick) pending = pending.concat(copies.next().value as WireEvent[]);
      const now = Date.now();
      const stamp = new Date(now).toISOString();
      const events: WireEvent[] = pending.splice(0, perTick).map((event) => ({ ...event, timestamp: stamp }));
      const records: OutboundRecord[] = eventRecords(events, new Date(now));
      for (const event of events) producedAt.set(String(event.eventId), now);
      const publish = producer.publish(records).finally(() => inFlight.delete(publish));
      inFlight.add(publish);
      sent += events.length;
      await sleep(Math.max(0, next + tick - performance.now()));
    }
    await Promise.all(inFlight);
    const steadySeconds = (performance.now() - steadyStart) / 1000;
    await sleep(3_000); // the last alerts
    await reader.close();
    arrivals.sort((a, b) => a - b);
    detections.sort((a, b) => a - b);
    console.log(
      [
        `steady: ${sent} events at ${rate(sent, steadySeconds)} events/s for ${steadySeconds.toFixed(1)} s; ` +
          `${arrivals.length} alerts`,
        `  event→alert on the alerts topic: p50 ${percentile(arrivals, 50)} ms, p99 ${percentile(arrivals, 99)} ms`,
        `  event→detectedAt:               p50 ${percentile(detections, 50)} ms, p99 ${percentile(detections, 99)} ms`,
        '',
        `machine: ${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}, ` +
          `load average ${loadavg()
            .map((value) => value.toFixed(2))
            .join(' ')}`,
        `sink: file (events and alerts) under ${join(directory, 'sinks')}; ${PARTITIONS} partitions`,
      ].join('\n'),
    );
  } finally {
    await processor.stop().catch(() => undefined);
    await publisher.close();
    await dropTransportResources(transportConfig);
    await removeDir(directory);
    if (owned) await stopResources(owned.resources);
  }
}

await main();
