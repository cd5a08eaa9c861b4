import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { type Clock, systemClock } from '../../core/index.ts';
import {
  ATTACK_NAMES,
  ATTACKS,
  type AttackName,
  FatalSinkError,
  fleetInventory,
  HttpSink,
  OutputClosedError,
  openOutput,
  ProgressPrinter,
  type ProgressStream,
  parseAttackList,
  probeTarget,
  progressLine,
  type RecordSink,
  type RunMode,
  RunStats,
  runSimulation,
  Simulation,
  summaryText,
  virtualClock,
} from '../../simulator/index.ts';

/** Where the command writes; tests pass their own. */
export interface CommandIo {
  stdout: Writable;
  stderr: ProgressStream;
  env: NodeJS.ProcessEnv;
}

const OPTIONS = {
  target: { type: 'string' },
  'api-key': { type: 'string' },
  rate: { type: 'string', default: '200' },
  agents: { type: 'string', default: '5' },
  duration: { type: 'string', default: '60' },
  attacks: { type: 'string', default: 'all' },
  'attack-interval': { type: 'string', default: '30' },
  seed: { type: 'string' },
  'batch-size': { type: 'string', default: '200' },
  gzip: { type: 'boolean', default: false },
  output: { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
  start: { type: 'string' },
  inventory: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** Where records go: the collector, or NDJSON in a file (`-` for stdout). */
type Destination =
  | { kind: 'target'; target: string; apiKey: string; gzip: boolean }
  | { kind: 'file'; path: string; startMs: number | undefined };

interface Config {
  destination: Destination;
  rate: number;
  agents: number;
  durationMs: number;
  attacks: AttackName[];
  attackIntervalMs: number;
  seed: number;
  batchSize: number;
  /** Where to write the fleet as an asset inventory, when asked. */
  inventory: string | undefined;
}

const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

export async function run(argv: string[], io: CommandIo = processIo()): Promise<number> {
  let config: Config | undefined;
  try {
    const flags = parseFlags(argv);
    if (flags.help) {
      io.stdout.write(helpText());
      return EXIT.ok;
    }
    config = resolveConfig(flags, io.env);
  } catch (error) {
    // parseArgs throws TypeErrors with clear messages (unknown option, missing value); ours are UsageErrors.
    if (!(error instanceof UsageError || error instanceof TypeError)) throw error;
    io.stderr.write(`simulate: ${error.message}\nRun \`clawdstrike-edr simulate --help\` for usage.\n`);
    return EXIT.usage;
  }
  const simulation = new Simulation({
    seed: config.seed,
    agents: config.agents,
    attacks: config.attacks,
    attackIntervalMs: config.attackIntervalMs,
  });
  if (config.inventory !== undefined && !writeInventory(config.inventory, simulation, io)) return EXIT.failed;
  const { destination } = config;
  return destination.kind === 'target'
    ? sendToTarget(config, destination, simulation, io)
    : writeCorpus(config, destination, simulation, io);
}

function writeInventory(path: string, simulation: Simulation, io: CommandIo): boolean {
  try {
    writeFileSync(path, `${JSON.stringify(fleetInventory(simulation.profiles()), null, 2)}\n`);
    return true;
  } catch (error) {
    io.stderr.write(`simulate: cannot write the inventory: ${(error as Error).message}\n`);
    return false;
  }
}

class UsageError extends Error {}

function parseFlags(argv: string[]) {
  return parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values;
}

function resolveConfig(flags: ReturnType<typeof parseFlags>, env: NodeJS.ProcessEnv): Config {
  const attacks = parseAttackList(flags.attacks);
  if (!attacks.ok) throw new UsageError(attacks.error);
  const config: Config = {
    destination: resolveDestination(flags, env),
    rate: parseNumber('--rate', flags.rate, { min: 0.1, max: 1_000_000 }),
    agents: parseNumber('--agents', flags.agents, { min: 1, max: 10_000, integer: true }),
    durationMs: parseNumber('--duration', flags.duration, { min: 0, max: 31_536_000 }) * 1000,
    attacks: attacks.value,
    attackIntervalMs:
      parseNumber('--attack-interval', flags['attack-interval'], { min: 1, max: 86_400 }) * 1000,
    seed:
      flags.seed === undefined
        ? randomInt(0, 2 ** 31)
        : parseNumber('--seed', flags.seed, { min: 0, max: 2 ** 32 - 1, integer: true }),
    batchSize: parseNumber('--batch-size', flags['batch-size'], { min: 1, max: 100_000, integer: true }),
    inventory: flags.inventory,
  };
  if (
    config.destination.kind === 'file' &&
    config.durationMs === 0 &&
    config.destination.startMs !== undefined
  ) {
    throw new UsageError('--start needs a --duration: with --duration 0 the output is a live stream');
  }
  return config;
}

function resolveDestination(flags: ReturnType<typeof parseFlags>, env: NodeJS.ProcessEnv): Destination {
  const path = flags.output ?? (flags['dry-run'] ? '-' : undefined);
  if (path !== undefined) {
    const startMs = flags.start === undefined ? undefined : Date.parse(flags.start);
    if (Number.isNaN(startMs)) throw new UsageError(`--start: "${flags.start}" is not an RFC 3339 date-time`);
    return { kind: 'file', path, startMs };
  }
  if (flags.start !== undefined) {
    throw new UsageError(
      '--start only applies with --output or --dry-run (a live run uses the time of sending)',
    );
  }
  const { target } = flags;
  if (target === undefined)
    throw new UsageError('--target URL is required (or --output FILE to write records instead)');
  if (!/^https?:\/\/[^/]/.test(target) || !URL.canParse(target)) {
    throw new UsageError(`--target: "${target}" is not an http(s) URL`);
  }
  const apiKey = flags['api-key'] ?? env.CLAWDSTRIKE_EDR_API_KEY;
  if (!apiKey) throw new UsageError('--api-key KEY is required (or set CLAWDSTRIKE_EDR_API_KEY)');
  return { kind: 'target', target, apiKey, gzip: flags.gzip };
}

function parseNumber(
  flag: string,
  text: string,
  range: { min: number; max: number; integer?: boolean },
): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value))
    throw new UsageError(`${flag}: "${text}" is not a number`);
  if (range.integer && !Number.isInteger(value))
    throw new UsageError(`${flag}: expected a whole number, got ${text}`);
  if (value < range.min || value > range.max) {
    throw new UsageError(`${flag}: expected ${range.min} to ${range.max}, got ${text}`);
  }
  return value;
}

