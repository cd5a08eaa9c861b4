/**
 * Helpers for end-to-end pipeline tests and bench/pipeline.ts: wiring processors (in process or as a child
 * process of the real CLI), publishing scenario events the way the collector does, and reading back what
 * came out (alerts stream, file sink, metrics, logs).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type Logger, pino } from 'pino';
import { afterEach, vi } from 'vitest';
import { stringify } from 'yaml';
import { createProcessor } from '../../cli/commands/processor.ts';
import { recordsFor } from '../../collector/ingest/routing.ts';
import { type Alert, parseRecord } from '../../engine/index.ts';
import { type Processor, type ProcessorConfig, ProcessorConfigSchema } from '../../processor/index.ts';
import {
  createTransport,
  type Message,
  type OutboundRecord,
  type Producer,
  type Transport,
  type TransportConfig,
  type TransportKind,
} from '../../transport/index.ts';
import {
  dropTransportResources,
  isolatedTransportConfig,
  silentLogger,
} from '../../transport/testing/index.ts';
import type { WireEvent } from './scenarios.ts';
import { REPO_ROOT } from './shared.ts';

/** Runs registered clean-ups after each test, last registered first, even when the test failed. */
export function useCleanup(): (cleanup: () => unknown) => void {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    const errors: unknown[] = [];
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw errors[0];
  });
  return (cleanup) => {
    cleanups.push(cleanup);
  };
}

export async function tempDir(label: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `edr-${label}-`));
}

export const removeDir = (path: string) => rm(path, { recursive: true, force: true });

export interface PipelineFixture {
  /** Topic/stream names of this test alone. */
  config: TransportConfig;
  /** A transport on those names, for publishing and reading back. */
  publisher: Transport;
  /** Where the processors' file sink writes. */
  directory: string;
}

/**
 * pipelineFixture overrides for a test that kills a Kafka member: a dead member holds its partitions until its
 * session times out, so a short session lets the next processor take them over within seconds.
 */
export const QUICK_REJOIN = { kafka: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 1_000 } } as const;

/** An isolated broker namespace, a publisher on it and a sink directory, all removed after the test. */
export async function pipelineFixture(
  defer: (cleanup: () => unknown) => void,
  kind: TransportKind,
  label: string,
  overrides: Record<string, unknown> = {},
): Promise<PipelineFixture> {
  const config = isolatedTransportConfig(kind, overrides);
  const publisher = createTransport(config, { logger: silentLogger });
  defer(() => dropTransportResources(config));
  defer(() => publisher.close());
  const directory = await tempDir(label);
  defer(() => removeDir(directory));
  return { config, publisher, directory };
}

/** The events-stream record of each wire event, exactly as the collector publishes it. */
export function eventRecords(events: readonly WireEvent[], receivedAt = new Date()): OutboundRecord[] {
  return events.map((raw) => {
    const parsed = parseRecord(raw, { receivedAt: receivedAt.toISOString() });
    if (!parsed.ok) throw new Error(`event does not parse: ${JSON.stringify(parsed.error)}`);
    return recordsFor(parsed.value).find((record) => record.stream === 'events')!;
  });
}

/** Publishes in order, `chunk` records per publish, optionally pausing between chunks to pace a stream. */
export async function publishInChunks(
  producer: Producer,
  records: readonly OutboundRecord[],
  options: { chunk?: number; pauseMs?: number; onChunk?: (published: number) => void } = {},
): Promise<void> {
  const { chunk = 1_000, pauseMs = 0 } = options;
  for (let start = 0; start < records.length; start += chunk) {
    await producer.publish(records.slice(start, start + chunk));
    options.onChunk?.(Math.min(records.length, start + chunk));
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}

export const alertOf = (message: Message): Alert =>
  JSON.parse(Buffer.from(message.value).toString('utf8')) as Alert;

export const alertIdsOf = (alerts: readonly Alert[]): string[] => alerts.map((alert) => alert.alertId);

/** True once every id in `expected` is among the alerts read so far (for collect's `until`). */
export const coversAlerts =
  (expected: readonly Alert[]) =>
  (messages: readonly Message[]): boolean => {
    const seen = new Set(messages.map((message) => alertOf(message).alertId));
    return expected.every((alert) => seen.has(alert.alertId));
  };

/** Every alert the file sink wrote under `directory`, rotated files included. */
export async function fileSinkAlerts(directory: string): Promise<Alert[]> {
  const names = await readdir(directory).catch(() => [] as string[]);
  const alerts: Alert[] = [];
  for (const name of names.filter((file) => /^alerts.*\.jsonl$/.test(file))) {
    const text = await readFile(join(directory, name), 'utf8');
    for (const line of text.split('\n')) if (line.trim() !== '') alerts.push(JSON.parse(line) as Alert);
  }
  return alerts;
}

/** The (agentId, eventId) of every event line the file sink wrote under `directory`, rotated files included, repeats kept. */
export async function fileSinkEventKeys(
  directory: string,
): Promise<Array<{ agentId: string; eventId: string }>> {
  const names = await readdir(directory).catch(() => [] as string[]);
  const keys: Array<{ agentId: string; eventId: string }> = [];
  for (const name of names.filter((file) => /^events.*\.jsonl$/.test(file))) {
    const text = await readFile(join(directory, name), 'utf8');
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      const { agentId, eventId } = JSON.parse(line) as { agentId: string; eventId: string };
      keys.push({ agentId, eventId });
    }
  }
  return keys;
}

