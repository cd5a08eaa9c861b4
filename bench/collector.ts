/**
 * npm run bench:collector — HTTP ingestion throughput of the collector into a real Kafka.
 *
 * Runs `clawdstrike-edr collector` as its own process (as deployed) on loopback, publishing to Kafka
 * topics of its own, and drives it from this process with BENCH_CLIENTS keep-alive HTTP clients, each
 * sending NDJSON batches of 500 events back to back. Every request must come back 202 with all 500
 * accepted, i.e. acknowledged by Kafka (acks=all). Reports events/s, request latency p50/p99 and the
 * collector's CPU time per 1 000 events; `--write` puts the figures into BENCHMARKS.md.
 *
 * KAFKA_BROKERS selects the broker; without it the test harness starts one for the run.
 * BENCH_SECONDS (default 20), BENCH_WARMUP_SECONDS (5) and BENCH_CLIENTS (8) size each run;
 * BENCH_WORKERS (default "1,2") lists the `server.workers` settings to measure, and BENCH_KAFKA_CLIENTS
 * (default "kafkajs,platformatic") the `transport.kafka.client` settings: one run per pair. After each run,
 * Kafka's ProducerPerformance writes BENCH_TOOL_RECORDS (default 400,000) records of the mean size the
 * collector wrote, with acks=all, to a topic of as many partitions on the same broker: the ratio says how
 * close the collector comes to what a JVM producer reaches there and then.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { servicesModeFromEnv, startServices, stopResources } from '../test/harness/services.ts';
import { createTransport, STREAMS, type TransportConfig, TransportConfigSchema } from '../transport/index.ts';
import { collect, dropTransportResources, silentLogger } from '../transport/testing/index.ts';
import { createTopic, deleteTopic, producerTool, type ToolRate } from './kafka-perf.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const WORKER_COUNTS = (process.env.BENCH_WORKERS ?? '1,2').split(',').map(Number);
const KAFKA_CLIENTS = (process.env.BENCH_KAFKA_CLIENTS ?? 'kafkajs,platformatic').split(',');
const TOOL_RECORDS = Number(process.env.BENCH_TOOL_RECORDS ?? 400_000);
const PARTITIONS = 6;
/** Records read back from the events topic to learn the mean record size the collector writes. */
const SIZE_SAMPLE = 2_000;
const BATCH = 500;
const DISTINCT_BODIES = 200;
const AGENTS = 200;
const API_KEY = `bench-${randomBytes(8).toString('hex')}`;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const COMMAND = 'npm run bench:collector';

/** A realistic mix: PolicyEvents of several types, a tenth denied, and hushd AuditEvents. */
function event(n: number): Record<string, unknown> {
  const agentId = `agent-${n % AGENTS}`;
  const timestamp = new Date(1_795_600_000_000 + n).toISOString();
  const common = {
    eventId: `evt-${n}`,
    timestamp,
    sessionId: `sess-${n % 997}`,
    metadata: { agentId, source: 'mcp' },
  };
  const decision =
    n % 10 === 0 ? { status: 'deny', guard: 'egress_allowlist', severity: 'high' } : { status: 'allow' };
  switch (n % 5) {
    case 0:
      return {
        ...common,
        eventType: 'network_egress',
        data: { type: 'network', host: 'api.example.com', port: 443 },
        decision,
      };
    case 1:
      return {
        ...common,
        eventType: 'file_read',
        data: { type: 'file', path: `/srv/project/src/module-${n % 50}.ts`, operation: 'read' },
      };
    case 2:
      return {
        ...common,
        eventType: 'command_exec',
        data: { type: 'command', command: 'git', args: ['status', '--short'] },
      };
    case 3:
      return {
        ...common,
        eventType: 'tool_call',
        data: {
          type: 'tool',
          toolName: 'mcp__github__search',
          parameters: { query: 'repo:example/app is:open' },
        },
        metadata: { ...common.metadata, toolKind: 'mcp' },
      };
    default:
      return {
        id: `evt-${n}`,
        timestamp,
        event_type: 'check',
        action_type: 'file_write',
        target: `/srv/project/out/${n % 100}.json`,
        decision: 'allowed',
        guard: 'path_allowlist',
        severity: 'Info',
        session_id: `sess-${n % 997}`,
        agent_id: agentId,
      };
  }
}

