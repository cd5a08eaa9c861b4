/**
 * npm run bench:console — the console's queue, filter and detail queries (and timeline, agent and rules pages)
 * with 100k alerts and 1M events, on the SQLite store and on the Elasticsearch store, in one run: at the store
 * level, then through HTTP (the console's fastify app on loopback, an API token, pages and JSON API).
 *
 * Data goes in through the sinks' own write paths (SqliteSink.write, ElasticsearchSink.write), 5 000 items per
 * call; before the queries, 5 000 alerts are closed or acknowledged through the store's bulk update so the
 * status filters have something to separate.
 *
 * ELASTICSEARCH_URL selects the server; without it the test harness starts one for the run.
 * BENCH_ALERTS (100000), BENCH_EVENTS (1000000), BENCH_ES_EVENTS (BENCH_EVENTS), BENCH_QUERIES (40 per
 * query), BENCH_STORES ("sqlite,elasticsearch") size the run; BENCH_DIR holds the SQLite file (os tmpdir).
 * BENCH_KEEP=1 keeps the Elasticsearch indices and prints their prefix; BENCH_ES_PREFIX=<that prefix> queries
 * them again without loading (a before/after comparison on the same data; give the same sizes).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConsole } from '../console/server/app.ts';
import { ConsoleSettingsSchema } from '../console/server/config.ts';
import {
  type AlertQueryInput,
  AlertQuerySchema,
  type ConsoleStore,
  ConsoleStoreConfigSchema,
  createConsoleStore,
} from '../console/store/index.ts';
import { SEVERITIES } from '../core/severity.ts';
import type { Alert } from '../engine/alert.ts';
import type { Envelope, EventType } from '../engine/model/index.ts';
import { ElasticsearchSink } from '../sinks/elasticsearch/sink.ts';
import {
  createElasticsearchClient,
  ElasticsearchSinkConfigSchema,
  type Sink,
  type SinkItem,
  SqliteSinkConfigSchema,
} from '../sinks/index.ts';
import { SqliteSink } from '../sinks/sqlite/sink.ts';
import { servicesModeFromEnv, startServices, stopResources } from '../test/harness/services.ts';
import { dropIndexPrefix } from '../test/support/elasticsearch.ts';

const ALERTS = Number(process.env.BENCH_ALERTS ?? 100_000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const ES_EVENTS = Number(process.env.BENCH_ES_EVENTS ?? EVENTS);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 40);
const STORES = (process.env.BENCH_STORES ?? 'sqlite,elasticsearch').split(',');
const WRITE_CHUNK = 5_000;
const EVENTS_PER_SESSION = 100;
const AGENTS = 1_000;
const RULES = 40;
const TARGET_P95_MS = 300;

const SESSIONS = Math.max(1, Math.floor(EVENTS / EVENTS_PER_SESSION));
/** Eight days of data ending an hour ago: inside the ES sink's default index day range. */
const BASE = Date.now() - 8 * 86_400_000;
const SPAN_MS = 7 * 86_400_000;
const sessionStart = (session: number) => BASE + Math.floor((session / SESSIONS) * SPAN_MS);
const TYPES: EventType[] = ['file_read', 'network_egress', 'command_exec', 'tool_call', 'file_write'];

