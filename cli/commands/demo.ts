import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ConsoleSettingsSchema } from '../../console/server/config.ts';
import { packagePath } from '../../core/package-path.ts';
import type { Alert } from '../../engine/index.ts';
import type { Consumer } from '../../transport/index.ts';
import { parseCommandLine } from '../lib/command.ts';
import { startLocalPipeline } from '../lib/local-pipeline.ts';
import { run as simulate } from './simulate.ts';

const HELP = `Usage: clawdstrike-edr demo [options]      (npm run demo)

Starts the pipeline in one process (as \`clawdstrike-edr start\`), with the example threat-intel list and
the simulated fleet's inventory loaded, sends a simulated fleet at it (benign coding-assistant work with every
starter-rule attack mixed in, in all the accepted wire formats), and prints each alert as it fires. Ends with
the alerts per rule; exits 1 if one of the four reference rules did not fire.

Options:
  --duration S   seconds of simulated traffic (default 60)
  --rate N       events per second (default 300)
  --agents M     simulated agents (default 6)
  --seed N       simulator seed (default 7)
  --port N       collector port (default 8080)
  --metrics-port N  processor metrics port (default 9464)
  --console-port N  triage console port (default 8090); its login link is printed at start
  --data-dir DIR    sink output and API key (default ./data/demo)
  -h, --help     show this help`;

const REFERENCE_RULES = [
  'CREDENTIAL_EXFILTRATION',
  'PROMPT_INJECTION_CHAIN',
  'RAPID_FILE_ENUMERATION',
  'LATERAL_MOVEMENT_PREP',
] as const;

/** After the simulator stops, how long the pipeline gets to finish what it holds. */
const DRAIN_MS = 3_000;

const quiet = () =>
  new Writable({
    write(_chunk, _encoding, done) {
      done();
    },
  });

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(
    argv,
    {
      duration: { type: 'string', default: '60' },
      rate: { type: 'string', default: '300' },
      agents: { type: 'string', default: '6' },
      seed: { type: 'string', default: '7' },
      port: { type: 'string', default: '8080' },
      'metrics-port': { type: 'string', default: '9464' },
      'console-port': { type: 'string', default: '8090' },
      'data-dir': { type: 'string', default: './data/demo' },
    },
    HELP,
  );
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  const dataDir = values['data-dir'];
  mkdirSync(dataDir, { recursive: true });
  const fleet = ['--seed', values.seed, '--agents', values.agents];

  // The inventory names each simulated agent's usual secret scopes; the pipeline loads it as assets.
  const inventory = join(dataDir, 'inventory.json');
  const wrote = await simulate([...fleet, '--inventory', inventory, '--output', '-', '--duration', '1'], {
    stdout: quiet(),
    stderr: quiet(),
    env: process.env,
  });
  if (wrote !== 0) {
    process.stderr.write('demo: could not write the simulated fleet inventory\n');
    return 1;
  }

  let pipeline: Awaited<ReturnType<typeof startLocalPipeline>>;
  try {
    pipeline = await startLocalPipeline({
      dataDir,
      host: '127.0.0.1',
      port: Number(values.port),
      metricsPort: Number(values['metrics-port']),
      intel: [packagePath('intel', 'example-indicators.txt')],
      assets: [inventory],
      logLevel: 'error',
      console: {
        port: Number(values['console-port']),
        settings: ConsoleSettingsSchema.parse({ logLevel: 'error' }),
      },
    });
  } catch (error) {
    process.stderr.write(`demo: the pipeline did not start: ${(error as Error).message}\n`);
    return 1;
  }
  process.stdout.write(
    [
      `pipeline up: collector ${pipeline.collectorUrl}, alerts also in ${dataDir}/alerts.jsonl`,
      `console: ${pipeline.console?.loginUrl('admin', 'admin')}   (one-time login link, while the demo runs)`,
      '',
      '',
    ].join('\n'),
  );
  const fired = new Map<string, number>();
  const printer = printAlerts(
    pipeline.transport.createConsumer({ stream: 'alerts', group: 'demo-printer' }),
    fired,
  );
  await printer.start();

  const code = await simulate(
    [
      '--target',
      pipeline.collectorUrl,
      '--api-key',
      pipeline.apiKey,
      ...fleet,
      '--rate',
      values.rate,
      '--duration',
      values.duration,
    ],
    { stdout: process.stdout, stderr: process.stderr, env: process.env },
  );
  await new Promise((resolve) => setTimeout(resolve, DRAIN_MS));
  await printer.close();
  await pipeline.stop();

  process.stdout.write('\nalerts by rule\n');
  for (const [rule, count] of [...fired].sort()) process.stdout.write(`  ${rule.padEnd(44)} ${count}\n`);
  const missing = REFERENCE_RULES.filter((rule) => !fired.has(rule));
  if (missing.length > 0) {
    process.stderr.write(`demo: reference rules that did not fire: ${missing.join(', ')}\n`);
    return 1;
  }
  process.stdout.write('every reference rule fired\n');
  return code;
}

function printAlerts(
  consumer: Consumer,
  fired: Map<string, number>,
): { start(): Promise<void>; close(): Promise<void> } {
  return {
    start: () =>
      consumer.start(async (batch) => {
        for (const message of batch.messages) {
          const alert = JSON.parse(Buffer.from(message.value).toString('utf8')) as Alert;
          fired.set(alert.ruleId, (fired.get(alert.ruleId) ?? 0) + 1);
          const time = alert.timestamp.slice(11, 19);
          process.stdout.write(
            `${time}  ${alert.severity.toUpperCase().padEnd(8)} ${alert.ruleId}  ${alert.summary}\n`,
          );
        }
      }),
    close: () => consumer.close(),
  };
}
