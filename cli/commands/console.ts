import { pino } from 'pino';
import { hashPassword, MAX_PASSWORD_CHARS } from '../../console/server/auth/passwords.ts';
import {
  type ConsoleConfig,
  ConsoleConfigSchema,
  startConsole,
  webhookSinks,
} from '../../console/server/serve.ts';
import { createConsoleStore } from '../../console/store/index.ts';
import { ENV_PREFIX, loadConfig } from '../../core/config.ts';
import { EdrError } from '../../core/errors.ts';
import { runUntilSignal } from '../../core/lifecycle.ts';
import { parseCommandLine } from '../lib/command.ts';
import { BUNDLED_RULES } from '../lib/inputs.ts';

const HELP = `Usage: clawdstrike-edr console [--config FILE] [--port N] [--host ADDR]
       clawdstrike-edr console --hash-password < password.txt

Serves the triage console for the full stack: the alert queue, alert detail with the contributing events,
session timelines, agent and rule pages, workflow (acknowledge, assign, close with a verdict) and manual
response. It reads the store of \`console.store\`: the Elasticsearch sink's indices (workflow, history and
manual actions in indices of its own) or a SQLite sink's database. Manual response actions go through the
config's webhook sinks, as the processor's automated ones do.

Users (\`console.users\`, scrypt-hashed passwords) and API tokens (\`console.tokens\`) come from the config;
at start it prints a one-time admin login link (valid \`console.loginLinkTtlSeconds\`).

Configuration: FILE (JSON or YAML), then CLAWDSTRIKE_EDR_<SECTION>__<KEY> environment variables (e.g.
CLAWDSTRIKE_EDR_CONSOLE__PORT=8091). The store is chosen in the file:
  console: { store: { type: elasticsearch, node: "http://elasticsearch:9200", indexPrefix: clawdstrike } }

Options:
  --config FILE     config file (default: $CLAWDSTRIKE_EDR_CONFIG)
  --port N          listen port (default console.port, 8090)
  --host ADDR       listen address (default console.host, 127.0.0.1)
  --hash-password   read a password on stdin, print its scrypt hash for console.users[].password
  -h, --help        show this help`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(
    argv,
    {
      config: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'hash-password': { type: 'boolean' },
    },
    HELP,
  );
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  if (values['hash-password']) {
    const password = await readStdin();
    if (password === '' || password.length > MAX_PASSWORD_CHARS) {
      process.stderr.write(`console: a password of 1 to ${MAX_PASSWORD_CHARS} characters on stdin\n`);
      return 2;
    }
    process.stdout.write(`${await hashPassword(password)}\n`);
    return 0;
  }
  let config: ConsoleConfig;
  try {
    config = loadConfig(ConsoleConfigSchema, ENV_PREFIX, {
      ...(values.config ? { file: values.config } : {}),
      overrides: [
        ...(values.port ? [{ path: ['console', 'port'], value: values.port, origin: '--port' }] : []),
        ...(values.host ? [{ path: ['console', 'host'], value: values.host, origin: '--host' }] : []),
      ],
    });
  } catch (error) {
    if (!(error instanceof EdrError)) throw error;
    process.stderr.write(`console: ${error.message}\n`);
    return 1;
  }
  const settings = config.console;
  const log = pino({ level: settings.logLevel, base: { component: 'console' } });
  let running: Awaited<ReturnType<typeof startConsole>>;
  try {
    running = await startConsole(settings, {
      store: createConsoleStore(settings.store),
      rulePaths: settings.rules?.length ? settings.rules : [BUNDLED_RULES],
      webhooks: webhookSinks(config.sinks),
      logger: { level: settings.logLevel },
    });
  } catch (error) {
    log.fatal({ err: error }, 'console cannot start');
    return 1;
  }
  // Listening on every interface (a container): the link is for a browser on this machine or its port mapping.
  const local = (url: string) => url.replace('//0.0.0.0:', '//127.0.0.1:');
  process.stdout.write(
    [
      `clawdstrike-edr console (${settings.store.type} store) at ${local(running.url)}`,
      `  login   ${local(running.loginUrl('admin', 'admin'))}   (one-time link, admin)`,
      '',
    ].join('\n'),
  );
  return runUntilSignal([running], 15_000, log);
}