/** Deterministic generator (mulberry32): both stores get the same queries. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function event(index: number): Envelope {
  const session = Math.floor(index / EVENTS_PER_SESSION);
  const position = index % EVENTS_PER_SESSION;
  const timestamp = new Date(sessionStart(session) + position * 500).toISOString();
  const eventType = TYPES[index % TYPES.length]!;
  const data: Record<string, unknown> =
    eventType === 'network_egress'
      ? { type: 'network', host: `host-${index % 5_000}.example`, port: 443, protocol: 'https' }
      : eventType === 'command_exec'
        ? { type: 'command', command: 'curl', args: ['-s', `https://host-${index % 5_000}.example/x`] }
        : eventType === 'tool_call'
          ? {
              type: 'tool',
              toolName: 'mcp__fs__read',
              parameters: { path: `/work/src/file-${index % 997}.ts` },
            }
          : { type: 'file', path: `/home/dev/project/file-${index % 997}.ts`, operation: 'read' };
  return {
    schemaVersion: 1,
    eventId: `evt-${index}`,
    timestamp,
    receivedAt: new Date(Date.parse(timestamp) + 1_000).toISOString(),
    agentId: `agent-${session % AGENTS}`,
    sessionId: `sess-${session}`,
    eventType,
    target: String(data.path ?? data.host ?? data.command ?? data.toolName),
    data,
    decision: {
      outcome: index % 20 === 0 ? 'deny' : index % 7 === 0 ? 'warn' : 'allow',
      severity: 'medium',
      guard: 'forbidden_path',
    },
    source: { format: 'policy_event', emitter: 'cli' },
    metadata: { traceId: `trace-${session}` },
  };
}

function alert(index: number): Alert {
  const session = index % SESSIONS;
  const first = session * EVENTS_PER_SESSION;
  const offset = (index * 7) % (EVENTS_PER_SESSION - 3);
  const rule = index % RULES;
  const timestamp = new Date(sessionStart(session) + (offset + 2) * 500).toISOString();
  return {
    schemaVersion: 1,
    alertId: `alr-${index}`,
    ruleId: `RULE_${rule}`,
    ruleName: `Rule ${rule}: credential read followed by egress`,
    ruleType: 'sequence',
    severity: SEVERITIES[index % SEVERITIES.length]!,
    riskScore: index % 101,
    agentId: `agent-${session % AGENTS}`,
    sessionId: `sess-${session}`,
    groupKey: `agent-${session % AGENTS}|sess-${session}`,
    timestamp,
    detectedAt: new Date(Date.parse(timestamp) + 250).toISOString(),
    eventIds: [0, 1, 2].map((step) => `evt-${first + offset + step}`),
    eventCount: 3,
    actions: ['alert_soc'],
    tags: ['attack.t1552.004', 'attack.exfiltration'],
    summary: `agent-${session % AGENTS} read /home/dev/.ssh/id_${index % 997} then connected to host-${index % 5_000}.example:443`,
    enrichment: {
      asset: { agentId: `agent-${session % AGENTS}`, owner: `team-${session % 17}`, known: true },
    },
  };
}

async function load(sink: Sink, events: number): Promise<{ seconds: number }> {
  const started = performance.now();
  const write = async (items: SinkItem[]) => {
    const outcomes = await sink.write(items);
    const failed = outcomes.find((outcome) => outcome.status !== 'written' && outcome.status !== 'duplicate');
    if (failed) throw new Error(`${sink.name}: ${JSON.stringify(failed)}`);
  };
  for (let start = 0; start < events; start += WRITE_CHUNK * 2) {
    if (start % 200_000 === 0) {
      console.log(`${sink.name}: ${start} events in ${((performance.now() - started) / 1_000).toFixed(0)} s`);
    }
    // Two writes in flight, as the ES sink's default concurrency (SQLite runs them one after the other).
    await Promise.all(
      [start, start + WRITE_CHUNK].map((from) =>
        write(
          Array.from({ length: Math.max(0, Math.min(WRITE_CHUNK, events - from)) }, (_, i) => ({
            kind: 'event' as const,
            event: event(from + i),
          })),
        ),
      ),
    );
  }
  for (let start = 0; start < ALERTS; start += WRITE_CHUNK) {
    await write(
      Array.from({ length: Math.min(WRITE_CHUNK, ALERTS - start) }, (_, i) => ({
        kind: 'alert' as const,
        alert: alert(start + i),
      })),
    );
  }
  return { seconds: (performance.now() - started) / 1_000 };
}

interface Timing {
  store: string;
  via: 'store' | 'http';
  query: string;
  samples: number[];
}

async function time(samples: number[], work: () => Promise<unknown>): Promise<void> {
  const started = performance.now();
  await work();
  samples.push(performance.now() - started);
}

const percentile = (values: readonly number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
};

/** The same named queries, each with parameters drawn from one seed, for a store or for HTTP. */
function queries(events: number) {
  const sessions = Math.max(1, Math.floor(events / EVENTS_PER_SESSION));
  const next = random(17);
  const pick = (count: number) => Math.floor(next() * count);
  return {
    alertId: () => `alr-${pick(ALERTS)}`,
    rule: () => `RULE_${pick(RULES)}`,
    agent: () => `agent-${pick(Math.min(AGENTS, sessions))}`,
    session: () => pick(Math.min(sessions, ALERTS)),
    word: () => `id_${100 + pick(897)}`,
  };
}

