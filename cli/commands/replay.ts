import { once } from 'node:events';
import { z } from 'zod';
import { ENV_PREFIX, loadConfig } from '../../core/config.ts';
import { EdrError } from '../../core/errors.ts';
import {
  createEngine,
  type Envelope,
  type LimitsConfig,
  LimitsConfigSchema,
  timestampMillis,
} from '../../engine/index.ts';
import { parseCommandLine } from '../lib/command.ts';
import { loadCommandInputs } from '../lib/inputs.ts';
import { decodeLine, readLines } from '../lib/jsonl.ts';

const HELP = `Usage: clawdstrike-edr replay [options] FILE...

Runs the detection engine over JSONL files and writes alerts as JSONL to stdout; a summary goes to stderr.
Records may be PolicyEvents, hushd AuditEvents, SecurityEvents, webhook bodies or ECS documents, mixed.
FILE may be - for stdin. Files are read in the order given, lines in order; windows are judged on event
time, and events out of order by more than the allowed lateness (60s) do not count for correlation (use
--sort for exports written newest-first). Output is deterministic: detectedAt is the time of the event that
raised the alert. Bad lines are reported as file:line: field: reason and skipped; the lines after them are read.
Lines may also be envelopes, as the file sink writes them. Records are read under the limits section of the
config (limits.record, limits.engine: docs/security.md); an event time more than limits.record.maxFutureSkewMs
after the moment the replay started is not believed (it counts as the replay's present, flagged).

Options:
  --config FILE   config file whose limits section applies (default: $CLAWDSTRIKE_EDR_CONFIG)
  --rules PATH    rule file or directory, repeatable (default: the bundled rules/)
  --intel PATH    threat-intel file or directory, repeatable: .txt, .csv, .json (incl. STIX 2.1 bundles)
  --assets PATH   agent inventory, .json or .csv
  --sort          sort all events by event time first (holds every event in memory)
  --quiet         no progress or summary on stderr
  -h, --help      show this help

Exit status: 0 when the replay ran (bad lines included), 1 when rules, intel, inventory or a file could
not be read, 2 on a usage error.

Example:
  clawdstrike-edr replay --intel intel/domains.txt events.jsonl hushd-audit.jsonl > alerts.jsonl`;

const PROGRESS_INTERVAL_MS = 2000;

/** The replay's part of the shared config file. */
const ReplayConfigSchema = z.object({ limits: LimitsConfigSchema });

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(
    argv,
    {
      rules: { type: 'string', multiple: true },
      intel: { type: 'string', multiple: true },
      assets: { type: 'string' },
      sort: { type: 'boolean' },
      quiet: { type: 'boolean' },
      config: { type: 'string' },
    },
    HELP,
  );
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  if (positionals.length === 0) {
    process.stderr.write(`replay: no input files\n\n${HELP}\n`);
    return 2;
  }
  let limits: LimitsConfig;
  try {
    ({ limits } = loadConfig(ReplayConfigSchema, ENV_PREFIX, values.config ? { file: values.config } : {}));
  } catch (error) {
    if (!(error instanceof EdrError)) throw error;
    process.stderr.write(`replay: ${error.message}\n`);
    return 1;
  }
  const inputs = loadCommandInputs({ rules: values.rules, intel: values.intel, assets: values.assets });
  if (!inputs) return 1;
  // The records' arrival, for the time policy: nothing honest was written after the replay started.
  const context = { receivedAt: new Date().toISOString(), limits: limits.record };

  const log = (text: string) => {
    if (!values.quiet) process.stderr.write(`${text}\n`);
  };
  // Replays are pure: "now" is the time of the event being processed.
  let eventTime = 0;
  const engine = createEngine({ ...inputs, clock: () => eventTime, limits: limits.engine });
  const started = performance.now();
  let lastProgress = started;
  let lines = 0;
  let badLines = 0;
  let alerts = 0;

  const out = process.stdout;
  let pending = '';
  const flush = async (force: boolean) => {
    if (pending.length === 0 || (!force && pending.length < 64 * 1024)) return;
    const chunk = pending;
    pending = '';
    if (!out.write(chunk)) await once(out, 'drain');
  };
  const processEnvelope = async (envelope: Envelope) => {
    // A time the policy did not believe stands at the replay's start: it leaves the clock where it is.
    if (!envelope.integrity?.clock) eventTime = timestampMillis(envelope.timestamp);
    for (const alert of engine.process(envelope)) {
      alerts++;
      pending += `${JSON.stringify(alert)}\n`;
    }
    await flush(false);
  };

  const held: Envelope[] = [];
  // Events with an untrusted time seen before any believable one wait for it: the engine then counts them
  // at that event's time (its present) instead of the replay's start.
  let untrusted: Envelope[] | undefined = [];
  let status = 0;
  for (const file of positionals) {
    try {
      for await (const line of readLines(file)) {
        lines++;
        const decoded = decodeLine(line, context);
        if (!decoded.ok) {
          badLines++;
          log(decoded.problem);
        } else if (values.sort) {
          held.push(decoded.envelope);
        } else if (untrusted && decoded.envelope.integrity?.clock) {
          untrusted.push(decoded.envelope);
        } else {
          await processEnvelope(decoded.envelope);
          if (untrusted) for (const envelope of untrusted.splice(0)) await processEnvelope(envelope);
          untrusted = undefined;
        }
        const now = performance.now();
        if (now - lastProgress >= PROGRESS_INTERVAL_MS) {
          lastProgress = now;
          log(`replay: ${line.file}:${line.line} (${lines} lines, ${alerts} alerts)`);
        }
      }
    } catch (error) {
      log(
        `replay: ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
      );
      status = 1;
    }
  }
  for (const envelope of untrusted ?? []) await processEnvelope(envelope);
  if (values.sort) {
    // Untrusted times last: they stand at the replay's start, after every believable one.
    const order = (envelope: Envelope) =>
      envelope.integrity?.clock ? Number.POSITIVE_INFINITY : timestampMillis(envelope.timestamp);
    held.sort((a, b) => order(a) - order(b));
    for (const envelope of held) await processEnvelope(envelope);
  }
  await flush(true);

  const stats = engine.stats();
  const seconds = (performance.now() - started) / 1000;
  log(
    `replay: ${lines} lines, ${stats.eventsProcessed} events, ${badLines} bad lines, ${stats.duplicatesDropped} duplicates, ` +
      `${stats.lateEvents} late, ${stats.timeBounded} with times bounded, ${alerts} alerts (${stats.alertsSuppressed} suppressed) in ${seconds.toFixed(2)}s`,
  );
  for (const [ruleId, count] of Object.entries(stats.alertsByRule).sort()) log(`  ${ruleId}: ${count}`);
  return status;
}
