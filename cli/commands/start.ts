import { type ConsoleConfig, ConsoleConfigSchema, webhookSinks } from '../../console/server/serve.ts';
import { ENV_PREFIX, loadConfig } from '../../core/config.ts';
import { EdrError } from '../../core/errors.ts';
import { runUntilSignal } from '../../core/lifecycle.ts';
import { parseCommandLine } from '../lib/command.ts';
import { startLocalPipeline } from '../lib/local-pipeline.ts';

const HELP = `Usage: clawdstrike-edr start [options]

Runs the whole pipeline in one process: the collector on localhost, the processor with the starter rules,
the in-memory transport, JSONL sinks (events.jsonl, alerts.jsonl, dead-letters.jsonl) and the SQLite sink
(console.db) in the data directory, and the triage console over that database. Prints where it listens, the
API key to send as "Authorization: Bearer <key>" (from CLAWDSTRIKE_EDR_API_KEY, or generated once and saved
as <data-dir>/api-key), and a one-time console login link (admin).
For Kafka or NATS, Elasticsearch and Kibana, use \`docker compose up\` or the collector and processor commands.

Options:
  --port N          collector port (default 8080)
  --console-port N  triage console port (default 8090)
  --config FILE     console users, API tokens and response webhooks (the \`console\` and \`sinks\`
                    sections of the config file; only its webhook sinks are used here)
  --metrics-port N  processor /healthz, /readyz, /metrics port (default 9464)
  --host ADDR       listen address (default 127.0.0.1)
  --data-dir DIR    where sinks write and the API key is kept (default ./data)
  --rules PATH      rule file or directory, repeatable (default: the bundled rules/)
  --intel PATH      threat-intel file or directory, repeatable
  --assets PATH     agent inventory (JSON or CSV), repeatable
  --log-level LVL   fatal, error, warn, info, debug (default warn)
  -h, --help        show this help

Example:
  clawdstrike-edr start
  curl -H "Authorization: Bearer $(cat data/api-key)" -H 'content-type: application/json' \\
    --data @event.json http://127.0.0.1:8080/v1/events`;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug'] as const;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(
    argv,
    {
      port: { type: 'string', default: '8080' },
      'console-port': { type: 'string', default: '8090' },
      config: { type: 'string' },
      'metrics-port': { type: 'string', default: '9464' },
      host: { type: 'string', default: '127.0.0.1' },
      'data-dir': { type: 'string', default: './data' },
      rules: { type: 'string', multiple: true },
      intel: { type: 'string', multiple: true },
      assets: { type: 'string', multiple: true },
      'log-level': { type: 'string', default: 'warn' },
    },
    HELP,
  );
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  const port = Number(values.port);
  const metricsPort = Number(values['metrics-port']);
  const consolePort = Number(values['console-port']);
  const logLevel = LOG_LEVELS.find((level) => level === values['log-level']);
  if (![port, metricsPort, consolePort].every(Number.isInteger) || !logLevel) {
    process.stderr.write(
      `start: --port, --console-port and --metrics-port take integers, --log-level one of ${LOG_LEVELS.join(', ')}\n`,
    );
    return 2;
  }
  let consoleConfig: ConsoleConfig;
  try {
    // Only a file named here: CLAWDSTRIKE_EDR_CONFIG is the full stack's, with sinks this process must not use.
    consoleConfig = loadConfig(
      ConsoleConfigSchema,
      ENV_PREFIX,
      values.config ? { file: values.config } : { env: {} },
    );
  } catch (error) {
    if (!(error instanceof EdrError)) throw error;
    process.stderr.write(`start: ${error.message}\n`);
    return 1;
  }
  let pipeline: Awaited<ReturnType<typeof startLocalPipeline>>;
  try {
    pipeline = await startLocalPipeline({
      dataDir: values['data-dir'],
      host: values.host,
      port,
      metricsPort,
      rules: values.rules,
      intel: values.intel ?? [],
      assets: values.assets ?? [],
      logLevel,
      console: { port: consolePort, settings: consoleConfig.console },
      webhooks: webhookSinks(consoleConfig.sinks),
    });
  } catch (error) {
    process.stderr.write(`start: ${(error as Error).message}\n`);
    return 1;
  }
  const keyNote = {
    environment: 'from CLAWDSTRIKE_EDR_API_KEY',
    saved: `saved in ${pipeline.apiKeyFile}`,
    generated: `generated and saved in ${pipeline.apiKeyFile}`,
  }[pipeline.apiKeyOrigin];
  process.stdout.write(
    [
      'clawdstrike-edr is running (single process, in-memory transport)',
      `  collector   ${pipeline.collectorUrl}   POST /v1/events, /ingest/<source>, /services/collector, /v1/logs`,
      `  processor   ${pipeline.metricsUrl}   /healthz /readyz /metrics`,
      `  API key     ${pipeline.apiKey}   (${keyNote})`,
      `  console     ${pipeline.console?.loginUrl('admin', 'admin')}   (one-time login link, admin)`,
      `  output      ${values['data-dir']}/events.jsonl, alerts.jsonl, dead-letters.jsonl, console.db`,
      'Stop with Ctrl-C.',
      '',
    ].join('\n'),
  );
  return runUntilSignal([pipeline], 15_000, {
    info: (_fields, message) => process.stderr.write(`${message}\n`),
    error: (fields, message) => process.stderr.write(`${message}: ${JSON.stringify(fields)}\n`),
  });
}
