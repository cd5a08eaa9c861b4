/**
 * clawdstrike-edr: a small dispatcher. Each subcommand is one module under cli/commands/ exporting
 * `run(argv): Promise<number>` (the exit code); a module loads only when its command runs, so the one-line
 * summaries shown by --help live here.
 */
import type { Command } from './lib/command.ts';

const COMMANDS: Readonly<Record<string, { summary: string; load: () => Promise<Command> }>> = {
  collector: {
    summary: 'run the HTTP collector: authenticated ingestion into Kafka, NATS JetStream or memory',
    load: () => import('./commands/collector.ts'),
  },
  console: {
    summary:
      'serve the triage console (alert queue, detail, timelines, workflow, manual response) for the full stack',
    load: () => import('./commands/console.ts'),
  },
  'dead-letters': {
    summary:
      "replay dead letters (the sinks' JSONL file, the broker dlq stream) back through the pipeline, once each",
    load: () => import('./commands/dead-letters.ts'),
  },
  demo: {
    summary: 'start the single-process pipeline, run the simulator against it, print alerts as they fire',
    load: () => import('./commands/demo.ts'),
  },
  processor: {
    summary: 'run the stream processor: consume events, detect, alert, deliver to sinks',
    load: () => import('./commands/processor.ts'),
  },
  replay: {
    summary: 'run the detection engine over JSONL event files and print alerts',
    load: () => import('./commands/replay.ts'),
  },
  rules: {
    summary: 'validate rule files, or test rules against their fixtures (detections as code)',
    load: () => import('./commands/rules.ts'),
  },
  setup: {
    summary: 'install Elasticsearch templates, Kibana data views and dashboards, and broker topics',
    load: () => import('./commands/setup.ts'),
  },
  simulate: {
    summary: 'send a realistic fleet of agent sessions, with attacks mixed in, to a collector',
    load: () => import('./commands/simulate.ts'),
  },
  'suggest-policy': {
    summary: 'print the Clawdstrike policy overlay, per agent, that a set of alerts (JSONL) suggests',
    load: () => import('./commands/suggest-policy.ts'),
  },
  start: {
    summary: 'run collector, processor and sinks in one process, with no external services',
    load: () => import('./commands/start.ts'),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`);
  return [
    'Usage: clawdstrike-edr <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `clawdstrike-edr <command> --help` for the options of a command.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const entry = name === 'help' && rest[0] ? COMMANDS[rest[0]] : undefined;
    if (entry) return (await entry.load()).run(['--help']);
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    process.stderr.write(`clawdstrike-edr: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  return (await entry.load()).run(rest);
}

process.exitCode = await main(process.argv.slice(2));
