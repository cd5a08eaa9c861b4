import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { buildCollector, CollectorConfigSchema } from '../../collector/index.ts';
import { ENV_PREFIX } from '../../core/config.ts';
import { type Processor, ProcessorConfigSchema } from '../../processor/index.ts';
import { createTransport, type Transport, TransportConfigSchema } from '../../transport/index.ts';
import { createProcessor } from '../commands/processor.ts';

export interface LocalPipelineOptions {
  dataDir: string;
  host: string;
  port: number;
  metricsPort: number;
  rules?: string[];
  intel: string[];
  assets: string[];
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'silent';
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
  stop(): Promise<void>;
}

/**
 * The whole pipeline in one process with no external services: collector and processor share the memory
 * transport, sinks write JSONL under the data directory, the starter rules run. Nothing survives a restart
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
    },
    transport: { kind: 'memory' },
    sinks: {
      deadLetter: { path: join(dataDir, 'dead-letters.jsonl') },
      sinks: [{ type: 'file', directory: dataDir }],
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
  return {
    collectorUrl,
    metricsUrl: processor.address,
    apiKey: key.value,
    apiKeyOrigin: key.origin,
    apiKeyFile: key.file,
    transport,
    processor,
    async stop() {
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
