import { EdrError } from '../../core/index.ts';
import { loadSetupConfig, runSetup, type SetupConfig, SetupError } from '../../setup/index.ts';
import { parseCommandLine } from '../lib/command.ts';

export const help = `Usage: clawdstrike-edr setup [options]

Prepares everything the pipeline writes to, and may be run any number of times (every step is idempotent):
  1. Elasticsearch: waits for the cluster, then puts the index templates <prefix>-events and <prefix>-alerts;
  2. Kibana: waits for /api/status to be available, then imports the data views and dashboards of
     dashboards/*.ndjson through the saved objects API (overwrite: the same ids are replaced, not copied);
  3. the broker: creates the missing Kafka topics, or the NATS JetStream stream, of the configured transport.

Configuration is the shared config file and CLAWDSTRIKE_EDR_* env vars, as for the other commands: the
transport section, the first elasticsearch sink in sinks.sinks (URL, auth, TLS, index prefix, template
shards/replicas) and the setup section (kibanaUrl, elasticsearchUrl, kibanaAuth, waitTimeoutMs).

Options:
  --elasticsearch URL   Elasticsearch URL (overrides setup.elasticsearchUrl and the sink's node)
  --kibana URL          Kibana base URL (overrides setup.kibanaUrl; default http://127.0.0.1:5601)
  --config FILE         config file, JSON or YAML (default: $CLAWDSTRIKE_EDR_CONFIG)
  --timeout SECONDS     how long each service may take to come up (setup.waitTimeoutMs; default 180)
  --skip-templates      do not install the Elasticsearch index templates
  --skip-kibana         do not import the Kibana saved objects
  --skip-topics         do not create the broker topics / stream
  -h, --help            show this help

Exit status: 0 when every step succeeded, 1 when the config is invalid or a step failed (the message names
the step and the cause), 2 on a usage error.

Examples:
  clawdstrike-edr setup --elasticsearch http://127.0.0.1:9200 --kibana http://127.0.0.1:5601 --skip-topics
  CLAWDSTRIKE_EDR_CONFIG=deploy/clawdstrike-edr.yaml clawdstrike-edr setup`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(
    argv,
    {
      elasticsearch: { type: 'string' },
      kibana: { type: 'string' },
      config: { type: 'string' },
      timeout: { type: 'string' },
      'skip-templates': { type: 'boolean' },
      'skip-kibana': { type: 'boolean' },
      'skip-topics': { type: 'boolean' },
    },
    help,
  );
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  if (positionals.length > 0) {
    process.stderr.write(`setup: unexpected argument ${positionals[0]}\n\n${help}\n`);
    return 2;
  }
  const log = (line: string) => process.stdout.write(`setup: ${line}\n`);

  let config: SetupConfig;
  try {
    config = loadSetupConfig(values.config !== undefined ? { file: values.config } : {}, {
      ...(values.elasticsearch !== undefined ? { elasticsearch: values.elasticsearch } : {}),
      ...(values.kibana !== undefined ? { kibana: values.kibana } : {}),
      ...(values.timeout !== undefined ? { timeoutSeconds: values.timeout } : {}),
    });
  } catch (error) {
    process.stderr.write(`setup: ${error instanceof EdrError ? error.message : String(error)}\n`);
    return 1;
  }

  const started = performance.now();
  try {
    await runSetup(
      config,
      {
        skipTemplates: values['skip-templates'],
        skipKibana: values['skip-kibana'],
        skipTopics: values['skip-topics'],
      },
      { log },
    );
  } catch (error) {
    const where = error instanceof SetupError ? `${error.step}: ` : '';
    process.stderr.write(
      `setup: failed: ${where}${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 1;
  }
  log(`done in ${((performance.now() - started) / 1000).toFixed(1)}s`);
  return 0;
}
