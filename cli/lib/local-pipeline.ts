import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { buildCollector, CollectorConfigSchema } from '../../collector/index.ts';
import type { ConsoleSettings } from '../../console/server/config.ts';
import { type RunningConsole, startConsole } from '../../console/server/serve.ts';
import { SqliteConsoleStore } from '../../console/store/index.ts';
import { ENV_PREFIX } from '../../core/config.ts';
import { type Processor, ProcessorConfigSchema } from '../../processor/index.ts';
import type { SinksConfigInput, WebhookSinkConfig } from '../../sinks/index.ts';
import { createTransport, type Transport, TransportConfigSchema } from '../../transport/index.ts';
import { createProcessor } from '../commands/processor.ts';
import { BUNDLED_RULES } from './inputs.ts';

export interface LocalPipelineOptions {
  dataDir: string;
  host: string;
  port: number;
  metricsPort: number;
  rules?: string[];
  intel: string[];
  assets: string[];
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'silent';
  /** Serve the triage console over the SQLite sink's database (<data-dir>/console.db) on this port. */
  console?: { port: number; settings: ConsoleSettings };
  /** Response webhooks: the processor calls them for the rules' actions, the console for manual ones. */
  webhooks?: readonly WebhookSinkConfig[];
  /** processor.reportIntervalMs (tests: rule counts and webhook outcomes reach the console sooner). */
  reportIntervalMs?: number;
  /** More sinks for the processor (tests: an Elasticsearch sink under a prefix of their own). */
  extraSinks?: NonNullable<SinksConfigInput['sinks']>;
}

export type ApiKeyOrigin = 'environment' | 'saved' | 'generated';

export interface LocalPipeline {
  collectorUrl: string;
  metricsUrl: string;
  apiKey: string;
  apiKeyOrigin: ApiKeyOrigin;
  apiKeyFile: string;
  /** The in-process transport; consumers (e.g. the demo's alert printer) can join it. */
  transport: Transport;
  processor: Processor;
  /** The triage console, when asked for. */
  console: RunningConsole | undefined;
  stop(): Promise<void>;
}

/**
 * The whole pipeline in one process with no external services: collector and processor share the memory
 * transport, sinks write JSONL and the SQLite database (console.db) under the data directory, the starter
 * rules run, and, when asked, the triage console reads that database. Nothing survives a restart
 * except what the sinks wrote; the API key is kept in the data directory so clients keep working, and so is
 * the key of the redaction digests (data/redaction-key).
 */
export async function startLocalPipeline(options: LocalPipelineOptions): Promise<LocalPipeline> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const key = apiKey(dataDir);
  const transport = createTransport(TransportConfigSchema.parse({ kind: 'memory' }));

  const collectorConfig = CollectorConfigSchema.parse({
    server: { host: options.host, port: options.port, logLevel: options.logLevel },
    transport: { kind: 'memory' },
    auth: { keys: [{ id: 'local', sha256: sha256(key.value), scopes: ['ingest', 'read'] }] },
  });
  const processorConfig = ProcessorConfigSchema.parse({
    processor: {
      host: options.host,
      port: options.metricsPort,
      logLevel: options.logLevel,
      group: 'local',
      checkpoints: false,
      ...(options.rules?.length ? { rules: options.rules } : {}),
      intel: options.intel,
      assets: options.assets,
      ...(options.reportIntervalMs ? { reportIntervalMs: options.reportIntervalMs } : {}),
    },
    transport: { kind: 'memory' },
    sinks: {
      deadLetter: { path: join(dataDir, 'dead-letters.jsonl') },
      sinks: [
        { type: 'file', directory: dataDir },
        { type: 'sqlite', path: join(dataDir, 'console.db') },
        ...(options.webhooks ?? []),
        ...(options.extraSinks ?? []),
      ],
    },
    // Beside the API key, so digests of equal secrets stay equal across restarts.
    redaction: { keyFile: join(dataDir, 'redaction-key') },
  });

  const processor = createProcessor(processorConfig, pino({ level: options.logLevel }), transport);
  await processor.start();
  const collector = await buildCollector(collectorConfig, { transport });
  let collectorUrl: string;
  try {
    collectorUrl = await collector.listen({ host: options.host, port: options.port });
  } catch (error) {
    await collector.close();
    await processor.stop();
    throw error;
  }
  let consoleServer: RunningConsole | undefined;
  if (options.console) {
    try {
      consoleServer = await startConsole(options.console.settings, {
        store: new SqliteConsoleStore({ path: join(dataDir, 'console.db') }),
        rulePaths: options.rules?.length ? options.rules : [BUNDLED_RULES],
        webhooks: options.webhooks ?? [],
        listen: { host: options.host, port: options.console.port },
        logger: { level: options.logLevel },
      });
    } catch (error) {
      await collector.close();
      await processor.stop();
      throw error;
    }
  }
  return {
    collectorUrl,
    metricsUrl: processor.address,
    apiKey: key.value,
    apiKeyOrigin: key.origin,
    apiKeyFile: key.file,
    transport,
    processor,
    console: consoleServer,
    async stop() {
      await consoleServer?.stop();
      await collector.close();
      await processor.stop();
    },
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** CLAWDSTRIKE_EDR_API_KEY when set; else the key saved in the data directory; else a new one, saved there. */
function apiKey(dataDir: string): { value: string; origin: ApiKeyOrigin; file: string } {
  const file = join(dataDir, 'api-key');
  const fromEnv = process.env[`${ENV_PREFIX}API_KEY`];
  if (fromEnv) return { value: fromEnv, origin: 'environment', file };
  if (existsSync(file)) return { value: readFileSync(file, 'utf8').trim(), origin: 'saved', file };
  const value = `cse_${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return { value, origin: 'generated', file };
}
