// Real-services test harness: provides Kafka, NATS (JetStream) and Elasticsearch for tests.
// Resolution order per service: env variable -> Docker (testcontainers) -> local server without Docker.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Kafka, logLevel } from 'kafkajs';
import type { ContainerRuntimeClient } from 'testcontainers';

export type ServiceName = 'kafka' | 'nats' | 'elasticsearch';
export type ServiceOrigin = 'env' | 'docker' | 'local';
/** auto: env -> docker -> local; docker/local force one way; none: start nothing. */
export type ServicesMode = 'auto' | 'docker' | 'local' | 'none';

export interface ServiceEndpoint {
  name: ServiceName;
  /** KAFKA_BROKERS style value: comma separated host:port for Kafka, URLs for the others. */
  url: string;
  origin: ServiceOrigin;
  version: string;
  note?: string;
}

export interface ProcessResource {
  kind: 'process';
  service: ServiceName;
  /** Process group id (the child is started as a group leader). */
  pgid: number;
  /** Temp folder holding config, data and logs; also identifies the processes as ours. */
  workDir: string;
}

export interface ContainerResource {
  kind: 'container';
  service: ServiceName;
  containerId: string;
}

export type OwnedResource = ProcessResource | ContainerResource;

export interface StartedServices {
  endpoints: ServiceEndpoint[];
  resources: OwnedResource[];
}

export interface StartOptions {
  mode: ServicesMode;
  /** true: servers outlive this process (CLI). false: they die with it (vitest). */
  detached: boolean;
  log?: (line: string) => void;
}

interface StartedService {
  endpoint: ServiceEndpoint;
  resource?: OwnedResource;
}

export const SERVICE_NAMES: readonly ServiceName[] = ['kafka', 'elasticsearch', 'nats'];

export const ENV_VARS: Record<ServiceName, string> = {
  kafka: 'KAFKA_BROKERS',
  nats: 'NATS_URL',
  elasticsearch: 'ELASTICSEARCH_URL',
};

/** Lets the env path report the Kafka version (the protocol does not expose it via kafkajs). */
export const KAFKA_VERSION_ENV = 'EDR_KAFKA_VERSION';

export const KAFKA_VERSION = process.env.EDR_TEST_KAFKA_VERSION ?? '4.1.1';
/** Newest integ-test zip on Maven Central that resolves (9.3.0 does not); needs Java 21+. */
const ES_VERSION_JAVA21 = '9.2.4';
/** Fallback when only Java 17 exists. */
const ES_VERSION_JAVA17 = '8.19.4';
const NATS_IMAGE = 'nats:2.11';
const ES_USER = 'clawdstrike-es';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CACHE_DIR = join(REPO_ROOT, '.cache');
export const STATE_DIR = join(CACHE_DIR, 'services');

const execFileAsync = promisify(execFile);

// ---------------------------------------------------------------- public API

export function servicesModeFromEnv(value = process.env.EDR_TEST_SERVICES): ServicesMode {
  const mode = (value ?? 'auto').trim().toLowerCase() || 'auto';
  if (mode === 'auto' || mode === 'docker' || mode === 'local' || mode === 'none') return mode;
  throw new Error(`EDR_TEST_SERVICES=${value} is not one of auto, docker, local, none`);
}

/** Starts (or adopts from env) all services concurrently; on any failure stops what it started and throws. */
export async function startServices(options: StartOptions): Promise<StartedServices> {
  const log = options.log ?? (() => {});
  await reapOrphans();
  const runtime = await containerRuntimeFor(options.mode, log);
  const results = await Promise.allSettled(
    SERVICE_NAMES.map((name) => resolveService(name, runtime, options.mode, log)),
  );
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const resources = started.flatMap((s) => (s.resource ? [s.resource] : []));
  const failures = results.flatMap((r, i) =>
    r.status === 'rejected' ? [`  - ${SERVICE_NAMES[i]}: ${errorMessage(r.reason)}`] : [],
  );
  if (failures.length > 0) {
    await stopResources(resources);
    throw new Error(`Could not provide test services:\n${failures.join('\n')}\n${HOW_TO_FIX}`);
  }
  // Detached servers now belong to the caller's state file, no longer to this process.
  if (options.detached) resources.forEach(untrack);
  return { endpoints: started.map((s) => s.endpoint), resources };
}

/** Stops everything in `resources` (process groups, containers) and removes their temp folders. */
export async function stopResources(resources: readonly OwnedResource[]): Promise<void> {
  await Promise.all(resources.map((r) => (r.kind === 'process' ? stopProcess(r) : stopContainer(r))));
}

