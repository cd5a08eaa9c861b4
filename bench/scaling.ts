/**
 * npm run bench:scaling — the 1k row of docs/scaling.md, counted by id at every stage.
 *
 * `clawdstrike-edr collector` and `clawdstrike-edr processor` run as children (kafkajs, 6 partitions, file and
 * Elasticsearch sinks) on fresh topics and a fresh index prefix; the simulator (the `simulate` command's own
 * Simulation, runner and HTTP sender) sends to the collector: BENCH_AGENTS agents (default 1000) at BENCH_RATE
 * records/s (default 2000) for BENCH_DURATION_S seconds (default 60), seed BENCH_SEED (default 7),
 * BENCH_BATCH_SIZE records per request (default 200, as `simulate`; smaller puts more twins across a request
 * boundary). Once the processor has run every published event and both sinks are idle, each stage is counted
 * by (agentId, eventId): the records of each request, the events topic, the file sink, Elasticsearch (`_count`
 * and every `_id`), and the dead letters. The run fails unless every gap between them is explained:
 * - a repeated (agentId, eventId) within one request with other content is refused (`conflict`);
 * - a repeat in a later request (the simulator's hushd twins, AuditEvent and SecurityEvent of one check, whose
 *   pair fell across a request boundary) is accepted and published again: the engine drops it as a duplicate,
 *   the file sink writes both, Elasticsearch answers 409 for the second (edr_sink_items_duplicate_total).
 *
 * KAFKA_BROKERS and ELASTICSEARCH_URL select the services; without them the test harness starts them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { systemClock } from '../core/clock.ts';
import { eventIdentity } from '../core/identity.ts';
import { parseRecord } from '../engine/index.ts';
import {
  ATTACK_NAMES,
  type BatchOutcome,
  HttpSink,
  type RecordSink,
  RunStats,
  runSimulation,
  Simulation,
} from '../simulator/index.ts';
import { freePort, servicesModeFromEnv, startServices, stopResources } from '../test/harness/services.ts';
import { dropIndexPrefix, uniqueIndexPrefix } from '../test/support/elasticsearch.ts';
import {
  fileSinkAlerts,
  fileSinkEventKeys,
  metricValue,
  removeDir,
  scrapeMetrics,
  spawnProcessor,
  stopChild,
  tempDir,
  writeConfigFile,
} from '../test/support/pipeline.ts';
import { REPO_ROOT } from '../test/support/shared.ts';
import { createTransport } from '../transport/index.ts';
import {
  collect,
  dropTransportResources,
  isolatedTransportConfig,
  silentLogger,
} from '../transport/testing/index.ts';

const AGENTS = Number(process.env.BENCH_AGENTS ?? 1000);
const RATE = Number(process.env.BENCH_RATE ?? 2000);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 60);
const SEED = Number(process.env.BENCH_SEED ?? 7);
const BATCH_SIZE = Number(process.env.BENCH_BATCH_SIZE ?? 200);
const PARTITIONS = 6;
const DRAIN_TIMEOUT_MS = 15 * 60_000;
/** Longer than processor.checkpointIntervalMs (5 s), so the lag read after it counts committed offsets. */
const SETTLE_MS = 7_000;
const API_KEY = `bench-scaling-${randomUUID()}`;

/** The simulator's HTTP sender, keeping each request's lines: the request boundaries explain the repeats. */
class RecordingSink implements RecordSink {
  readonly requests: string[][] = [];
  constructor(private readonly inner: RecordSink) {}
  async send(lines: readonly string[]): Promise<BatchOutcome> {
    const outcome = await this.inner.send(lines);
    this.requests.push([...lines]);
    return outcome;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

interface Keyed {
  agentId: string;
  eventId: string;
}

const identityOf = ({ agentId, eventId }: Keyed): string => eventIdentity(agentId, eventId);

/** How often each identity occurs. */
function tally(keys: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
}

/** Identities that a later request repeated (the collector only compares records within one request). */
function repeatedAcrossRequests(
  requests: readonly string[][],
): Map<string, { first: number; again: number }> {
  const receivedAt = new Date().toISOString();
  const firstRequest = new Map<string, number>();
  const repeats = new Map<string, { first: number; again: number }>();
  requests.forEach((lines, request) => {
    for (const line of lines) {
      const parsed = parseRecord(JSON.parse(line) as unknown, { receivedAt });
      if (!parsed.ok) continue;
      const key = identityOf(parsed.value);
      const first = firstRequest.get(key);
      if (first === undefined) firstRequest.set(key, request);
      else if (first !== request) repeats.set(key, { first, again: request });
    }
  });
  return repeats;
}

function startCollector(configPath: string): ChildProcess {
  return spawn(
    process.execPath,
    [join(REPO_ROOT, 'bin', 'clawdstrike-edr.js'), 'collector', '--config', configPath],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, CLAWDSTRIKE_EDR_API_KEY: API_KEY },
    },
  );
}