async function measureStore(name: string, store: ConsoleStore, events: number): Promise<Timing[]> {
  const timings: Timing[] = [];
  const draw = queries(events);
  const run = async (query: string, work: () => Promise<unknown>) => {
    const samples: number[] = [];
    await work(); // warm-up
    for (let i = 0; i < QUERIES; i++) await time(samples, work);
    timings.push({ store: name, via: 'store', query, samples });
  };
  const list = (input: AlertQueryInput) => store.listAlerts(AlertQuerySchema.parse(input));
  await run('list: first page (50, newest first)', () => list({}));
  const deep: number[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 20; page++) {
    await time(deep, async () => {
      cursor = (await list({ cursor })).nextCursor;
    });
  }
  timings.push({ store: name, via: 'store', query: 'list: pages 1-20 by cursor', samples: deep });
  await run('list: by severity', () => list({ sort: 'severity' }));
  await run('filter: high+critical, open', () =>
    list({ filter: { severity: ['high', 'critical'], status: ['open'] } }),
  );
  await run('filter: one rule', () => list({ filter: { ruleId: [draw.rule()] } }));
  await run('filter: one agent', () => list({ filter: { agentId: [draw.agent()] } }));
  await run('filter: free text (one word)', () => list({ filter: { text: draw.word() } }));
  await run('filter: closed false positives', () =>
    list({ filter: { status: ['closed'], verdict: ['false_positive'] } }),
  );
  await run('detail', () => store.alertDetail(draw.alertId()));
  await run('timeline (first 500 events)', async () => {
    const session = draw.session();
    await store.sessionTimeline({
      agentId: `agent-${session % AGENTS}`,
      sessionId: `sess-${session}`,
      limit: 500,
    });
  });
  const week = { from: new Date(BASE).toISOString(), to: new Date(BASE + 8 * 86_400_000).toISOString() };
  await run('agent page (hourly risk, 8 days)', () =>
    store.agentOverview({ agentId: draw.agent(), limit: 100, series: { ...week, bucketMs: 3_600_000 } }),
  );
  await run('rules page (hourly hits, 8 days)', () => store.ruleStats({ ...week, bucketMs: 3_600_000 }));
  return timings;
}

async function measureHttp(name: string, store: ConsoleStore, events: number): Promise<Timing[]> {
  const token = randomBytes(24).toString('base64url');
  const settings = ConsoleSettingsSchema.parse({
    port: 0,
    tokens: [{ id: 'bench', role: 'viewer', sha256: createHash('sha256').update(token).digest('hex') }],
    logLevel: 'silent',
  });
  const { app } = await buildConsole(settings, { store, rules: [], logger: false });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const draw = queries(events);
  const timings: Timing[] = [];
  const get = async (path: string) => {
    const response = await fetch(`${address}${path}`, { headers: { authorization: `Bearer ${token}` } });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`${path}: HTTP ${response.status}`);
  };
  const run = async (query: string, path: () => string) => {
    const samples: number[] = [];
    await get(path());
    for (let i = 0; i < QUERIES; i++) {
      const target = path();
      await time(samples, () => get(target));
    }
    timings.push({ store: name, via: 'http', query, samples });
  };
  try {
    await run('GET /alerts (queue page)', () => '/alerts');
    await run(
      'GET /alerts?severity=high&severity=critical&status=open',
      () => '/alerts?severity=high&severity=critical&status=open',
    );
    await run('GET /alerts?rule=… (one rule)', () => `/alerts?rule=${draw.rule()}`);
    await run('GET /alerts?q=… (free text)', () => `/alerts?q=${draw.word()}`);
    await run('GET /alerts/:id (detail page)', () => `/alerts/${draw.alertId()}`);
    await run('GET /api/alerts (JSON)', () => '/api/alerts');
    await run('GET /api/alerts/:id (JSON)', () => `/api/alerts/${draw.alertId()}`);
  } finally {
    await app.close();
  }
  return timings;
}

async function prepareWorkflow(store: ConsoleStore): Promise<void> {
  // 2 500 closed as false positives, 2 500 acknowledged and assigned (one rule each).
  await store.bulkUpdateWorkflow(
    { ruleId: ['RULE_1'] },
    { status: 'closed', verdict: 'false_positive' },
    'bench',
  );
  await store.bulkUpdateWorkflow(
    { ruleId: ['RULE_2'] },
    { status: 'acknowledged', assignee: 'ana' },
    'bench',
  );
}