/** `[services] kafka 4.1.1 at 127.0.0.1:39092 (local)` */
export function describeEndpoint(e: ServiceEndpoint): string {
  const note = e.note ? `, ${e.note}` : '';
  return `[services] ${e.name} ${e.version} at ${e.url} (${e.origin}${note})`;
}

/** Shell lines that make the endpoints visible to tests started from that shell. */
export function exportLines(endpoints: readonly ServiceEndpoint[]): string[] {
  const lines = endpoints.map((e) => `export ${ENV_VARS[e.name]}=${e.url}`);
  const kafka = endpoints.find((e) => e.name === 'kafka');
  if (kafka && kafka.version !== 'unknown') lines.push(`export ${KAFKA_VERSION_ENV}=${kafka.version}`);
  return lines;
}

/** Checks that a service answers; returns its server version. */
export async function probeService(name: ServiceName, url: string): Promise<string> {
  if (name === 'kafka') {
    await probeKafka(url);
    return process.env[KAFKA_VERSION_ENV] ?? 'unknown';
  }
  return name === 'nats' ? probeNats(url) : probeElasticsearch(url);
}

export function isResourceAlive(r: OwnedResource): boolean {
  return r.kind === 'process' ? isProcessGroupAlive(r.pgid, r.workDir) : true;
}

const HOW_TO_FIX =
  'Set KAFKA_BROKERS / NATS_URL / ELASTICSEARCH_URL, start a Docker engine, or install the local ' +
  'prerequisites (Java 17+ and Maven for Kafka, Java 21+ (or 17 for ES 8.19) and Maven for Elasticsearch, ' +
  'nats-server for NATS). EDR_TEST_SERVICES=none skips starting services.';

// ---------------------------------------------------------------- resolution

async function resolveService(
  name: ServiceName,
  runtime: ContainerRuntimeClient | undefined,
  mode: ServicesMode,
  log: (line: string) => void,
): Promise<StartedService> {
  const fromEnv = process.env[ENV_VARS[name]];
  if (fromEnv) {
    const version = await withTimeout(probeService(name, fromEnv), 30_000, `${ENV_VARS[name]}=${fromEnv}`);
    return { endpoint: { name, url: fromEnv, origin: 'env', version } };
  }
  if (runtime) return startInDocker(name, runtime);
  if (mode === 'docker') throw new Error('EDR_TEST_SERVICES=docker but no Docker engine answers');
  log(`[services] starting ${name} locally (no env variable, no Docker engine)`);
  if (name === 'kafka') return startLocalKafka();
  if (name === 'elasticsearch') return startLocalElasticsearch();
  return startLocalNats();
}

async function containerRuntimeFor(
  mode: ServicesMode,
  log: (line: string) => void,
): Promise<ContainerRuntimeClient | undefined> {
  const allFromEnv = SERVICE_NAMES.every((n) => process.env[ENV_VARS[n]]);
  if (mode === 'local' || mode === 'none' || allFromEnv) return undefined;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    return await withTimeout(getContainerRuntimeClient(), 15_000, 'Docker engine probe');
  } catch (err) {
    if (mode === 'docker')
      throw new Error(`EDR_TEST_SERVICES=docker but no Docker engine: ${errorMessage(err)}`);
    log('[services] no Docker engine answers; using local servers');
    return undefined;
  }
}

// ---------------------------------------------------------------- probes

