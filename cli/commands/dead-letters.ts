import { createHash } from 'node:crypto';
import { pino } from 'pino';
import { systemClock } from '../../core/clock.ts';
import { ENV_PREFIX, loadConfig } from '../../core/config.ts';
import { EdrError } from '../../core/errors.ts';
import { DLQ_HEADERS, type ProcessorConfig, ProcessorConfigSchema } from '../../processor/index.ts';
import {
  createSinkRouter,
  deadLetterFiles,
  emptySummary,
  JsonlDeadLetterWriter,
  ledgerPathFor,
  RecordingDeadLetterWriter,
  ReplayLedger,
  type ReplaySummary,
  readDeadLetters,
  replayDeadLetters,
  type StoredLetter,
} from '../../sinks/index.ts';
import { createTransport, type Message, type OutboundRecord, type Transport } from '../../transport/index.ts';
import { parseCommandLine } from '../lib/command.ts';

const HELP = `Usage: clawdstrike-edr dead-letters replay [options]

Puts dead letters back through the pipeline, once each:

  file  the sinks' dead letters (sinks.deadLetter.path, a JSONL file with its rotated files): every item
        goes back to the sink that could not take it, with that sink's current config. A letter delivered
        (written, or already held) is recorded in a ledger (--ledger), so replaying again sends nothing
        twice; one that fails again is dead-lettered again with the new reason.
  dlq   the broker's dlq stream (records the processor could not decode): each record goes back to the
        events stream, untouched, for a running processor to decode again (e.g. after an upgrade). The
        consumer group --group remembers how far the stream was replayed; the processor and Elasticsearch
        drop a repeat by (agentId, eventId).

Fix the cause first (the reason and code of each dead letter say what it was); --dry-run shows what there
is, per sink and code, and sends nothing. Progress goes to stderr while it runs, the summary to stdout.
SIGINT stops at the next batch: what was delivered stays in the ledger, run again to go on.

Options:
  --config FILE   the processor's config: sinks, dead-letter file, transport (default: $CLAWDSTRIKE_EDR_CONFIG)
  --from SOURCE   file, dlq or all (default: file)
  --file PATH     dead-letter file to read (default: sinks.deadLetter.path)
  --ledger PATH   replay ledger (default: <dead-letter file>-replayed.jsonl beside it)
  --sink NAME     only letters of this sink (repeatable)
  --code CODE     only letters with this failure code, e.g. document_parsing_exception (repeatable)
  --group NAME    consumer group of the dlq replay (default: edr-dead-letters-replay)
  --idle-ms N     stop reading the dlq after N ms without a record (default: 3000)
  --batch N       letters per delivery (default: 500)
  --dry-run       count what would be replayed; deliver and publish nothing
  -h, --help      show this help

Exit status: 0 when everything read was replayed (or already was), 1 when some letters could not be
(failed again, unreadable, no such sink) or the config, a sink or the broker failed, 2 on a usage error.

Examples:
  clawdstrike-edr dead-letters replay --config edr.yaml --dry-run
  clawdstrike-edr dead-letters replay --config edr.yaml --sink elasticsearch --code document_parsing_exception
  clawdstrike-edr dead-letters replay --config edr.yaml --from dlq`;

const PROGRESS_INTERVAL_MS = 1_000;
const DEFAULT_GROUP = 'edr-dead-letters-replay';

