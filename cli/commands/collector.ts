import { loadCollectorConfig, runCollector } from '../../collector/index.ts';
import { EdrError } from '../../core/errors.ts';
import { parseCommandLine } from '../lib/command.ts';

const HELP = `Usage: clawdstrike-edr collector [--config FILE] [--port N]

Accepts agent and hushd telemetry over HTTP (POST /v1/events, /ingest/<source>, Splunk HEC, OTLP/HTTP JSON
logs, Elasticsearch _doc and _bulk) and answers 202 only once the broker has acknowledged every accepted
record. Configuration: FILE (JSON or YAML), then CLAWDSTRIKE_EDR_<SECTION>__<KEY> environment variables,
then PORT, then --port. CLAWDSTRIKE_EDR_API_KEY adds one ingest key. SIGTERM or SIGINT: stop accepting,
finish the requests in flight, flush, close. server.workers > 1 runs that many processes on the port.

Options:
  --config FILE   config file (default: $CLAWDSTRIKE_EDR_CONFIG)
  --port N        listen port (overrides PORT and server.port)
  -h, --help      show this help

Exit status: 0 after a clean shutdown, 1 when the config is invalid or the server cannot start, 2 on a
usage error.`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, { config: { type: 'string' }, port: { type: 'string' } }, HELP);
  if (typeof parsed === 'number') return parsed;
  const { config: file, port } = parsed.values;
  try {
    return await runCollector(loadCollectorConfig({ ...(file ? { file } : {}), ...(port ? { port } : {}) }));
  } catch (error) {
    if (!(error instanceof EdrError) || error.code !== 'EDR_ERR_CONFIG') throw error;
    process.stderr.write(`collector: ${error.message}\n`);
    return 1;
  }
}