async function probeKafka(brokers: string): Promise<void> {
  const kafka = new Kafka({
    clientId: 'edr-harness-probe',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) throw new Error('cluster reports no brokers');
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function probeNats(url: string): Promise<string> {
  const nc = await connect({ servers: url, timeout: 3_000, reconnect: false });
  try {
    // Fails when the server runs without JetStream, which the pipeline needs.
    await (await jetstreamManager(nc)).getAccountInfo();
    return nc.info?.version ?? 'unknown';
  } finally {
    await nc.close();
  }
}

async function probeElasticsearch(url: string): Promise<string> {
  const base = url.replace(/\/+$/, '');
  const health = await getJson(`${base}/_cluster/health?wait_for_status=yellow&timeout=5s`);
  const status = field(health, 'status');
  if (status !== 'green' && status !== 'yellow') throw new Error(`cluster health is ${String(status)}`);
  // GET / is not in the integ-test distribution (no rest-root module); the nodes API is everywhere.
  const nodes = field(await getJson(`${base}/_nodes/_local?filter_path=nodes.*.version`), 'nodes');
  const first = nodes && typeof nodes === 'object' ? Object.values(nodes)[0] : undefined;
  const version = field(first, 'version');
  return typeof version === 'string' ? version : 'unknown';
}

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  if (!res.ok) throw new Error(`GET ${url} -> HTTP ${res.status}`);
  return res.json();
}

function field(value: unknown, key: string): unknown {
  return value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
}

// ---------------------------------------------------------------- shared settings

function kafkaSettings(
  brokerHost: string,
  brokerPort: number,
  controllerPort: number,
): Record<string, string> {
  return {
    'process.roles': 'broker,controller',
    'node.id': '1',
    listeners: `PLAINTEXT://${brokerHost}:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${brokerHost}:${brokerPort}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'controller.quorum.bootstrap.servers': `127.0.0.1:${controllerPort}`,
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '3',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    'group.initial.rebalance.delay.ms': '0',
    'auto.create.topics.enable': 'true',
    'num.partitions': '3',
  };
}

function elasticsearchSettings(withSecurityModule: boolean): Record<string, string> {
  return {
    'discovery.type': 'single-node',
    'cluster.routing.allocation.disk.threshold_enabled': 'false',
    // Lets tests clean up with wildcard index deletes.
    'action.destructive_requires_name': 'false',
    ...(withSecurityModule ? { 'xpack.security.enabled': 'false' } : {}),
  };
}

const ES_HEAP = '-Xms512m -Xmx512m';

// ---------------------------------------------------------------- docker

async function startInDocker(name: ServiceName, runtime: ContainerRuntimeClient): Promise<StartedService> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const host = runtime.info.containerRuntime.host;
  if (name === 'kafka') {
    // Same port inside and outside, so the advertised listener works from the host.
    const port = await freePort();
    const env: Record<string, string> = { CLUSTER_ID: randomKafkaClusterId(), KAFKA_HEAP_OPTS: '-Xmx768m' };
    const { 'controller.quorum.bootstrap.servers': _, ...settings } = kafkaSettings('0.0.0.0', port, 9093);
    // The image formats storage itself, with static voters.
    settings['controller.quorum.voters'] = '1@127.0.0.1:9093';
    settings['advertised.listeners'] = `PLAINTEXT://${host}:${port}`;
    for (const [k, v] of Object.entries(settings)) env[`KAFKA_${k.toUpperCase().replaceAll('.', '_')}`] = v;
    const c = await new GenericContainer(`apache/kafka:${KAFKA_VERSION}`)
      .withExposedPorts({ container: port, host: port })
      .withEnvironment(env)
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .withStartupTimeout(180_000)
      .start();
    const url = `${host}:${port}`;
    await waitUntilReady('kafka', () => probeKafka(url), { timeoutMs: 60_000 });
    return dockerService(name, url, KAFKA_VERSION, c.getId());
  }
  if (name === 'elasticsearch') {
    const c = await new GenericContainer(`docker.elastic.co/elasticsearch/elasticsearch:${ES_VERSION_JAVA21}`)
      .withExposedPorts(9200)
      .withEnvironment({ ...elasticsearchSettings(true), ES_JAVA_OPTS: ES_HEAP })
      .withWaitStrategy(Wait.forHttp('/_cluster/health?wait_for_status=yellow&timeout=1s', 9200))
      .withStartupTimeout(180_000)
      .start();
    const url = `http://${c.getHost()}:${c.getMappedPort(9200)}`;
    return dockerService(name, url, await probeElasticsearch(url), c.getId());
  }
  const c = await new GenericContainer(NATS_IMAGE)
    .withCommand(['-js'])
    .withExposedPorts(4222)
    .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
    .start();
  const url = `nats://${c.getHost()}:${c.getMappedPort(4222)}`;
  return dockerService(name, url, await probeNats(url), c.getId());
}

function dockerService(name: ServiceName, url: string, version: string, containerId: string): StartedService {
  return {
    endpoint: { name, url, origin: 'docker', version },
    resource: { kind: 'container', service: name, containerId },
  };
}

async function stopContainer(r: ContainerResource): Promise<void> {
  const { getContainerRuntimeClient } = await import('testcontainers');
  const runtime = await getContainerRuntimeClient();
  const container = runtime.container.getById(r.containerId);
  await runtime.container.stop(container, { timeout: 10_000 }).catch(() => {});
  await runtime.container.remove(container, { removeVolumes: true }).catch(() => {});
}

// ---------------------------------------------------------------- local Kafka

async function startLocalKafka(): Promise<StartedService> {
  const java = requireJdk(17, 'local Kafka');
  const classpath = await kafkaClasspath(KAFKA_VERSION);
  const workDir = await mkdtemp(join(tmpdir(), 'clawdstrike-kafka-'));
  const [brokerPort, controllerPort] = [await freePort(), await freePort()];
  const settings = {
    ...kafkaSettings('127.0.0.1', brokerPort, controllerPort),
    'log.dirs': join(workDir, 'data'),
  };
  const propsFile = join(workDir, 'server.properties');
  await writeFile(propsFile, propertiesText(settings));
  await writeFile(join(workDir, 'log4j2.properties'), kafkaLog4j(join(workDir, 'server.log')));
  const jvmArgs = ['-cp', classpath, `-Dlog4j2.configurationFile=${join(workDir, 'log4j2.properties')}`];
  // KRaft storage must be formatted before first start; --standalone makes this node the sole voter.
  const formatArgs = ['format', '-t', randomKafkaClusterId(), '-c', propsFile, '--standalone'];
  await run(java.bin, [...jvmArgs, 'kafka.tools.StorageTool', ...formatArgs], 'Kafka storage format');
  const heap = ['-Xms256m', '-Xmx768m', '-Djava.awt.headless=true'];
  const { resource, child } = await spawnGroup(
    'kafka',
    java.bin,
    [...heap, ...jvmArgs, 'kafka.Kafka', propsFile],
    workDir,
  );
  const url = `127.0.0.1:${brokerPort}`;
  await readyOrStop(resource, child, () => probeKafka(url), 120_000);
  return { endpoint: { name: 'kafka', url, origin: 'local', version: KAFKA_VERSION }, resource };
}

/** Resolves the broker's jars through Maven once; the classpath file is cached in .cache/kafka. */
function kafkaClasspath(version: string): Promise<string> {
  // slf4j 2 + log4j2 binding as in the Kafka distribution; kafka_2.13 alone brings slf4j 1.7 and no binding.
  const dependencies = [
    ['org.slf4j', 'slf4j-api', '2.0.17'],
    ['org.apache.kafka', 'kafka_2.13', version],
    ['org.apache.logging.log4j', 'log4j-slf4j2-impl', '2.24.3'],
    ['org.apache.logging.log4j', 'log4j-core', '2.24.3'],
  ] as const;
  return mavenClasspath(join(CACHE_DIR, 'kafka', version), 'kafka-runtime', dependencies);
}

/**
 * Kafka's perf tools (org.apache.kafka.tools.ProducerPerformance, ConsumerPerformance) of the broker's
 * version, resolved like the broker's jars; cached in .cache/kafka-tools.
 */
export function kafkaToolsClasspath(version: string = KAFKA_VERSION): Promise<string> {
  const dependencies = [
    ['org.apache.kafka', 'kafka-tools', version],
    ['org.slf4j', 'slf4j-nop', '1.7.36'],
  ] as const;
  return mavenClasspath(join(CACHE_DIR, 'kafka-tools', version), 'kafka-tools', dependencies);
}

async function mavenClasspath(
  dir: string,
  artifactId: string,
  dependencies: readonly (readonly [string, string, string])[],
): Promise<string> {
  const cpFile = join(dir, 'classpath.txt');
  const cached = existsSync(cpFile) ? (await readFile(cpFile, 'utf8')).trim() : '';
  if (cached !== '' && cached.split(delimiter).every((jar) => existsSync(jar))) return cached;
  requireCommand('mvn', `Maven (mvn) resolves the jars of ${artifactId}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'pom.xml'), pom(artifactId, dependencies));
  const args = [
    '-q',
    '-B',
    '-f',
    join(dir, 'pom.xml'),
    'dependency:build-classpath',
    `-Dmdep.outputFile=${cpFile}`,
  ];
  const [, main, version] = dependencies.find(([group]) => group === 'org.apache.kafka')!;
  await run('mvn', args, `Maven resolve of org.apache.kafka:${main}:${version}`);
  return (await readFile(cpFile, 'utf8')).trim();
}

function pom(artifactId: string, dependencies: readonly (readonly [string, string, string])[]): string {
  const dep = ([g, a, v]: readonly [string, string, string]) =>
    `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
  return `<project>
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.clawdstrike-edr</groupId>
  <artifactId>${artifactId}</artifactId>
  <version>1</version>
  <dependencies>
${dependencies.map(dep).join('\n')}
  </dependencies>
</project>
`;
}

function kafkaLog4j(logFile: string): string {
  return propertiesText({
    status: 'warn',
    'appender.file.type': 'File',
    'appender.file.name': 'file',
    'appender.file.fileName': logFile,
    'appender.file.layout.type': 'PatternLayout',
    'appender.file.layout.pattern': '[%d] %p %m (%c)%n',
    'rootLogger.level': 'info',
    'rootLogger.appenderRef.file.ref': 'file',
  });
}

/** Kafka's Uuid: 16 random bytes, base64url without padding, never starting with '-'. */
function randomKafkaClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

// ---------------------------------------------------------------- local Elasticsearch

async function startLocalElasticsearch(): Promise<StartedService> {
  const node = await prepareLocalElasticsearch();
  const { resource, child } = await spawnGroup('elasticsearch', node.bin, node.args, node.workDir);
  const actual = await readyOrStop(resource, child, () => probeElasticsearch(node.url), 180_000);
  const note = 'integ-test distribution';
  return {
    endpoint: { name: 'elasticsearch', url: node.url, origin: 'local', version: actual, note },
    resource,
  };
}

interface PreparedElasticsearch {
  url: string;
  workDir: string;
  bin: string;
  args: string[];
}

/** Config, data and log folders of a new single-node Elasticsearch, and the command that starts it. */
async function prepareLocalElasticsearch(): Promise<PreparedElasticsearch> {
  const { version, java } = chooseElasticsearch();
  const runAs = process.getuid?.() === 0 ? await ensureEsUser() : undefined;
  const home = await elasticsearchHome(version, runAs);
  const workDir = await mkdtemp(join(tmpdir(), 'clawdstrike-es-'));
  const [httpPort, transportPort] = [await freePort(), await freePort()];
  const confDir = join(workDir, 'config');
  await mkdir(confDir, { recursive: true });
  for (const f of await readdir(join(home, 'config'))) {
    if (f.endsWith('.options') || f === 'log4j2.properties')
      await copyFile(join(home, 'config', f), join(confDir, f));
  }
  await mkdir(join(confDir, 'jvm.options.d'), { recursive: true });
  const settings: Record<string, string> = {
    ...elasticsearchSettings(existsSync(join(home, 'modules', 'x-pack-security'))),
    'cluster.name': 'clawdstrike-edr-test',
    'node.name': 'node-1',
    'network.host': '127.0.0.1',
    'http.port': String(httpPort),
    'transport.port': String(transportPort),
    'path.data': join(workDir, 'data'),
    'path.logs': join(workDir, 'logs'),
  };
  await writeFile(join(confDir, 'elasticsearch.yml'), yamlText(settings));
  for (const d of ['data', 'logs', 'tmp']) await mkdir(join(workDir, d), { recursive: true });
  if (runAs) await run('chown', ['-R', `${runAs}:`, workDir], 'chown of the Elasticsearch folder');
  await chmod(workDir, 0o755);
  const env = [
    `ES_JAVA_HOME=${java.home}`,
    `ES_PATH_CONF=${confDir}`,
    `ES_TMPDIR=${join(workDir, 'tmp')}`,
    `ES_JAVA_OPTS=${ES_HEAP}`,
  ];
  const command = ['env', ...env, join(home, 'bin', 'elasticsearch')];
  // Elasticsearch refuses to run as root.
  const [bin, ...args] = runAs ? ['runuser', '-u', runAs, '--', ...command] : command;
  return { url: `http://127.0.0.1:${httpPort}`, workDir, bin: bin!, args };
}

/** An Elasticsearch node of one test's own, for drills that kill it: never the shared one. */
export interface OwnElasticsearch {
  url: string;
  /** SIGKILL to the whole process group, as a crash or the OOM killer would; data stays on disk. */
  kill(): Promise<void>;
  /** Starts it again on the same data and port; resolves once the cluster is at least yellow. */
  restart(): Promise<void>;
  /** Stops it and removes its folder. */
  stop(): Promise<void>;
}

/**
 * Starts a single-node Elasticsearch (the local integ-test distribution, as the harness does without Docker)
 * that the caller may kill and restart. Takes about 15-20 s to become ready here.
 */
export async function startOwnElasticsearch(): Promise<OwnElasticsearch> {
  const node = await prepareLocalElasticsearch();
  let current = await spawnGroup('elasticsearch', node.bin, node.args, node.workDir);
  await readyOrStop(current.resource, current.child, () => probeElasticsearch(node.url), 180_000);
  return {
    url: node.url,
    async kill() {
      signalGroup(current.resource.pgid, 'SIGKILL');
      await pollUntil(() => !isProcessGroupAlive(current.resource.pgid, node.workDir), 20_000);
      untrack(current.resource);
    },
    async restart() {
      current = await spawnGroup('elasticsearch', node.bin, node.args, node.workDir);
      await readyOrStop(current.resource, current.child, () => probeElasticsearch(node.url), 180_000);
    },
    async stop() {
      await stopProcess(current.resource);
    },
  };
}

function chooseElasticsearch(): { version: string; java: Jdk } {
  const wanted = process.env.EDR_TEST_ES_VERSION;
  const java21 = findJdk(21);
  if (wanted)
    return {
      version: wanted,
      java: requireJdk(wanted.startsWith('8.') ? 17 : 21, `Elasticsearch ${wanted}`),
    };
  if (java21) return { version: ES_VERSION_JAVA21, java: java21 };
  return { version: ES_VERSION_JAVA17, java: requireJdk(17, 'local Elasticsearch') };
}

/** Downloads the integ-test zip through Maven once and unpacks it into the cache. */
async function elasticsearchHome(version: string, runAs: string | undefined): Promise<string> {
  const cacheRoot = await esCacheRoot(runAs);
  const home = join(cacheRoot, `elasticsearch-${version}`);
  if (existsSync(join(home, 'bin', 'elasticsearch'))) return home;
  requireCommand('mvn', 'Maven (mvn) downloads the Elasticsearch integ-test zip');
  const staging = await mkdtemp(join(cacheRoot, '.staging-'));
  try {
    const artifact = `org.elasticsearch.distribution.integ-test-zip:elasticsearch:${version}:zip`;
    const mvnArgs = ['-q', '-B', 'dependency:copy', `-Dartifact=${artifact}`, `-DoutputDirectory=${staging}`];
    await run('mvn', mvnArgs, `Maven download of ${artifact}`, staging);
    await unzip(join(staging, `elasticsearch-${version}.zip`), staging);
    await chmodExecutables(join(staging, `elasticsearch-${version}`, 'bin'));
    await rename(join(staging, `elasticsearch-${version}`), home).catch((err: unknown) => {
      if (!existsSync(join(home, 'bin', 'elasticsearch'))) throw err; // a parallel run won the race
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return home;
}

/** The ES user must be able to read the unpacked distribution; repo folders under /root are not readable. */
async function esCacheRoot(runAs: string | undefined): Promise<string> {
  const repoCache = join(CACHE_DIR, 'elasticsearch');
  await mkdir(repoCache, { recursive: true });
  if (!runAs || (await canAccessAs(runAs, repoCache))) return repoCache;
  const fallback = join(tmpdir(), 'clawdstrike-edr-cache', 'elasticsearch');
  await mkdir(fallback, { recursive: true, mode: 0o755 });
  return fallback;
}

async function canAccessAs(user: string, dir: string): Promise<boolean> {
  try {
    await execFileAsync('runuser', ['-u', user, '--', 'test', '-x', dir]);
    return true;
  } catch {
    return false;
  }
}

async function ensureEsUser(): Promise<string> {
  requireCommand('runuser', 'runuser runs Elasticsearch as a non-root user');
  try {
    await execFileAsync('id', ['-u', ES_USER]);
  } catch {
    requireCommand('useradd', 'useradd creates the Elasticsearch user');
    const args = ['--system', '--no-create-home', '--user-group', '--shell', '/usr/sbin/nologin', ES_USER];
    await run('useradd', args, `creating user ${ES_USER}`).catch(async (err: unknown) => {
      await execFileAsync('id', ['-u', ES_USER]).catch(() => Promise.reject(err)); // created concurrently?
    });
  }
  return ES_USER;
}

async function unzip(zip: string, into: string): Promise<void> {
  if (findCommand('unzip')) {
    await run('unzip', ['-q', zip, '-d', into], 'unzip');
    return;
  }
  const jdk = listJdks().find((j) => existsSync(join(j.home, 'bin', 'jar')));
  const jar = jdk && join(jdk.home, 'bin', 'jar');
  if (!jar) throw new Error('neither unzip nor a JDK jar tool found to unpack Elasticsearch');
  await run(jar, ['xf', zip], 'jar xf', into);
}

/** `jar xf` drops the executable bits. */
async function chmodExecutables(binDir: string): Promise<void> {
  for (const f of await readdir(binDir)) await chmod(join(binDir, f), 0o755);
}

// ---------------------------------------------------------------- local NATS

async function startLocalNats(): Promise<StartedService> {
  const existing = 'nats://127.0.0.1:4222';
  const version = await probeNats(existing).catch(() => undefined);
  if (version) {
    const note = 'already running, not managed';
    return { endpoint: { name: 'nats', url: existing, origin: 'local', version, note } };
  }
  const bin = findCommand('nats-server');
  if (!bin)
    throw new Error('nothing with JetStream answers on 127.0.0.1:4222 and nats-server is not installed');
  const workDir = await mkdtemp(join(tmpdir(), 'clawdstrike-nats-'));
  const port = await freePort();
  const args = ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', join(workDir, 'jetstream')];
  const { resource, child } = await spawnGroup('nats', bin, args, workDir);
  const url = `nats://127.0.0.1:${port}`;
  const actual = await readyOrStop(resource, child, () => probeNats(url), 30_000);
  return { endpoint: { name: 'nats', url, origin: 'local', version: actual }, resource };
}

// ---------------------------------------------------------------- processes

/**
 * Starts a process as leader of its own group (output to workDir/stdout.log) so the whole group can be
 * killed, and tracks it so it dies with this process until released.
 */
async function spawnGroup(
  service: ServiceName,
  bin: string,
  args: string[],
  workDir: string,
): Promise<{ resource: ProcessResource; child: ChildProcess }> {
  const fd = openSync(join(workDir, 'stdout.log'), 'a');
  try {
    const child = spawn(bin, args, { cwd: workDir, detached: true, stdio: ['ignore', fd, fd] });
    await new Promise<void>((ok, fail) => {
      child.once('spawn', ok);
      child.once('error', fail);
    });
    if (child.pid === undefined) throw new Error(`${bin} did not start`);
    const resource: ProcessResource = { kind: 'process', service, pgid: child.pid, workDir };
    track(resource);
    return { resource, child };
  } finally {
    closeSync(fd);
  }
}

async function readyOrStop<T>(
  resource: ProcessResource,
  child: ChildProcess,
  probe: () => Promise<T>,
  timeoutMs: number,
): Promise<T> {
  try {
    const result = await waitUntilReady(resource.service, probe, { timeoutMs, child });
    // The harness keeps the group alive by pid, not by handle: let this process exit freely.
    child.unref();
    return result;
  } catch (err) {
    const logs = tailLogs(resource.workDir);
    await stopProcess(resource);
    throw new Error(`${errorMessage(err)}${logs ? `\n--- last log lines ---\n${logs}` : ''}`);
  }
}

async function waitUntilReady<T>(
  what: string,
  probe: () => Promise<T>,
  opts: { timeoutMs: number; child?: ChildProcess },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (opts.child && (opts.child.exitCode !== null || opts.child.signalCode !== null)) {
      throw new Error(`${what} exited early (code ${opts.child.exitCode ?? opts.child.signalCode})`);
    }
    try {
      return await probe();
    } catch (err) {
      lastError = err;
      await sleep(500);
    }
  }
  throw new Error(`${what} not ready after ${opts.timeoutMs / 1000}s: ${errorMessage(lastError)}`);
}

function tailLogs(workDir: string): string {
  const files = ['stdout.log', 'server.log'].map((f) => join(workDir, f)).filter((f) => existsSync(f));
  return files
    .map((f) => readFileSync(f, 'utf8').trimEnd().split('\n').slice(-15).join('\n'))
    .filter(Boolean)
    .join('\n');
}

async function stopProcess(r: ProcessResource): Promise<void> {
  if (isProcessGroupAlive(r.pgid, r.workDir)) {
    signalGroup(r.pgid, 'SIGTERM');
    const stopped = await pollUntil(() => !isProcessGroupAlive(r.pgid, r.workDir), 20_000);
    if (!stopped) {
      signalGroup(r.pgid, 'SIGKILL');
      await pollUntil(() => !isProcessGroupAlive(r.pgid, r.workDir), 5_000);
    }
  }
  await rm(r.workDir, { recursive: true, force: true });
  untrack(r);
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

/** True when a live (non-zombie) process of the group still mentions workDir, so a reused pgid is not ours. */
export function isProcessGroupAlive(pgid: number, marker: string): boolean {
  if (!existsSync('/proc/self/stat')) {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) !== pgid || state === 'Z') continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) return true;
    } catch {
      // Process vanished while scanning.
    }
  }
  return false;
}

// ---------------------------------------------------------------- cleanup on exit

const ownershipFile = join(STATE_DIR, `owned-${process.pid}.json`);
/** Process groups this process must kill when it ends: everything it started and has not released. */
const tracked = new Map<string, ProcessResource>();

function track(r: ProcessResource): void {
  installExitCleanup();
  tracked.set(r.workDir, r);
  writeOwnership();
}

function untrack(r: OwnedResource): void {
  if (r.kind === 'process' && tracked.delete(r.workDir)) writeOwnership();
}

/** Mirrors `tracked` on disk, so a later run can clean up after a crash (e.g. SIGKILL). */
function writeOwnership(): void {
  if (tracked.size === 0) {
    rmSync(ownershipFile, { force: true });
    return;
  }
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(
    ownershipFile,
    JSON.stringify({ pid: process.pid, resources: [...tracked.values()] }, null, 2),
  );
}

/** Stops servers left behind by test runs that died without teardown (e.g. SIGKILL). */
async function reapOrphans(): Promise<void> {
  if (!existsSync(STATE_DIR)) return;
  for (const f of await readdir(STATE_DIR)) {
    const owner = /^owned-(\d+)\.json$/.exec(f)?.[1];
    if (!owner || isPidAlive(Number(owner))) continue;
    const parsed: unknown = JSON.parse(await readFile(join(STATE_DIR, f), 'utf8'));
    const resources = field(parsed, 'resources');
    if (Array.isArray(resources)) await Promise.all(resources.filter(isProcessResource).map(stopProcess));
    await rm(join(STATE_DIR, f), { force: true });
  }
}

export function isProcessResource(value: unknown): value is ProcessResource {
  return (
    field(value, 'kind') === 'process' &&
    typeof field(value, 'pgid') === 'number' &&
    typeof field(value, 'workDir') === 'string'
  );
}

function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let exitCleanupInstalled = false;

/** Kills tracked process groups if this process ends without teardown (containers are left to Ryuk). */
function installExitCleanup(): void {
  if (exitCleanupInstalled) return;
  exitCleanupInstalled = true;
  const killAll = () => {
    for (const r of tracked.values()) {
      signalGroup(r.pgid, 'SIGKILL');
      rmSync(r.workDir, { recursive: true, force: true });
    }
    tracked.clear();
    rmSync(ownershipFile, { force: true });
  };
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      // Re-raise with default behaviour unless someone else (e.g. vitest) handles the signal.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

// ---------------------------------------------------------------- JDKs and commands

interface Jdk {
  home: string;
  bin: string;
  major: number;
}

/** A JDK with at least `minMajor`: the default `java` when it qualifies, else the newest under /usr/lib/jvm. */
function findJdk(minMajor: number): Jdk | undefined {
  const candidates = listJdks().filter((j) => j.major >= minMajor);
  const defaultJava = findCommand('java');
  const preferred = candidates.find((j) => defaultJava && safeRealpath(defaultJava) === safeRealpath(j.bin));
  return preferred ?? candidates.sort((a, b) => b.major - a.major)[0];
}

export function requireJdk(minMajor: number, purpose: string): Jdk {
  const jdk = findJdk(minMajor);
  if (!jdk) throw new Error(`${purpose} needs Java ${minMajor}+; none found (JAVA_HOME, PATH, /usr/lib/jvm)`);
  return jdk;
}

function listJdks(): Jdk[] {
  const homes = new Set<string>();
  if (process.env.JAVA_HOME) homes.add(process.env.JAVA_HOME);
  const onPath = findCommand('java');
  if (onPath) homes.add(dirname(dirname(safeRealpath(onPath))));
  if (existsSync('/usr/lib/jvm')) {
    for (const d of readdirSync('/usr/lib/jvm')) homes.add(join('/usr/lib/jvm', d));
  }
  const seen = new Set<string>();
  const jdks: Jdk[] = [];
  for (const home of homes) {
    const bin = join(home, 'bin', 'java');
    const real = safeRealpath(bin);
    if (!existsSync(bin) || seen.has(real)) continue;
    seen.add(real);
    const major = javaMajor(home);
    if (major) jdks.push({ home, bin, major });
  }
  return jdks;
}

/** Reads the JDK's `release` file (JAVA_VERSION="17.0.15" or "1.8.0_392"). */
function javaMajor(home: string): number | undefined {
  try {
    const release = readFileSync(join(home, 'release'), 'utf8');
    const v = /JAVA_VERSION="([^"]+)"/.exec(release)?.[1];
    if (!v) return undefined;
    const parts = v.split('.').map(Number);
    return parts[0] === 1 ? parts[1] : parts[0];
  } catch {
    return undefined;
  }
}

function safeRealpath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

function findCommand(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

function requireCommand(name: string, purpose: string): void {
  if (!findCommand(name)) throw new Error(`${name} not found on PATH: ${purpose}`);
}

// ---------------------------------------------------------------- small utilities

async function run(bin: string, args: string[], what: string, cwd?: string): Promise<void> {
  try {
    await execFileAsync(bin, args, { cwd, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const out = `${field(err, 'stdout') ?? ''}${field(err, 'stderr') ?? ''}`.trim().split('\n').slice(-20);
    throw new Error(`${what} failed: ${errorMessage(err)}\n${out.join('\n')}`);
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', ok));
  const address = server.address();
  await new Promise<void>((ok) => server.close(() => ok()));
  if (!address || typeof address === 'string') throw new Error('could not allocate a free port');
  return address.port;
}

function propertiesText(settings: Record<string, string>): string {
  return `${Object.entries(settings)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

function yamlText(settings: Record<string, string>): string {
  return `${Object.entries(settings)
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
    .join('\n')}\n`;
}

async function pollUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await sleep(200);
  }
  return condition();
}

function sleep(ms: number): Promise<void> {
  return new Promise((ok) => setTimeout(ok, ms));
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`${what}: no answer within ${ms / 1000}s`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