type TargetDestination = Extract<Destination, { kind: 'target' }>;
type FileDestination = Extract<Destination, { kind: 'file' }>;

async function sendToTarget(
  config: Config,
  destination: TargetDestination,
  simulation: Simulation,
  io: CommandIo,
): Promise<number> {
  const reachable = await probeTarget(destination.target);
  if (!reachable.ok) {
    io.stderr.write(
      `simulate: ${reachable.error}: nothing answers at ${destination.target}. Is the collector running? ` +
        '(`clawdstrike-edr start` runs one locally)\n',
    );
    return EXIT.failed;
  }
  const interrupt = new Interrupt(io);
  const stats = new RunStats();
  const sink = new HttpSink({
    target: destination.target,
    apiKey: destination.apiKey,
    gzip: destination.gzip,
    abort: interrupt.abort.signal,
    onRetry: (reason) => stats.noteRetry(reason),
  });
  return execute(config, simulation, io, {
    sink,
    stats,
    interrupt,
    ...realTime(),
    mode: 'send',
    where: sink.url.href,
  });
}

async function writeCorpus(
  config: Config,
  destination: FileDestination,
  simulation: Simulation,
  io: CommandIo,
): Promise<number> {
  // An endless corpus only makes sense as a live stream: pace it in real time.
  const { clock, sleep } =
    config.durationMs === 0 ? realTime() : virtualClock(destination.startMs ?? Date.now());
  const sink = openOutput(destination.path, io.stdout);
  const where = destination.path === '-' ? 'stdout' : destination.path;
  return execute(config, simulation, io, {
    sink,
    stats: new RunStats(),
    interrupt: new Interrupt(io),
    clock,
    sleep,
    mode: 'write',
    where,
  });
}

function realTime(): { clock: Clock; sleep: (ms: number) => Promise<void> } {
  return { clock: systemClock, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) };
}

interface Wiring {
  sink: RecordSink;
  stats: RunStats;
  interrupt: Interrupt;
  clock: Clock;
  sleep: (ms: number) => Promise<void>;
  mode: RunMode;
  /** The URL or file named in the summary. */
  where: string;
}