function report(timings: readonly Timing[], loads: string[]): string {
  const rows = timings.map((timing) => {
    const p95 = percentile(timing.samples, 95);
    return `| ${timing.store} | ${timing.via} | ${timing.query} | ${timing.samples.length} | ${percentile(timing.samples, 50).toFixed(1)} | ${p95 <= TARGET_P95_MS ? p95.toFixed(1) : `**${p95.toFixed(1)}**`} | ${Math.max(...timing.samples).toFixed(1)} |`;
  });
  return [
    `Run ${new Date().toISOString()}: ${ALERTS} alerts; events: ${loads.join('; ')}.`,
    `Machine: ${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown'}, node ${process.version}; load average ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')} at the end.`,
    '',
    '| store | via | query | n | p50 ms | p95 ms | max ms |',
    '| --- | --- | --- | --: | --: | --: | --: |',
    ...rows,
  ].join('\n');
}

async function main(): Promise<void> {
  const timings: Timing[] = [];
  const loads: string[] = [];
  console.log(
    `load average at start: ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}`,
  );
  if (STORES.includes('sqlite')) {
    const directory = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), 'bench-console-'));
    const path = join(directory, 'console.db');
    try {
      const sink = new SqliteSink(SqliteSinkConfigSchema.parse({ type: 'sqlite', path }));
      const { seconds } = await load(sink, EVENTS);
      await sink.close();
      loads.push(`SQLite ${EVENTS} (loaded with the alerts in ${seconds.toFixed(0)} s)`);
      console.log(`sqlite: loaded ${EVENTS} events and ${ALERTS} alerts in ${seconds.toFixed(1)} s`);
      const store = createConsoleStore(ConsoleStoreConfigSchema.parse({ type: 'sqlite', path }));
      await store.start();
      await prepareWorkflow(store);
      timings.push(...(await measureStore('SQLite', store, EVENTS)));
      timings.push(...(await measureHttp('SQLite', store, EVENTS)));
      await store.close();
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }
  if (STORES.includes('elasticsearch')) {
    let node = process.env.ELASTICSEARCH_URL;
    const owned = node ? undefined : await startServices({ mode: servicesModeFromEnv(), detached: false });
    node ??= owned!.endpoints.find((endpoint) => endpoint.name === 'elasticsearch')!.url;
    const reused = process.env.BENCH_ES_PREFIX;
    const prefix = reused ?? `bench-console-${Date.now().toString(36)}`;
    const config = ElasticsearchSinkConfigSchema.parse({
      type: 'elasticsearch',
      node,
      indexPrefix: prefix,
      templates: { replicas: 0 },
      requestTimeoutMs: 120_000,
    });
    const client = createElasticsearchClient(config);
    try {
      if (reused) {
        loads.push(`Elasticsearch ${ES_EVENTS} (the indices ${reused}-*, loaded by an earlier run)`);
      } else {
        const sink = new ElasticsearchSink(config, { client });
        await sink.start();
        const { seconds } = await load(sink, ES_EVENTS);
        await client.indices.refresh({ index: `${prefix}-*` });
        await client.indices.forcemerge({ index: `${prefix}-*`, max_num_segments: 1 }).catch(() => undefined);
        loads.push(`Elasticsearch ${ES_EVENTS} (loaded with the alerts in ${seconds.toFixed(0)} s)`);
        console.log(
          `elasticsearch: loaded ${ES_EVENTS} events and ${ALERTS} alerts in ${seconds.toFixed(1)} s`,
        );
      }
      const store = createConsoleStore(
        ConsoleStoreConfigSchema.parse({ type: 'elasticsearch', node, indexPrefix: prefix, replicas: 0 }),
        { elasticsearchClient: client },
      );
      await store.start();
      // A reused prefix has its workflow changes already.
      if (!reused) await prepareWorkflow(store);
      timings.push(...(await measureStore('Elasticsearch', store, ES_EVENTS)));
      timings.push(...(await measureHttp('Elasticsearch', store, ES_EVENTS)));
      await store.close();
    } finally {
      if (process.env.BENCH_KEEP || reused) console.log(`elasticsearch: kept the indices ${prefix}-*`);
      else await dropIndexPrefix(client, prefix);
      await client.close();
      if (owned) await stopResources(owned.resources);
    }
  }
  console.log(report(timings, loads));
}

await main();
