import { pino } from 'pino';
import { systemClock } from '../../core/clock.ts';
import { ENV_PREFIX, loadConfig } from '../../core/config.ts';
import { EdrError } from '../../core/errors.ts';
import { runUntilSignal } from '../../core/lifecycle.ts';
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
SIGTERM or SIGINT: finish the batch in hand, commit it, flush sinks, exit.

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
  const log = pino({ level: config.processor.logLevel, base: { component: 'processor' } });
  let processor: Processor;
  try {
    processor = createProcessor(config, log);
    await processor.start();
  } catch (error) {
    log.fatal({ err: error }, 'processor cannot start');
    return 1;
  }
  log.info({ address: processor.address }, 'health and metrics listening');
  return runUntilSignal([processor], config.processor.shutdownTimeoutMs, log);
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