interface Options {
  config: ProcessorConfig;
  from: 'file' | 'dlq' | 'all';
  file: string;
  ledger: string;
  sinks: string[];
  codes: string[];
  group: string;
  idleMs: number;
  batch: number;
  dryRun: boolean;
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(
    argv,
    {
      config: { type: 'string' },
      from: { type: 'string' },
      file: { type: 'string' },
      ledger: { type: 'string' },
      sink: { type: 'string', multiple: true },
      code: { type: 'string', multiple: true },
      group: { type: 'string' },
      'idle-ms': { type: 'string' },
      batch: { type: 'string' },
      'dry-run': { type: 'boolean' },
    },
    HELP,
  );
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const usage = (problem: string) => {
    process.stderr.write(`dead-letters: ${problem}\n\n${HELP}\n`);
    return 2;
  };
  if (positionals[0] !== 'replay' || positionals.length > 1) {
    return usage(
      positionals.length === 0
        ? 'missing subcommand (replay)'
        : `unknown subcommand "${positionals.join(' ')}"`,
    );
  }
  const from = values.from ?? 'file';
  if (from !== 'file' && from !== 'dlq' && from !== 'all')
    return usage(`--from ${from}: expected file, dlq or all`);
  const idleMs = positiveInt(values['idle-ms'] ?? '3000');
  const batch = positiveInt(values.batch ?? '500');
  if (idleMs === undefined) return usage(`--idle-ms ${values['idle-ms']}: expected a positive integer`);
  if (batch === undefined) return usage(`--batch ${values.batch}: expected a positive integer`);
  let config: ProcessorConfig;
  try {
    config = loadConfig(ProcessorConfigSchema, ENV_PREFIX, values.config ? { file: values.config } : {});
  } catch (error) {
    if (!(error instanceof EdrError)) throw error;
    process.stderr.write(`dead-letters: ${error.message}\n`);
    return 1;
  }
  const file = values.file ?? config.sinks.deadLetter.path;
  const options: Options = {
    config,
    from,
    file,
    ledger: values.ledger ?? ledgerPathFor(file),
    sinks: values.sink ?? [],
    codes: values.code ?? [],
    group: values.group ?? DEFAULT_GROUP,
    idleMs,
    batch,
    dryRun: values['dry-run'] === true,
  };
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  try {
    let ok = true;
    if (from !== 'dlq') ok = (await replayFile(options, stop.signal)) && ok;
    if (from !== 'file') ok = (await replayDlqStream(options, stop.signal)) && ok;
    return ok ? 0 : 1;
  } catch (error) {
    process.stderr.write(`dead-letters: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
  }
}

/** The sinks' JSONL dead letters, back to their sinks. True when nothing is left that could not be replayed. */
async function replayFile(options: Options, signal: AbortSignal): Promise<boolean> {
  const files = await deadLetterFiles(options.file);
  const summary = emptySummary();
  const unreadable: string[] = [];
  const selected = selectLetters(
    readDeadLetters(files, ({ file, line, reason }) => {
      summary.unreadable++;
      if (unreadable.length < 10) unreadable.push(`${file}:${line}: ${reason}`);
    }),
    options,
  );
  const log = pino({ level: 'warn', base: { component: 'dead-letters' } }, pino.destination(2));
  const recorder = new RecordingDeadLetterWriter(new JsonlDeadLetterWriter(options.config.sinks.deadLetter));
  const router = createSinkRouter(options.config.sinks, { deadLetters: recorder, log });
  const ledger = await ReplayLedger.open(options.ledger);
  signal.addEventListener('abort', () => router.interruptRetries(), { once: true });
  try {
    if (!options.dryRun) {
      await router.start();
      const notReady = router.health().routes.filter((route) => route.reason !== undefined);
      if (notReady.length > 0) {
        for (const route of notReady) {
          process.stderr.write(`dead-letters: sink ${route.name} cannot take items now: ${route.reason}\n`);
        }
        throw new Error('fix the sinks above, then replay again (nothing was sent)');
      }
    }
    await replayDeadLetters(
      {
        letters: stopOnAbort(selected, signal),
        router,
        recorder,
        ledger,
        dryRun: options.dryRun,
        batchSize: options.batch,
        clock: systemClock,
        onProgress: progressPrinter(summary),
      },
      summary,
    );
  } finally {
    await router.close();
    await ledger.close();
  }
  for (const line of unreadable) process.stderr.write(`dead-letters: ${line}\n`);
  printFileSummary(options, files.length, summary, signal.aborted);
  return (
    !signal.aborted &&
    summary.failed === 0 &&
    summary.unreadable === 0 &&
    Object.keys(summary.noSink).length === 0
  );
}

async function* selectLetters(
  letters: AsyncIterable<StoredLetter>,
  options: Options,
): AsyncGenerator<StoredLetter> {
  for await (const stored of letters) {
    if (options.sinks.length > 0 && !options.sinks.includes(stored.letter.sink)) continue;
    if (options.codes.length > 0 && !options.codes.includes(stored.letter.code)) continue;
    yield stored;
  }
}

async function* stopOnAbort<T>(items: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  for await (const item of items) {
    if (signal.aborted) return;
    yield item;
  }
}

function printFileSummary(
  options: Options,
  files: number,
  summary: ReplaySummary,
  interrupted: boolean,
): void {
  const verb = options.dryRun ? 'would replay' : 'replayed';
  const lines = [
    `dead letters (${options.file}, ${files} file${files === 1 ? '' : 's'}): ${summary.read} read, ` +
      `${summary.replayed} ${verb}, ${summary.failed} failed again, ${summary.alreadyReplayed} already replayed, ` +
      `${summary.repeated} repeated, ${summary.unreadable} unreadable${interrupted ? ' (interrupted)' : ''}`,
  ];
  for (const [sink, tally] of Object.entries(summary.bySink)) {
    lines.push(`  ${sink}: ${tally.replayed} ${verb}, ${tally.failed} failed again`);
  }
  for (const [sink, count] of Object.entries(summary.noSink)) {
    lines.push(
      `  ${sink}: ${count} not replayed: no such sink in the config, or its routing no longer takes them`,
    );
  }
  if (summary.failed > 0)
    lines.push(`  the ${summary.failed} that failed again are in ${options.config.sinks.deadLetter.path}`);
  if (!options.dryRun) lines.push(`  ledger: ${options.ledger}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** The dlq stream, back to the events stream. True when it was read to the end without a failure. */
async function replayDlqStream(options: Options, signal: AbortSignal): Promise<boolean> {
  const transport = createTransport(options.config.transport, {
    logger: pino({ level: 'warn', base: { component: 'transport' } }, pino.destination(2)),
  });
  try {
    const counts = await replayDlq(transport, {
      group: options.group,
      idleMs: options.idleMs,
      dryRun: options.dryRun,
      signal,
      onProgress: (read, published) =>
        process.stderr.write(`dead-letters: dlq: ${read} read, ${published} published\n`),
    });
    const outcome = options.dryRun
      ? `${counts.read} would be published again`
      : `${counts.published} published again to events`;
    process.stdout.write(
      `dlq stream (${transport.names.dlq}, group ${options.group}): ${counts.read} read, ${outcome}` +
        `${signal.aborted ? ' (interrupted)' : ''}\n`,
    );
    return !signal.aborted;
  } finally {
    await transport.close();
  }
}

export interface DlqReplayOptions {
  group: string;
  /** Stop once no record came for this long (after the group was assigned its partitions). */
  idleMs: number;
  dryRun: boolean;
  signal?: AbortSignal;
  onProgress?: (read: number, published: number) => void;
}

/**
 * Reads the dlq stream through consumer group `group` and publishes each record, untouched, back to
 * `events`: its original key and headers (the edr-dlq-* ones dropped), and a dedupe id made from its
 * original position, so JetStream drops a repeat within its duplicate window. Positions are committed after
 * each published batch: a second replay reads only what was dead-lettered since. A dry run on Kafka reads
 * through the same group without committing; NATS acknowledges what it reads, so there it is refused.
 */
export async function replayDlq(
  transport: Transport,
  options: DlqReplayOptions,
): Promise<{ read: number; published: number }> {
  const producer = transport.createProducer();
  let assigned = false;
  const consumer = transport.createConsumer({
    stream: 'dlq',
    group: options.group,
    fromBeginning: true,
    deferCommits: options.dryRun,
    onAssignment: () => {
      assigned = true;
    },
  });
  if (options.dryRun && !consumer.defersCommits) {
    throw new EdrError(
      'EDR_ERR_CONFIG',
      `a dry run of the dlq stream needs Kafka: ${transport.kind} acknowledges what it reads (use --from file)`,
    );
  }
  let read = 0;
  let published = 0;
  let lastRecordAt = Date.now();
  let lastProgressAt = Date.now();
  await producer.connect();
  await consumer.start(async (batch) => {
    if (options.signal?.aborted) throw new Error('interrupted');
    const records = batch.messages.map(eventRecordOf);
    if (!options.dryRun) await producer.publish(records);
    read += records.length;
    if (!options.dryRun) published += records.length;
    lastRecordAt = Date.now();
    if (Date.now() - lastProgressAt >= PROGRESS_INTERVAL_MS) {
      lastProgressAt = Date.now();
      options.onProgress?.(read, published);
    }
  });
  try {
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      if (options.signal?.aborted) break;
      if (assigned && Date.now() - lastRecordAt >= options.idleMs) break;
      if (!assigned) lastRecordAt = Date.now();
    }
  } finally {
    consumer.pause();
    await consumer.settled();
    await consumer.close();
    await producer.close();
  }
  return { read, published };
}

/** A dlq record as the events record it was: value, key and headers as published, minus the edr-dlq-* headers. */
export function eventRecordOf(message: Message): OutboundRecord {
  const dlqHeaders = new Set<string>(Object.values(DLQ_HEADERS));
  const headers = Object.fromEntries(
    Object.entries(message.headers).filter(([name]) => !dlqHeaders.has(name)),
  );
  const origin = `${message.headers[DLQ_HEADERS.partition] ?? message.partition}/${message.headers[DLQ_HEADERS.offset] ?? message.offset}`;
  const key = message.key ?? '';
  return {
    stream: 'events',
    key,
    // The NATS subject ends in the agent id, the key (a dead letter from before the key was the agent's
    // carries `agentId:sessionId`: a subject token all the same, and the processor re-keys it).
    token: key || 'replayed',
    id: `dlq-replay-${createHash('sha256').update(origin).digest('base64url')}`,
    value: message.value,
    headers,
  };
}

/** Prints the counts to stderr at most once per PROGRESS_INTERVAL_MS. */
function progressPrinter(summary: ReplaySummary): () => void {
  let last = Date.now();
  return () => {
    if (Date.now() - last < PROGRESS_INTERVAL_MS) return;
    last = Date.now();
    process.stderr.write(
      `dead-letters: ${summary.read} read, ${summary.replayed} replayed, ${summary.failed} failed again, ` +
        `${summary.alreadyReplayed} already replayed\n`,
    );
  };
}

function positiveInt(text: string): number | undefined {
  return /^\d+$/.test(text) && Number(text) > 0 ? Number(text) : undefined;
}