async function execute(
  config: Config,
  simulation: Simulation,
  io: CommandIo,
  wiring: Wiring,
): Promise<number> {
  const { sink, stats, interrupt, clock, mode } = wiring;
  const startedAt = clock();
  const snapshot = (rate: number) => ({
    stats,
    injections: simulation.injections(),
    elapsedMs: clock() - startedAt,
    rate,
  });
  const progress = new ProgressPrinter(
    io.stderr,
    (rate) => progressLine(snapshot(rate), mode),
    () => stats.sent,
  );
  let fatal: string | undefined;
  interrupt.listen();
  progress.start();
  try {
    await runSimulation({
      simulation,
      sink,
      stats,
      rate: config.rate,
      durationMs: config.durationMs,
      batchSize: config.batchSize,
      clock,
      sleep: wiring.sleep,
      stop: interrupt.stop.signal,
    });
  } catch (error) {
    if (!(error instanceof FatalSinkError)) throw error;
    if (!(error instanceof OutputClosedError)) fatal = error.message;
  } finally {
    progress.stop();
    interrupt.release();
    await sink.close();
  }
  io.stderr.write(`simulate: seed ${config.seed} (pass --seed ${config.seed} to repeat this run)\n`);
  io.stderr.write(summaryText(snapshot(0), mode, wiring.where));
  if (fatal) {
    io.stderr.write(`simulate: stopped: ${fatal}\n`);
    return EXIT.failed;
  }
  if (interrupt.abort.signal.aborted) return EXIT.interrupted;
  if (stats.mostlyFailed()) {
    io.stderr.write('simulate: most of the records were not delivered (see errors above)\n');
    return EXIT.failed;
  }
  return EXIT.ok;
}

/** The first Ctrl-C lets the batch in flight be delivered; a second one cancels it. */
class Interrupt {
  readonly stop = new AbortController();
  readonly abort = new AbortController();
  private readonly handler = () => {
    if (this.stop.signal.aborted) {
      this.abort.abort();
      return;
    }
    this.stop.abort();
    this.io.stderr.write('\nsimulate: stopping after the current batch (Ctrl-C again to quit now)\n');
  };

  constructor(private readonly io: CommandIo) {}

  listen(): void {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
  }

  release(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
  }
}

function processIo(): CommandIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}

function helpText(): string {
  const width = Math.max(...ATTACK_NAMES.map((name) => name.length));
  const attacks = ATTACK_NAMES.map((name) => `  ${name.padEnd(width)}  ${ATTACKS[name].summary}`).join('\n');
  return `Usage: clawdstrike-edr simulate --target URL --api-key KEY [options]
       clawdstrike-edr simulate --output FILE|- [options]

Simulates a fleet of AI coding agents: sessions of ordinary work (reading and editing source files, patches,
tests and builds as commands and as shell tool calls, git, package installs, MCP look-ups, model API calls)
mixed with the attacks the starter detection rules look for. Records go out in every format the collector
accepts (PolicyEvent v1 in camelCase and snake_case with both decision shapes, hushd AuditEvent and
SecurityEvent, hushd's violation.detected webhook), as NDJSON batches to POST <target>/v1/events. Events are
stamped with the time they are sent, so a live pipeline raises its alerts while you watch.

Options:
  --target URL           collector base URL, e.g. http://127.0.0.1:8080
  --api-key KEY          ingest API key (default: $CLAWDSTRIKE_EDR_API_KEY)
  --rate N               records per second (default 200)
  --agents M             simulated agents (default 5)
  --duration S           seconds to run; 0 runs until Ctrl-C (default 60)
  --attacks LIST         comma-separated attack names, or all, or none (default all)
  --attack-interval S    mean seconds between attacks once each has run once (default 30)
  --seed N               seed of a reproducible run (default random; the summary prints it)
  --batch-size N         most records per request (default 200)
  --gzip                 gzip request bodies
  --output FILE          write NDJSON to FILE (- for stdout) instead of sending; runs on simulated time as
                         fast as it can, with the event timing of a live run (with --duration 0: a live
                         stream, paced in real time)
  --dry-run              the same as --output -
  --start TIME           with --output: event time of the first record (RFC 3339; default now). With
                         --seed, the output is the same on every run
  --inventory FILE       also write the fleet as an asset inventory (JSON, for the engine's --assets):
                         owners, teams, and the secret scopes the agents normally use
  -h, --help             show this help

Attacks (each runs once within the first seconds, then again at random; every attack event carries its
guard's decision where a guard would have judged it):
${attacks}

A target answering 429 or 503 gets the same batch again after its Retry-After (same eventIds, so the
pipeline dedupes). Ctrl-C stops after the batch in flight is delivered; a second Ctrl-C quits at once.
Exit status: 0 done; 1 target unreachable, API key refused, or most records not delivered; 2 bad arguments.

Examples:
  clawdstrike-edr simulate --target http://127.0.0.1:8080 --api-key "$CLAWDSTRIKE_EDR_API_KEY"
  clawdstrike-edr simulate --target http://127.0.0.1:8080 --api-key "$KEY" --rate 2000 --agents 50 --duration 0 --gzip
  clawdstrike-edr simulate --target http://127.0.0.1:8080 --api-key "$KEY" --attacks none --duration 300
  clawdstrike-edr simulate --attacks credential_exfiltration,lateral_movement_prep --seed 7 \\
      --start 2026-01-01T00:00:00Z --duration 600 --output corpus.jsonl
  clawdstrike-edr simulate --dry-run --duration 5 --rate 20 | head
`;
}