async function waitFor(what: string, timeoutMs: number, done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

async function esIds(client: Client, index: string): Promise<string[]> {
  const ids: string[] = [];
  const pages = client.helpers.scrollSearch({ index, size: 10_000, _source: false, allow_no_indices: true });
  for await (const page of pages)
    ids.push(...page.body.hits.hits.flatMap((hit) => (hit._id ? [hit._id] : [])));
  return ids;
}

const n = (value: number) => value.toLocaleString('en-US');

async function main(): Promise<void> {
  const owned = process.env.KAFKA_BROKERS
    ? undefined
    : await startServices({ mode: servicesModeFromEnv(), detached: false });
  for (const endpoint of owned?.endpoints ?? []) {
    if (endpoint.name === 'kafka') process.env.KAFKA_BROKERS = endpoint.url;
    if (endpoint.name === 'elasticsearch') process.env.ELASTICSEARCH_URL = endpoint.url;
  }
  const node = process.env.ELASTICSEARCH_URL;
  if (!node) throw new Error('ELASTICSEARCH_URL is not set');
  const transport = isolatedTransportConfig('kafka', { kafka: { partitions: PARTITIONS } });
  const indexPrefix = uniqueIndexPrefix('scaling');
  const es = new Client({ node });
  const directory = await tempDir('bench-scaling');
  const sinkDirectory = join(directory, 'sinks');
  const deadLetters = join(directory, 'dead-letters.jsonl');
  const port = await freePort();
  const configPath = await writeConfigFile(directory, 'config.yaml', {
    transport,
    server: { host: '127.0.0.1', port, logLevel: 'warn' },
    // info: spawnProcessor learns the metrics address from the "listening" line.
    processor: {
      host: '127.0.0.1',
      port: 0,
      logLevel: 'info',
      group: `bench-scaling-${randomUUID()}`,
      watch: false,
    },
    redaction: { keyFile: join(directory, 'redaction-key') },
    sinks: {
      deadLetter: { path: deadLetters },
      sinks: [
        { type: 'elasticsearch', node, indexPrefix, templates: { replicas: 0 } },
        { type: 'file', directory: sinkDirectory },
      ],
    },
  });
  const collector = startCollector(configPath);
  const processor = spawnProcessor(configPath);
  const reader = createTransport(transport, { logger: silentLogger });
  let failed = false;
  try {
    const target = `http://127.0.0.1:${port}`;
    await waitFor('collector ready', 120_000, async () => (await fetch(`${target}/readyz`)).ok);
    const metricsAt = await processor.address;
    console.log(
      `bench:scaling — machine: ${cpus().length} cores, node ${process.version}; load average ${loadavg()
        .map((v) => v.toFixed(2))
        .join(' ')}`,
    );
    console.log(
      `simulate --agents ${AGENTS} --rate ${RATE} --duration ${DURATION_S} --seed ${SEED} (${BATCH_SIZE} records per request)`,
    );
    const sink = new RecordingSink(new HttpSink({ target, apiKey: API_KEY }));
    const stats = new RunStats();
    const started = performance.now();
    await runSimulation({
      simulation: new Simulation({ seed: SEED, agents: AGENTS, attacks: ATTACK_NAMES }),
      sink,
      stats,
      rate: RATE,
      durationMs: DURATION_S * 1000,
      batchSize: BATCH_SIZE,
      clock: systemClock,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    });
    const seconds = (performance.now() - started) / 1000;

    const collectorMetrics = await scrapeMetrics(target);
    const published = metricValue(collectorMetrics, 'edr_collector_records_published_total', {
      stream: 'events',
    });
    let processorMetrics = '';
    await waitFor('processor drained', DRAIN_TIMEOUT_MS, async () => {
      processorMetrics = await scrapeMetrics(metricsAt);
      return (
        metricValue(processorMetrics, 'edr_processor_events_total') >= published &&
        metricValue(processorMetrics, 'edr_sink_pending_items') === 0
      );
    });
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    processorMetrics = await scrapeMetrics(metricsAt);
    const lag = ((await (await fetch(`${metricsAt}/readyz`)).json()) as { lag: { total: number } }).lag.total;
    await es.indices.refresh({ index: `${indexPrefix}-*`, allow_no_indices: true });

    const topic = tally(
      (await collect(reader, 'events', { count: published, timeoutMs: 120_000 })).map((message) =>
        identityOf(JSON.parse(Buffer.from(message.value).toString('utf8')) as Keyed),
      ),
    );
    const topicRecords = [...topic.values()].reduce((sum, count) => sum + count, 0);
    const file = (await fileSinkEventKeys(sinkDirectory)).map(identityOf);
    const fileDistinct = new Set(file);
    const esCount = (await es.count({ index: `${indexPrefix}-events-*` })).count;
    const inEs = new Set(await esIds(es, `${indexPrefix}-events-*`));
    const repeatsSent = repeatedAcrossRequests(sink.requests);
    const repeatsPublished = [...topic].filter(([, count]) => count > 1);
    const missingFromEs = [...topic.keys()].filter((key) => !inEs.has(key));
    const deadLettered = (await readFile(deadLetters, 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean).length;
    const processed = metricValue(processorMetrics, 'edr_processor_events_total');
    const esDuplicates = metricValue(processorMetrics, 'edr_sink_items_duplicate_total', {
      sink: 'elasticsearch',
    });
    const engineDuplicates = metricValue(processorMetrics, 'edr_processor_state_evictions_total', {
      kind: 'duplicatesDropped',
    });
    const alerts = await fileSinkAlerts(sinkDirectory);

    console.log(
      `sent ${n(stats.sent)} records in ${seconds.toFixed(1)} s (${(stats.sent / seconds).toFixed(1)}/s), ${n(sink.requests.length)} requests; ` +
        `collector accepted ${n(stats.accepted)}, refused ${n(stats.rejected)} ` +
        `(conflict: ${n(metricValue(collectorMetrics, 'edr_collector_records_rejected_total', { reason: 'conflict' }))}), ` +
        `same record twice in one request ${n(metricValue(collectorMetrics, 'edr_collector_records_deduplicated_total'))}`,
    );
    console.log(
      `events topic: ${n(topicRecords)} records, ${n(topic.size)} distinct (agentId, eventId); ` +
        `${n(repeatsPublished.length)} published twice, ${n(repeatsSent.size)} sent again in a later request`,
    );
    console.log(
      `processor: ${n(processed)} events, ${n(engineDuplicates)} dropped by the engine as duplicates, ` +
        `edr_processor_dlq_total ${n(metricValue(processorMetrics, 'edr_processor_dlq_total'))}, ` +
        `sink dead letters ${n(metricValue(processorMetrics, 'edr_sink_dead_letters_total'))} (file: ${n(deadLettered)} lines), lag ${n(lag)}`,
    );
    console.log(`file sink: ${n(file.length)} events, ${n(fileDistinct.size)} distinct`);
    console.log(
      `Elasticsearch: _count ${n(esCount)}, ${n(inEs.size)} ids, ${n(missingFromEs.length)} published ids missing; ` +
        `edr_sink_items_duplicate_total ${n(esDuplicates)}`,
    );
    console.log(
      `alerts: ${n(alerts.length)} over ${new Set(alerts.map((alert) => alert.ruleId)).size} rules`,
    );
    for (const [key, { first, again }] of [...repeatsSent].slice(0, 10)) {
      console.log(
        `  sent again: _id ${key} in request ${first} and ${again}, ${topic.get(key) ?? 0} on the topic`,
      );
    }

    const checks: Array<[string, boolean]> = [
      [
        'every accepted record but same-request repeats was published',
        stats.accepted - metricValue(collectorMetrics, 'edr_collector_records_deduplicated_total') ===
          topicRecords,
      ],
      ['the processor ran every published event', processed === topicRecords],
      [
        'the file sink holds every processed event',
        file.length === processed && fileDistinct.size === topic.size,
      ],
      [
        'the ids published twice are the ids sent again in a later request',
        repeatsPublished.every(([key]) => repeatsSent.has(key)) &&
          repeatsPublished.length === repeatsSent.size,
      ],
      [
        'Elasticsearch holds every distinct published id once',
        missingFromEs.length === 0 && esCount === topic.size && inEs.size === topic.size,
      ],
      [
        'processed − Elasticsearch = the 409s of the second copies',
        processed - esCount === esDuplicates && esDuplicates === topicRecords - topic.size,
      ],
      [
        'nothing dead-lettered, lag 0',
        deadLettered === 0 && metricValue(processorMetrics, 'edr_processor_dlq_total') === 0 && lag === 0,
      ],
    ];
    for (const [what, ok] of checks) console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
    failed = checks.some(([, ok]) => !ok);
  } finally {
    const collectorExited = new Promise((resolve) => collector.once('exit', resolve));
    if (collector.exitCode === null && collector.kill('SIGTERM')) await collectorExited;
    await stopChild(processor);
    await reader.close();
    await dropTransportResources(transport);
    await dropIndexPrefix(es, indexPrefix);
    await es.close();
    if (failed) console.log(`kept ${directory} (config, file sink, dead letters)`);
    else await removeDir(directory);
    if (owned) await stopResources(owned.resources);
  }
  if (failed) process.exitCode = 1;
}

await main();
