// Start/stop the test services by hand: `bash scripts/services.sh start|stop|status`.
// Servers outlive this command; .cache/services/state.json lets stop/status work from any shell.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  describeEndpoint,
  errorMessage,
  exportLines,
  isResourceAlive,
  type OwnedResource,
  probeService,
  type ServiceEndpoint,
  STATE_DIR,
  servicesModeFromEnv,
  startServices,
  stopResources,
} from './services.ts';

interface State {
  startedAt: string;
  endpoints: ServiceEndpoint[];
  resources: OwnedResource[];
}

const STATE_FILE = join(STATE_DIR, 'state.json');
const info = (line: string) => process.stderr.write(`${line}\n`);

async function start(): Promise<number> {
  const existing = await readState();
  if (existing?.resources.every(isResourceAlive)) {
    info(`[services] already running since ${existing.startedAt}`);
    printState(existing);
    return 0;
  }
  if (existing) await clearState(existing); // partly dead: start clean
  const mode = servicesModeFromEnv();
  if (mode === 'none') throw new Error('EDR_TEST_SERVICES=none: nothing to start');
  // Containers must outlive this command, so testcontainers' reaper must not collect them.
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  const services = await startServices({ mode, detached: true, log: info });
  const state: State = { startedAt: new Date().toISOString(), ...services };
  await mkdir(STATE_DIR, { recursive: true });
  await writeFile(STATE_FILE, JSON.stringify(state, null, 2));
  printState(state);
  return 0;
}

async function stop(): Promise<number> {
  const state = await readState();
  if (!state) {
    info('[services] nothing to stop (no state file)');
    return 0;
  }
  await clearState(state);
  info(`[services] stopped ${state.resources.length} managed server(s)`);
  return 0;
}

async function status(): Promise<number> {
  const state = await readState();
  if (!state) {
    info('[services] not started (no state file)');
    return 1;
  }
  let healthy = true;
  for (const endpoint of state.endpoints) {
    const resource = state.resources.find((r) => r.service === endpoint.name);
    const problem = resource && !isResourceAlive(resource) ? 'process gone' : await probeProblem(endpoint);
    healthy &&= problem === undefined;
    info(`${describeEndpoint(endpoint)}: ${problem ? `DOWN (${problem})` : 'up'}`);
  }
  printExports(state);
  return healthy ? 0 : 1;
}

async function probeProblem(endpoint: ServiceEndpoint): Promise<string | undefined> {
  try {
    await probeService(endpoint.name, endpoint.url);
    return undefined;
  } catch (err) {
    return errorMessage(err);
  }
}

function printState(state: State): void {
  for (const endpoint of state.endpoints) info(describeEndpoint(endpoint));
  printExports(state);
}

/** Export lines go to stdout alone, so `eval "$(bash scripts/services.sh start)"` works. */
function printExports(state: State): void {
  process.stdout.write(`${exportLines(state.endpoints).join('\n')}\n`);
}

async function readState(): Promise<State | undefined> {
  if (!existsSync(STATE_FILE)) return undefined;
  return JSON.parse(await readFile(STATE_FILE, 'utf8')) as State;
}

async function clearState(state: State): Promise<void> {
  await stopResources(state.resources);
  await rm(STATE_FILE, { force: true });
}

const commands: Record<string, () => Promise<number>> = { start, stop, status };

async function main(): Promise<number> {
  const command = commands[process.argv[2] ?? ''];
  if (!command) {
    info('usage: services.sh start|stop|status');
    return 2;
  }
  return command();
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    info(`[services] ${errorMessage(err)}`);
    process.exit(1);
  },
);
