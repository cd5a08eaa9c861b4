import { runUntilSignal } from '../../core/lifecycle.ts';
import { parseCommandLine } from '../lib/command.ts';
import { startLocalPipeline } from '../lib/local-pipeline.ts';

const HELP = `Usage: clawdstrike-edr start [options]

Runs the whole pipeline in one process: the collector on localhost, the processor with the starter rules,
the in-memory transport, and JSONL sinks (events.jsonl, alerts.jsonl, dead-letters.jsonl) in the data
directory. Prints where it listens and the API key to send as "Authorization: Bearer <key>"; the key comes
from CLAWDSTRIKE_EDR_API_KEY, or is generated once and saved as <data-dir>/api-key.
For Kafka or NATS, Elasticsearch and Kibana, use \`docker compose up\` or the collector and processor commands.

Options:
  --port N          collector port (default 8080)
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
  const logLevel = LOG_LEVELS.find((level) => level === values['log-level']);
  if (!Number.isInteger(port) || !Number.isInteger(metricsPort) || !logLevel) {
    process.stderr.write(
      `start: --port and --metrics-port take integers, --log-level one of ${LOG_LEVELS.join(', ')}\n`,
    );
    return 2;
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
      `  output      ${values['data-dir']}/events.jsonl, alerts.jsonl, dead-letters.jsonl`,
      'Stop with Ctrl-C.',
      '',
    ].join('\n'),
  );
  return runUntilSignal([pipeline], 15_000, {
    info: (_fields, message) => process.stderr.write(`${message}\n`),
    error: (fields, message) => process.stderr.write(`${message}: ${JSON.stringify(fields)}\n`),
  });
}
