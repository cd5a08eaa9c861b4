import { fork } from 'node:child_process';
import { pino } from 'pino';
import { systemClock } from '../../core/clock.ts';
import { ENV_PREFIX, loadConfig } from '../../core/config.ts';
import { EdrError } from '../../core/errors.ts';
import { runUntilSignal } from '../../core/lifecycle.ts';
import { followPrimary, superviseWorkers } from '../../core/supervisor.ts';
import { Processor, type ProcessorConfig, ProcessorConfigSchema } from '../../processor/index.ts';
import { createSinkRouter } from '../../sinks/index.ts';
import { loadRedactionKey, Redactor } from '../../transforms/index.ts';
import { createEndOffsetsReader, createTransport, type Transport } from '../../transport/index.ts';
import { parseCommandLine } from '../lib/command.ts';
import { BUNDLED_RULES } from '../lib/inputs.ts';

const HELP = `Usage: clawdstrike-edr processor [--config FILE] [--port N]

Consumes normalized events from Kafka (consumer group) or NATS JetStream (durable pull consumer), runs the
detection engine per partition (sessions, rules, correlation, enrichment), publishes alerts to the alerts
stream and hands events and alerts to the configured sinks; only then are offsets committed. Engine state
is checkpointed per partition after each batch and restored when a partition is assigned.

Configuration: FILE (JSON or YAML), then CLAWDSTRIKE_EDR_<SECTION>__<KEY> environment variables
(e.g. CLAWDSTRIKE_EDR_TRANSPORT__KIND=kafka, CLAWDSTRIKE_EDR_PROCESSOR__RULES=rules/,my-rules/).
Rule, intel and asset files reload on change and on SIGHUP; a bad file is logged and the running rules stay.
SIGTERM or SIGINT: finish the batch in hand, commit it, flush sinks, exit. processor.workers > 1 (Kafka)
runs that many processes, members of the one consumer group; worker i serves health and metrics on port + i.

Options:
  --config FILE   config file (default: $CLAWDSTRIKE_EDR_CONFIG)
  --port N        port of /healthz, /readyz and /metrics (default 9464)
  -h, --help      show this help

Exit status: 0 after a clean shutdown, 1 when the config, rules or brokers fail at start, 2 on a usage error.`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, { config: { type: 'string' }, port: { type: 'string' } }, HELP);
  if (typeof parsed === 'number') return parsed;
  const { config: file, port } = parsed.values;
  let config: ProcessorConfig;
  try {
    config = loadConfig(ProcessorConfigSchema, ENV_PREFIX, {
      ...(file ? { file } : {}),
      overrides: port ? [{ path: ['processor', 'port'], value: port, origin: '--port' }] : [],
    });
  } catch (error) {
    if (!(error instanceof EdrError)) throw error;
    process.stderr.write(`processor: ${error.message}\n`);
    return 1;
  }
  const { workers } = config.processor;
  if (workers > 1 && config.transport.kind !== 'kafka') {
    process.stderr.write('processor: processor.workers > 1 needs transport.kind kafka (a consumer group)\n');
    return 1;
  }
  // A ticket sink's state file belongs to one process (it is locked): workers would share it.
  const ticketSink = config.sinks.sinks.find((sink) => sink.type === 'ticket');
  if (workers > 1 && ticketSink) {
    process.stderr.write(
      `processor: processor.workers > 1 cannot run ticket sink "${ticketSink.name ?? 'ticket'}": its state file belongs to one process; run it with workers: 1, or in a processor of its own\n`,
    );
    return 1;
  }
  const worker = workerIndex();
  if (workers > 1 && worker === undefined) return runWorkers(config);
  let stopRequested: Promise<string> | undefined;
  if (worker !== undefined) {
    config = asWorker(config, worker);
    stopRequested = followPrimary();
  }
  const base = worker === undefined ? { component: 'processor' } : { component: 'processor', worker };
  const log = pino({ level: config.processor.logLevel, base });
  try {
    let processor: Processor;
    try {
      processor = createProcessor(config, log);
      await processor.start();
    } catch (error) {
      log.fatal({ err: error }, 'processor cannot start');
      return 1;
    }
    log.info({ address: processor.address }, 'health and metrics listening');
    return await runUntilSignal([processor], config.processor.shutdownTimeoutMs, log, stopRequested);
  } finally {
    // The IPC channel to the primary would keep this process alive after the processor stopped, or when it
    // could not start (then the primary would never see it exit, and never replace it).
    if (process.connected) process.disconnect();
  }
}

