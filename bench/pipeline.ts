/**
 * npm run bench:pipeline — one processor (in process, bundled rules, file sink under /tmp) reading Kafka.
 *
 * Phase 1 (drain): BENCH_EVENTS envelopes (default 1,000,000; the reference scenario's four attacks planted
 * in ~40% of them, the rest benign) are published to a fresh topic before the processor starts; it then
 * consumes from the beginning. Reported: sustained events/s from its first to its last event, and where the
 * time went (engine, checkpoints, batches) from its own metrics.
 * The engine alone (decodeEvent and one engine, no transport or sinks) then runs over the same corpus in this
 * process, and each drain is printed as a ratio of its rate too.
 * Phase 2 (steady), once per live-session count of BENCH_STEADY_SESSIONS (default "1000,100000"): that many
 * sessions are first put in the processor's state (one event each), then BENCH_RATE events/s (default 5,000)
 * flow for BENCH_STEADY_S seconds (default 30), each event stamped with its produce time. Reported: event→alert
 * latency p50/p99, from the produce time of the event that completed the alert to (a) the alert's arrival on
 * the alerts topic and (b) its detectedAt, and the checkpoint entries and bytes written per interval.
 *
 * Each Kafka client of BENCH_KAFKA_CLIENTS (default "kafkajs,platformatic") drains the same topic with a group of
 * its own; Kafka's ConsumerPerformance then reads the same topic, and each drain is printed as a ratio of it.
 * Then `clawdstrike-edr processor` runs as a child with each processor.workers value of BENCH_PROCESSOR_WORKERS
 * (default "1,2"), again a fresh group over the same topic, its rate summed over the workers' metrics.
 * The steady phase (first client) also sends alert_soc webhooks to a local receiver: event→webhook latency.
 *
 * KAFKA_BROKERS selects the broker; without it the test harness starts the services for the run.
 */
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createProcessor } from '../cli/commands/processor.ts';
import { BUNDLED_RULES } from '../cli/lib/inputs.ts';
import { type Alert, createEngine, loadRules } from '../engine/index.ts';
import { decodeEvent } from '../processor/decode.ts';
import type { Processor, ProcessorConfig } from '../processor/index.ts';
import { servicesModeFromEnv, startServices, stopResources } from '../test/harness/services.ts';
import { ScriptedHttpServer } from '../test/support/http-server.ts';
import {
  alertOf,
  eventRecords,
  metricValue,
  processorConfig,
  removeDir,
  scrapeMetrics,
  spawnProcessor,
  stopChild,
  tempDir,
  writeConfigFile,
} from '../test/support/pipeline.ts';
import { referenceScenario, type WireEvent } from '../test/support/scenarios.ts';
import {
  createTransport,
  type OutboundRecord,
  type Producer,
  type TransportConfig,
} from '../transport/index.ts';
import { dropTransportResources, isolatedTransportConfig, silentLogger } from '../transport/testing/index.ts';
import { consumerTool } from './kafka-perf.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const RATE = Number(process.env.BENCH_RATE ?? 5_000);
const STEADY_S = Number(process.env.BENCH_STEADY_S ?? 30);
const KAFKA_CLIENTS = (process.env.BENCH_KAFKA_CLIENTS ?? 'kafkajs,platformatic').split(',');
const numbers = (list: string) => list.split(',').filter(Boolean).map(Number);
const PROCESSOR_WORKERS = numbers(process.env.BENCH_PROCESSOR_WORKERS ?? '1,2');
const STEADY_SESSIONS = numbers(process.env.BENCH_STEADY_SESSIONS ?? '1000,100000');
const WEBHOOK_SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const PARTITIONS = 6;
/** Sessions per rule per scenario copy; ~9.5k events per copy with 20 benign events per session. */
const SESSIONS_PER_RULE = 50;
const AGENTS_PER_COPY = 24;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Scenario copies with distinct ids, generated lazily so a million events never sit in memory at once. */
function* scenarioCopies(label: string): Generator<WireEvent[]> {
  for (let copy = 0; ; copy++) {
    yield referenceScenario({
      runId: `${label}${copy}`,
      sessionsPerRule: SESSIONS_PER_RULE,
      // Events are keyed by agent: enough agents per copy to spread every copy over the partitions.
      agents: AGENTS_PER_COPY,
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

interface Drain {
  label: string;
  events: number;
  seconds: number;
  rate: number;
  load: number;
}

/**
 * Polls the given metrics endpoints until their events sum to `total`; the rate runs from when every endpoint
 * has handled an event to the last event.
 */
async function drainRate(addresses: () => readonly string[], total: number, label: string): Promise<Drain> {
  const sum = async () => {
    const snapshots = await Promise.all(addresses().map((address) => snapshot(address)));
    return {
      at: performance.now(),
      events: snapshots.reduce((n, one) => n + one.events, 0),
      snapshots,
    };
  };
  let first: Awaited<ReturnType<typeof sum>> | undefined;
  let last = await sum();
  while (last.events < total) {
    await sleep(250);
    last = await sum();
    // Several workers: from when every one of them has started, past the first rebalance.
    if (!first && last.snapshots.every((one) => one.events > 0)) first = last;
  }
  const base = first ?? last;
  const seconds = (last.at - base.at) / 1000;
  const drained = last.events - base.events;
  // Where the time went, for the in-process processor (its CPU is this process's).
  const one = last.snapshots.length === 1 && label.includes('in process') ? last.snapshots[0] : undefined;
  const baseOne = base.snapshots.length === 1 ? base.snapshots[0] : undefined;
  const lines = [
    `drain: ${total} events; ${rate(drained, seconds)} events/s sustained over ${seconds.toFixed(1)} s (${label})`,
  ];
  if (one && baseOne) {
    const batches = one.batches - baseOne.batches;
    lines.push(
      `  batches ${batches} (avg ${Math.round(drained / Math.max(1, batches))} events)`,
      `  engine ${(((one.evaluationS - baseOne.evaluationS) / seconds) * 100).toFixed(1)}% of wall time, ` +
        `partition checkpoints ${(((one.checkpointS - baseOne.checkpointS) / seconds) * 100).toFixed(1)}% ` +
        '(summed: the partitions save at once)',
      `  process CPU ${(((one.cpuMs - baseOne.cpuMs) / 1000 / seconds) * 100).toFixed(0)}% of one core`,
    );
  }
  console.log(lines.join('\n'));
  return { label, events: drained, seconds, rate: drained / seconds, load: loadavg()[0]! };
}

function withClient(transport: TransportConfig, client: string): TransportConfig {
  return {
    ...transport,
    kafka: { ...transport.kafka, client: client as TransportConfig['kafka']['client'] },
  };
}

/** One in-process processor of `client` drains the topic from the beginning with a group of its own. */
async function drainInProcess(
  transportConfig: TransportConfig,
  client: string,
  directory: string,
  total: number,
): Promise<Drain> {
  const config = processorConfig(withClient(transportConfig, client), {
    group: `bench-${client}-${randomUUID()}`,
    directory: join(directory, client),
    processor: { logLevel: 'warn' },
  });
  const processor = createProcessor(config, pino({ level: 'warn' }));
  try {
    await processor.start();
    return await drainRate(() => [processor.address], total, `${client}, in process`);
  } finally {
    await processor.stop().catch(() => undefined);
  }
}

/** `clawdstrike-edr processor` with processor.workers = N as a child: the rate summed over its workers. */
async function drainWithWorkers(
  transportConfig: TransportConfig,
  workers: number,
  directory: string,
  total: number,
): Promise<Drain> {
  const folder = join(directory, `workers-${workers}`);
  await mkdir(folder, { recursive: true });
  const config: ProcessorConfig = processorConfig(transportConfig, {
    group: `bench-workers-${workers}-${randomUUID()}`,
    directory: folder,
    processor: { logLevel: 'info', workers },
  });
  const child = spawnProcessor(await writeConfigFile(folder, 'processor.yaml', config));
  try {
    const addresses = new Set<string>();
    const listening = () => {
      for (const line of child.output().split('\n')) {
        if (!line.includes('health and metrics listening')) continue;
        const address = (JSON.parse(line) as { address?: string }).address;
        if (address) addresses.add(address);
      }
      return [...addresses];
    };
    while (listening().length < workers) {
      if (child.child.exitCode !== null)
        throw new Error(`processor exited:\n${child.output().slice(-2_000)}`);
      await sleep(250);
    }
    return await drainRate(listening, total, `clawdstrike-edr processor, processor.workers=${workers}`);
  } finally {
    await stopChild(child);
  }
}

/**
 * The processor's hot path without transport or sinks: each record of the same corpus decoded as the processor
 * decodes it, then evaluated by one engine with the bundled rules, on the wall clock as in the processor.
 */
function engineRate(total: number): { seconds: number; alerts: number } {
  const loaded = loadRules([BUNDLED_RULES]);
  if (!loaded.ok) throw new Error(`bundled rules do not load: ${JSON.stringify(loaded.error)}`);
  const engine = createEngine({ rules: loaded.value, clock: () => Date.now() });
  let left = total;
  let alerts = 0;
  let seconds = 0;
  for (const events of scenarioCopies('d')) {
    const values = eventRecords(events.slice(0, left)).map((record) => record.value);
    const received = Date.now();
    const started = performance.now();
    for (const value of values) {
      const decoded = decodeEvent(value, received);
      if (decoded.ok) alerts += engine.process(decoded.event).length;
    }
    seconds += (performance.now() - started) / 1000;
    left -= values.length;
    if (left <= 0) break;
  }
  return { seconds, alerts };
}

/** Puts `count` new sessions in the processor's state, one benign event each, and waits until they are in. */
async function fillSessions(producer: Producer, processor: Processor, count: number): Promise<number> {
  if (count <= 0) return 0;
  const before = await sessionsLive(processor.address);
  const now = new Date();
  const stamp = now.toISOString();
  const run = randomUUID().slice(0, 8);
  for (let start = 0; start < count; start += 5_000) {
    const events: WireEvent[] = [];
    for (let index = start; index < Math.min(count, start + 5_000); index++) {
      events.push({
        eventId: `fill-${run}-${index}`,
        eventType: 'file_write',
        timestamp: stamp,
        sessionId: `fill-${run}-${index}`,
        data: { type: 'file', path: './build/fill.txt', operation: 'write' },
        metadata: { source: 'test', agentId: `fill-agent-${index % 1_000}` },
      });
    }
    await producer.publish(eventRecords(events, now));
  }
  while ((await sessionsLive(processor.address)) < before + count) await sleep(250);
  return count;
}

async function sessionsLive(address: string): Promise<number> {
  return metricValue(await scrapeMetrics(address), 'edr_processor_state_size', { kind: 'sessions' });
}

/**
 * Steady phases on one processor: alerts are read from the alerts topic by one consumer for all phases, each
 * phase matching them to the produce times of its own events.
 */
class SteadyPhases {
  readonly #receiver: ScriptedHttpServer;
  readonly #reader;
  #producedAt = new Map<string, number>();
  #alertSentAt = new Map<string, number>();
  #arrivals: number[] = [];
  #detections: number[] = [];
  readonly #copies = scenarioCopies('s');
  readonly #checkpointIntervalMs: number;

  constructor(
    publisher: ReturnType<typeof createTransport>,
    receiver: ScriptedHttpServer,
    checkpointIntervalMs: number,
  ) {
    this.#receiver = receiver;
    this.#checkpointIntervalMs = checkpointIntervalMs;
    // From the end: reading the drains' alerts first would take this process's CPU from the processor.
    this.#reader = publisher.createConsumer({
      stream: 'alerts',
      group: `bench-alerts-${randomUUID()}`,
      fromBeginning: false,
    });
  }

  async start(): Promise<void> {
    await this.#reader.start(async (batch) => {
      const now = Date.now();
      for (const message of batch.messages) {
        const alert: Alert = alertOf(message);
        const sent = this.#producedAt.get(alert.eventIds.at(-1) ?? '');
        if (sent === undefined) continue; // not an alert of this phase's events
        this.#alertSentAt.set(alert.alertId, sent);
        this.#arrivals.push(now - sent);
        this.#detections.push(Date.parse(alert.detectedAt) - sent);
      }
    });
  }

  async close(): Promise<void> {
    await this.#reader.close();
  }

  /** RATE events/s for STEADY_S seconds; the report of the phase. */
  async run(producer: Producer, processor: Processor, liveSessions: number): Promise<string> {
    this.#producedAt = new Map();
    this.#alertSentAt = new Map();
    this.#arrivals = [];
    this.#detections = [];
    const webhooksBefore = this.#receiver.requests.length;
    const metricsBefore = await scrapeMetrics(processor.address);
    const tick = 100;
    const perTick = Math.round((RATE * tick) / 1000);
    let pending: WireEvent[] = [];
    let sent = 0;
    const steadyStart = performance.now();
    const inFlight = new Set<Promise<void>>();
    for (let next = steadyStart; performance.now() - steadyStart < STEADY_S * 1000; next += tick) {
      if (pending.length < perTick) pending = pending.concat(this.#copies.next().value as WireEvent[]);
      const now = Date.now();
      const stamp = new Date(now).toISOString();
      const events: WireEvent[] = pending.splice(0, perTick).map((event) => ({ ...event, timestamp: stamp }));
      const records: OutboundRecord[] = eventRecords(events, new Date(now));
      for (const event of events) this.#producedAt.set(String(event.eventId), now);
      const publish = producer.publish(records).finally(() => inFlight.delete(publish));
      inFlight.add(publish);
      sent += events.length;
      await sleep(Math.max(0, next + tick - performance.now()));
    }
    await Promise.all(inFlight);
    const steadySeconds = (performance.now() - steadyStart) / 1000;
    await sleep(3_000); // the last alerts
    const metricsAfter = await scrapeMetrics(processor.address);
    const delta = (name: string) => metricValue(metricsAfter, name) - metricValue(metricsBefore, name);
    const intervals = (steadySeconds * 1000) / this.#checkpointIntervalMs;
    const arrivals = [...this.#arrivals].sort((a, b) => a - b);
    const detections = [...this.#detections].sort((a, b) => a - b);
    const webhooks = this.#receiver.requests
      .slice(webhooksBefore)
      .flatMap((request) => {
        const body = JSON.parse(request.body.toString()) as { alertId: string };
        const sentAt = this.#alertSentAt.get(body.alertId);
        return sentAt === undefined ? [] : [request.at - sentAt];
      })
      .sort((a, b) => a - b);
    return [
      `steady with ${liveSessions.toLocaleString('en-US')} live sessions in state: ${sent} events at ${rate(sent, steadySeconds)} events/s for ${steadySeconds.toFixed(1)} s; ` +
        `${arrivals.length} alerts; load ${loadavg()[0]!.toFixed(1)}`,
      `  event→alert on the alerts topic: p50 ${percentile(arrivals, 50)} ms, p99 ${percentile(arrivals, 99)} ms`,
      `  event→detectedAt:               p50 ${percentile(detections, 50)} ms, p99 ${percentile(detections, 99)} ms`,
      `  event→webhook delivery (${webhooks.length} alert_soc): p50 ${percentile(webhooks, 50)} ms, p99 ${percentile(webhooks, 99)} ms`,
      `  checkpoints per ${this.#checkpointIntervalMs / 1000} s interval: ${Math.round(delta('edr_processor_checkpoint_entries_total') / intervals).toLocaleString('en-US')} entries, ` +
        `${(delta('edr_processor_checkpoint_written_bytes_total') / intervals / 1024).toFixed(0)} KiB written, ` +
        `${((delta('edr_processor_checkpoint_seconds_sum') / intervals) * 1000).toFixed(0)} ms spent`,
    ].join('\n');
  }
}

async function main(): Promise<void> {
  const owned = process.env.KAFKA_BROKERS
    ? undefined
    : await startServices({ mode: servicesModeFromEnv(), detached: false });
  for (const endpoint of owned?.endpoints ?? []) {
    if (endpoint.name === 'kafka') process.env.KAFKA_BROKERS = endpoint.url;
  }
  const transportConfig = isolatedTransportConfig('kafka', {
    // A loaded shared host can take longer than the default 5 s to acknowledge a 5,000-record publish.
    publishTimeoutMs: 30_000,
    kafka: { partitions: PARTITIONS },
  });
  const publisher = createTransport(transportConfig, { logger: silentLogger });
  const directory = await tempDir('bench-pipeline');
  const receiver = await ScriptedHttpServer.start(() => ({ status: 200 }));
  const steadyClient = KAFKA_CLIENTS[0] ?? 'kafkajs';
  const config = processorConfig(withClient(transportConfig, steadyClient), {
    group: `bench-${randomUUID()}`,
    directory,
    processor: { logLevel: 'warn', fromBeginning: false },
    sinks: [
      { type: 'file', directory: join(directory, 'sinks') },
      { type: 'webhook', secret: WEBHOOK_SECRET, actions: { alert_soc: { url: `${receiver.url}/soc` } } },
    ],
  });
  const log = pino({ level: 'warn' });
  const processor = createProcessor(config, log);
  try {
    const producer = publisher.createProducer();
    await producer.connect();
    const total = await prePublish(producer, EVENTS);

    // Phase 1: drain the backlog, once per Kafka client, then Kafka's consumer tool on the same topic.
    const drains: Drain[] = [];
    for (const client of KAFKA_CLIENTS)
      drains.push(await drainInProcess(transportConfig, client, directory, total));
    const tool = await consumerTool({
      brokers: transportConfig.kafka.brokers.join(','),
      topic: transportConfig.names.events,
      messages: total,
    });
    console.log(`ConsumerPerformance: ${tool.summary}`);
    const engineAlone = engineRate(total);
    console.log(
      `engine alone (decodeEvent + one engine, bundled rules): ${rate(total, engineAlone.seconds)} events/s over ${total} events, load ${loadavg()[0]!.toFixed(1)}`,
    );
    for (const drain of drains) {
      console.log(
        `  ${drain.label}: ${rate(drain.events, drain.seconds)} events/s = ${(drain.rate / tool.recordsPerSecond).toFixed(2)}× ConsumerPerformance (${Math.round(tool.recordsPerSecond).toLocaleString('en-US')} records/s) = ${(drain.rate / (total / engineAlone.seconds)).toFixed(2)}× the engine alone, load ${drain.load.toFixed(1)}`,
      );
    }
    const byWorkers: Drain[] = [];
    for (const workers of PROCESSOR_WORKERS)
      byWorkers.push(await drainWithWorkers(transportConfig, workers, directory, total));
    const one = byWorkers.find((drain) => drain.label.endsWith('workers=1'));
    for (const drain of byWorkers) {
      console.log(
        `  ${drain.label}: ${rate(drain.events, drain.seconds)} events/s` +
          (one ? ` = ${(drain.rate / one.rate).toFixed(2)}× workers=1` : '') +
          `, load ${drain.load.toFixed(1)}`,
      );
    }

    // Phase 2: a steady rate over each state size, in a group of its own that starts at the end.
    await processor.start();
    await sleep(2_000);
    const steady = new SteadyPhases(publisher, receiver, config.processor.checkpointIntervalMs);
    await steady.start();
    let live = 0;
    for (const sessions of STEADY_SESSIONS) {
      live += await fillSessions(producer, processor, sessions - live);
      // The fill's own checkpoint lands before the measured phase, which then shows the steady cost alone.
      await sleep(config.processor.checkpointIntervalMs + 2_000);
      console.log(await steady.run(producer, processor, live));
    }
    await steady.close();
    console.log(
      [
        '',
        `machine: ${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}, ` +
          `load average ${loadavg()
            .map((value) => value.toFixed(2))
            .join(' ')}`,
        `sinks: file (events and alerts) under ${join(directory, 'sinks')}, webhook alert_soc to a local receiver; ${PARTITIONS} partitions`,
      ].join('\n'),
    );
  } finally {
    await processor.stop().catch(() => undefined);
    await receiver.close();
    await publisher.close();
    await dropTransportResources(transportConfig);
    await removeDir(directory);
    if (owned) await stopResources(owned.resources);
  }
}

await main();