function bodies(): Buffer[] {
  return Array.from({ length: DISTINCT_BODIES }, (_, b) =>
    Buffer.from(Array.from({ length: BATCH }, (_, i) => JSON.stringify(event(b * BATCH + i))).join('\n')),
  );
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Reply {
  status: number;
  body: string;
}

function post(agent: Agent, port: number, path: string, body?: Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: body ? 'POST' : 'GET',
        agent,
        headers: body
          ? {
              authorization: `Bearer ${API_KEY}`,
              'content-type': 'application/x-ndjson',
              'content-length': body.length,
            }
          : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** utime + stime of a process and its descendants (cluster workers), in seconds; Linux only. */
function treeCpuSeconds(root: number): number | undefined {
  try {
    const stats = readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .flatMap((pid) => {
        try {
          const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
          return [
            {
              pid: Number(pid),
              ppid: Number(fields[1]),
              cpu: (Number(fields[11]) + Number(fields[12])) / 100,
            },
          ];
        } catch {
          return []; // exited meanwhile
        }
      });
    const inTree = new Set([root]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const stat of stats) {
        if (!inTree.has(stat.pid) && inTree.has(stat.ppid)) {
          inTree.add(stat.pid);
          grew = true;
        }
      }
    }
    return stats.filter((stat) => inTree.has(stat.pid)).reduce((sum, stat) => sum + stat.cpu, 0);
  } catch {
    return undefined;
  }
}

interface Run {
  events: number;
  seconds: number;
  latenciesMs: number[];
}

interface Measured extends Run {
  client: string;
  workers: number;
  cpuMsPerThousand: number | undefined;
  published: Record<string, number>;
  /** Mean value + key + headers bytes of the collector's event records. */
  recordBytes: number;
  tool: ToolRate;
  load: number;
}

async function drive(port: number, payloads: Buffer[], seconds: number): Promise<Run> {
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  const latenciesMs: number[] = [];
  let next = 0;
  let events = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < deadline) {
        const body = payloads[next++ % payloads.length]!;
        const sent = performance.now();
        const reply = await post(agent, port, '/v1/events', body);
        latenciesMs.push(performance.now() - sent);
        const accepted = reply.status === 202 ? (JSON.parse(reply.body) as { accepted: number }).accepted : 0;
        if (accepted !== BATCH)
          throw new Error(`request not fully accepted: ${reply.status} ${reply.body.slice(0, 300)}`);
        events += accepted;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  return { events, seconds: elapsed, latenciesMs };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

function startCollector(
  port: number,
  brokers: string,
  names: Record<string, string>,
  workers: number,
  client: string,
): ChildProcess {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CLAWDSTRIKE_EDR_API_KEY: API_KEY,
    CLAWDSTRIKE_EDR_SERVER__HOST: '127.0.0.1',
    CLAWDSTRIKE_EDR_SERVER__LOG_LEVEL: 'warn',
    CLAWDSTRIKE_EDR_TRANSPORT__KIND: 'kafka',
    CLAWDSTRIKE_EDR_TRANSPORT__KAFKA__BROKERS: brokers,
    CLAWDSTRIKE_EDR_TRANSPORT__KAFKA__PARTITIONS: String(PARTITIONS),
    CLAWDSTRIKE_EDR_TRANSPORT__KAFKA__CLIENT: client,
    CLAWDSTRIKE_EDR_SERVER__WORKERS: String(workers),
  };
  for (const [stream, topic] of Object.entries(names))
    env[`CLAWDSTRIKE_EDR_TRANSPORT__NAMES__${stream.toUpperCase()}`] = topic;
  // BENCH_PROFILE=1 writes a V8 CPU profile of the collector to .cache/profiles/ (open it in Chrome devtools).
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=.cache/profiles'] : [];
  return spawn(
    process.execPath,
    [...profile, '--import', 'tsx', 'cli/main.ts', 'collector', '--port', String(port)],
    {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
}

async function waitReady(port: number, child: ChildProcess): Promise<void> {
  const agent = new Agent();
  for (let attempt = 0; attempt < 600; attempt++) {
    if (child.exitCode !== null) throw new Error(`collector exited with ${child.exitCode}`);
    const reply = await post(agent, port, '/readyz').catch(() => undefined);
    if (reply?.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('collector not ready after 60 s');
}

function publishedTotal(metrics: string, stream: string): number {
  const line = metrics
    .split('\n')
    .find((entry) => entry.startsWith(`edr_collector_records_published_total{stream="${stream}"}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

function section(runs: readonly Measured[], kafkaVersion: string): string {
  const cpu = cpus();
  const rate = (run: Run) => Math.round(run.events / run.seconds);
  const recordRate = (run: Measured) =>
    Math.round(Object.values(run.published).reduce((sum, count) => sum + count, 0) / run.seconds);
  const ratio = (run: Measured) => recordRate(run) / run.tool.recordsPerSecond;
  const row = (run: Measured) => {
    const sorted = [...run.latenciesMs].sort((a, b) => a - b);
    const cpuCell = run.cpuMsPerThousand === undefined ? 'n/a' : run.cpuMsPerThousand.toFixed(1);
    const { events, violations, audit } = run.published;
    return `| ${run.client} | ${run.workers} | **${rate(run).toLocaleString('en-US')}** | ${recordRate(run).toLocaleString('en-US')} | ${Math.round(run.tool.recordsPerSecond).toLocaleString('en-US')} | **${ratio(run).toFixed(2)}** | ${percentile(sorted, 50).toFixed(1)} | ${percentile(sorted, 99).toFixed(1)} | ${events} / ${violations} / ${audit} | ${cpuCell} | ${run.load.toFixed(1)} |`;
  };
  const best = Math.max(...runs.map(rate));
  const bestRatio = Math.max(...runs.map(ratio));
  return [
    '## Collector (bench:collector)',
    '',
    '`clawdstrike-edr collector` as its own process on loopback, publishing to Kafka (idempotent producer,',
    `\`acks: all\`, no compression, ${PARTITIONS} partitions per topic), driven from the bench process by`,
    `${CLIENTS} keep-alive HTTP clients, each sending NDJSON batches of ${BATCH} events to \`POST /v1/events\` back to back`,
    'and waiting for the 202, which comes only once Kafka acknowledged every record of the batch. Every',
    'request must come back 202 with all 500 accepted. Events: PolicyEvents (egress, file read, command,',
    'MCP tool call; a tenth denied, so also published to agent.violations) and hushd AuditEvents (a fifth,',
    `also published to agent.audit), ${AGENTS} agents: 1.3 Kafka records per event. One run per Kafka client`,
    "(`transport.kafka.client`) and `server.workers` value. Right after each run Kafka's own",
    `\`ProducerPerformance\` (kafka-tools ${kafkaVersion}, a JVM producer) writes ${TOOL_RECORDS.toLocaleString('en-US')} records of the mean size of`,
    "the collector's event records to a topic of as many partitions on the same broker, `acks=all`,",
    'idempotent, uncompressed; the ratio is the records/s the collector got acknowledged (all three topics)',
    "over the tool's.",
    '',
    '```',
    `${COMMAND}                                          # the test harness starts Kafka for the run`,
    `KAFKA_BROKERS=127.0.0.1:9092 ${COMMAND} -- --write  # against a running broker; rewrites this section`,
    '```',
    '`BENCH_SECONDS` (default 20), `BENCH_WARMUP_SECONDS` (5), `BENCH_CLIENTS` (8 HTTP clients), `BENCH_WORKERS` ("1,2"),',
    '`BENCH_KAFKA_CLIENTS` ("kafkajs,platformatic") and `BENCH_TOOL_RECORDS` (400000) size the runs.',
    '',
    '| Kafka client | server.workers | events/s (202, Kafka-acked) | records/s | ProducerPerformance records/s | ratio | p50 ms | p99 ms | records published: events / violations / audit | collector CPU ms per 1 000 events | load |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|',
    ...runs.map(row),
    '',
    `Mean event record: ${Math.round(runs[0]?.recordBytes ?? 0)} bytes (value, key and headers). Best ${best.toLocaleString('en-US')} events/s;`,
    `best ratio to the producer tool ${bestRatio.toFixed(2)} (target ≥ 0.5: ${bestRatio >= 0.5 ? 'met' : 'not met'}).`,
    '',
    `Machine: ${cpu.length} cores, ${cpu[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version},`,
    `Kafka ${kafkaVersion} (single KRaft node on the same machine); collector, Kafka and the load generator share`,
    `the cores. The load column is the 1-minute load average after each run. Measured ${new Date().toISOString().slice(0, 10)}.`,
    '',
  ].join('\n');
}

function writeSection(text: string): void {
  const file = `${ROOT}BENCHMARKS.md`;
  let current = '# Benchmarks\n\n';
  try {
    current = readFileSync(file, 'utf8');
  } catch {}
  const start = current.indexOf('## Collector (bench:collector)');
  if (start === -1) {
    writeFileSync(file, `${current.trimEnd()}\n\n${text}`);
    return;
  }
  const end = current.indexOf('\n## ', start + 1);
  writeFileSync(file, `${current.slice(0, start)}${text}${end === -1 ? '' : current.slice(end + 1)}`);
}

async function measure(
  brokers: string,
  client: string,
  workers: number,
  payloads: Buffer[],
  kafkaVersion: string,
): Promise<Measured> {
  const run = `bench-${Date.now().toString(36)}`;
  const names = Object.fromEntries(STREAMS.map((stream) => [stream, `${run}.${stream}`]));
  const config = TransportConfigSchema.parse({ kind: 'kafka', names, kafka: { brokers } });
  const port = await freePort();
  const child = startCollector(port, brokers, names, workers, client);
  let measured: Omit<Measured, 'recordBytes' | 'tool' | 'load'>;
  try {
    await waitReady(port, child);
    console.log(
      `collector (${client}, workers=${workers}) ready on :${port}; warm-up ${WARMUP_SECONDS} s, then ${SECONDS} s, ${CLIENTS} clients`,
    );
    await drive(port, payloads, WARMUP_SECONDS);
    const published = async () => {
      const metrics = (await post(new Agent(), port, '/metrics')).body;
      return ['events', 'violations', 'audit'].map((stream) => publishedTotal(metrics, stream));
    };
    const publishedBefore = await published();
    const cpuBefore = treeCpuSeconds(child.pid!);
    const result = await drive(port, payloads, SECONDS);
    const cpuAfter = treeCpuSeconds(child.pid!);
    const publishedAfter = await published();
    measured = {
      ...result,
      client,
      workers,
      cpuMsPerThousand:
        cpuBefore === undefined || cpuAfter === undefined
          ? undefined
          : ((cpuAfter - cpuBefore) * 1e6) / result.events,
      published: Object.fromEntries(
        ['events', 'violations', 'audit'].map((stream, i) => [
          stream,
          publishedAfter[i]! - publishedBefore[i]!,
        ]),
      ),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  try {
    const recordBytes = await meanRecordBytes(config);
    const toolTopic = `${run}.producer-tool`;
    await createTopic(brokers, toolTopic, PARTITIONS);
    try {
      const tool = await producerTool({
        brokers,
        topic: toolTopic,
        records: TOOL_RECORDS,
        recordSize: Math.round(recordBytes),
        version: kafkaVersion,
      });
      console.log(`ProducerPerformance: ${tool.summary}`);
      return { ...measured, recordBytes, tool, load: loadavg()[0]! };
    } finally {
      await deleteTopic(brokers, toolTopic).catch(() => {});
    }
  } finally {
    await dropTransportResources(config).catch(() => {});
  }
}

/** Mean size of the records the collector wrote to the events topic, from a sample read back. */
async function meanRecordBytes(config: TransportConfig): Promise<number> {
  const transport = createTransport(config, { logger: silentLogger });
  try {
    const sample = await collect(transport, 'events', { count: SIZE_SAMPLE, settleMs: 0 });
    const bytes = sample.map(
      (message) =>
        message.value.byteLength +
        (message.key?.length ?? 0) +
        Object.entries(message.headers).reduce((sum, [name, value]) => sum + name.length + value.length, 0),
    );
    return bytes.reduce((sum, size) => sum + size, 0) / Math.max(1, bytes.length);
  } finally {
    await transport.close();
  }
}

async function main(): Promise<void> {
  const owned = process.env.KAFKA_BROKERS
    ? undefined
    : await startServices({ mode: servicesModeFromEnv(), detached: false });
  const kafka = owned?.endpoints.find((endpoint) => endpoint.name === 'kafka');
  const brokers = process.env.KAFKA_BROKERS ?? kafka!.url;
  const kafkaVersion = process.env.EDR_KAFKA_VERSION ?? kafka?.version ?? 'unknown';
  try {
    const payloads = bodies();
    const runs: Measured[] = [];
    for (const client of KAFKA_CLIENTS)
      for (const workers of WORKER_COUNTS)
        runs.push(await measure(brokers, client, workers, payloads, kafkaVersion));
    const text = section(runs, kafkaVersion);
    console.log(`\n${text}`);
    if (process.argv.includes('--write')) writeSection(text);
  } finally {
    if (owned) await stopResources(owned.resources);
  }
}

await main();