/** The eventId of every event line the file sink wrote under `directory`, rotated files included, repeats kept. */
export async function fileSinkEventIds(directory: string): Promise<string[]> {
  return (await fileSinkEventKeys(directory)).map(({ eventId }) => eventId);
}

export interface ProcessorConfigOptions {
  group: string;
  /** Temp folder for the file sink (`<directory>/sinks`) and the sink dead letters. */
  directory: string;
  processor?: Record<string, unknown>;
  /** Replaces the default file sink. */
  sinks?: readonly Record<string, unknown>[];
}

/** A processor config on the given transport: health on 127.0.0.1 with a free port, quiet, a file sink. */
export function processorConfig(
  transport: TransportConfig,
  options: ProcessorConfigOptions,
): ProcessorConfig {
  return ProcessorConfigSchema.parse({
    processor: {
      host: '127.0.0.1',
      port: 0,
      logLevel: 'silent',
      group: options.group,
      watch: false,
      ...options.processor,
    },
    transport,
    sinks: {
      deadLetter: { path: join(options.directory, 'sink-dead-letters.jsonl'), fsync: false },
      sinks: options.sinks ?? [{ type: 'file', directory: join(options.directory, 'sinks') }],
    },
  });
}

export async function startProcessor(
  config: ProcessorConfig,
  log: Logger = quietLogger(),
): Promise<Processor> {
  const processor = createProcessor(config, log);
  await processor.start();
  return processor;
}

export const quietLogger = (): Logger => pino({ level: 'silent' });

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A pino logger whose JSON lines are kept in memory, for asserting on what was logged. */
export function capturingLogger(level = 'info'): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() !== '') lines.push(JSON.parse(line) as LogLine);
      }
      done();
    },
  });
  return { log: pino({ level }, destination), lines };
}

export async function scrapeMetrics(address: string): Promise<string> {
  const response = await fetch(`${address}/metrics`);
  if (!response.ok) throw new Error(`${address}/metrics answered ${response.status}`);
  return response.text();
}

/** Sum of a metric's samples whose labels include `labels` (0 when it has none yet). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? ([^ ]+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = new Map(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, key, value]) => [key, value]),
    );
    if (Object.entries(labels).every(([key, value]) => present.get(key) === value)) sum += Number(match[3]);
  }
  return sum;
}

export async function eventsProcessed(address: string): Promise<number> {
  return metricValue(await scrapeMetrics(address), 'edr_processor_events_total');
}

/** Polls until the processor at `address` has run `count` events through its engines. */
export async function waitForEventsProcessed(address: string, count: number, timeoutMs = 30_000) {
  await vi.waitFor(
    async () => {
      const processed = await eventsProcessed(address);
      if (processed < count) throw new Error(`processed ${processed} of ${count} events`);
    },
    { timeout: timeoutMs, interval: 100 },
  );
}

/** The real CLI (`bin/clawdstrike-edr.js processor`) in a child process; logs are kept for the report. */
export interface ProcessorChild {
  child: ChildProcess;
  /** Resolves with the health/metrics URL once the processor logs it (it consumes by then). */
  address: Promise<string>;
  exited: Promise<number | null>;
  output(): string;
}

export async function writeConfigFile(directory: string, name: string, config: unknown): Promise<string> {
  const path = join(directory, name);
  await writeFile(path, stringify(config));
  return path;
}

export function spawnProcessor(configPath: string): ProcessorChild {
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, 'bin', 'clawdstrike-edr.js'), 'processor', '--config', configPath],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } },
  );
  let output = '';
  let pending = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const address = new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output += text;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const entry = parseLogLine(line);
        if (entry?.msg === 'health and metrics listening' && typeof entry.address === 'string') {
          resolve(entry.address);
        }
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    void exited.then((code) =>
      reject(new Error(`processor exited (${code}) before listening:\n${output.slice(-4_000)}`)),
    );
  });
  address.catch(() => {}); // observed by whoever awaits it
  return { child, address, exited, output: () => output };
}

function parseLogLine(line: string): LogLine | undefined {
  try {
    return JSON.parse(line) as LogLine;
  } catch {
    return undefined;
  }
}

/** SIGTERM, then SIGKILL if it has not exited in time; resolves with the exit code (null when killed). */
export async function stopChild(processor: ProcessorChild, timeoutMs = 20_000): Promise<number | null> {
  if (processor.child.exitCode !== null || processor.child.signalCode !== null) return processor.exited;
  processor.child.kill('SIGTERM');
  const timer = setTimeout(() => processor.child.kill('SIGKILL'), timeoutMs);
  try {
    return await processor.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Rule ids and how many alerts each has, sorted, for readable set comparisons. */
export function countByRule(alerts: readonly Pick<Alert, 'ruleId'>[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { ruleId } of alerts) counts[ruleId] = (counts[ruleId] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}