/**
 * Wires a processor from its config: the transport (unless one is shared with a collector in the same
 * process), the sinks and the checkpoints it names.
 */
export function createProcessor(
  config: ProcessorConfig,
  log: pino.Logger,
  transport: Transport = createTransport(config.transport, { logger: log.child({ component: 'transport' }) }),
): Processor {
  return new Processor(config.processor, {
    transport,
    router: createSinkRouter(config.sinks, { log: log.child({ component: 'sinks' }) }),
    checkpoints: transport.createCheckpointStore(),
    endOffsets: createEndOffsetsReader(config.transport, log.child({ component: 'transport' })),
    clock: systemClock,
    log,
    redactor: createRedactor(config, log),
    limits: config.limits.engine,
    recordLimits: config.limits.record,
    inputs: {
      rules: config.processor.rules ?? [BUNDLED_RULES],
      intel: config.processor.intel,
      assets: config.processor.assets,
      ruleLimits: config.processor.ruleLimits,
      sigmaFieldMapping: config.processor.sigmaFieldMapping,
    },
  });
}

/** The redaction transform and its key; detector rules missing from the loaded ones come from the bundled. */
function createRedactor(config: ProcessorConfig, log: pino.Logger): Redactor {
  const options = { fallbackRules: [BUNDLED_RULES], ruleLimits: config.processor.ruleLimits };
  if (!config.redaction.enabled) return new Redactor(config.redaction, { ...options, key: Buffer.alloc(0) });
  const { key, origin, file } = loadRedactionKey(config.redaction);
  if (origin === 'generated') {
    log.warn(
      { file },
      'redaction key generated; processors writing to the same sinks must share one (redaction.key)',
    );
  }
  return new Redactor(config.redaction, { ...options, key });
}

const WORKER_INDEX_ENV = 'CLAWDSTRIKE_EDR_PROCESSOR_WORKER';

/** The index of this process among the command's workers; undefined in the command's own process. */
function workerIndex(): number | undefined {
  const value = process.env[WORKER_INDEX_ENV];
  return value === undefined ? undefined : Number(value);
}

/** Worker i of the command: its own port (port + i, or a free one), the same group as its siblings. */
function asWorker(config: ProcessorConfig, index: number): ProcessorConfig {
  const { port } = config.processor;
  return { ...config, processor: { ...config.processor, port: port === 0 ? 0 : port + index } };
}

/**
 * processor.workers > 1: starts that many workers, each this same command as a whole processor in the one
 * consumer group (Kafka spreads the partitions over them), replaces one that dies, and stops them all on
 * SIGTERM/SIGINT. Plain child processes, not node:cluster: each binds its own health and metrics port.
 */
function runWorkers(config: ProcessorConfig): Promise<number> {
  const log = pino({ level: config.processor.logLevel, base: { component: 'processor-primary' } });
  const workers = superviseWorkers({
    workers: config.processor.workers,
    name: 'processor worker',
    log,
    start: (index) =>
      fork(process.argv[1]!, process.argv.slice(2), {
        env: { ...process.env, [WORKER_INDEX_ENV]: String(index) },
        execArgv: process.execArgv,
        stdio: 'inherit',
      }),
  });
  // Each worker has the shutdown timeout for itself; the primary allows them that and a margin.
  return runUntilSignal([workers], config.processor.shutdownTimeoutMs * 2, log);
}
