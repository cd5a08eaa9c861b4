import {
  type Alert,
  AlertSchema,
  renderSuggestionsByAgent,
  SUGGESTION_LIMITS,
  suggestionsByAgent,
} from '../../engine/index.ts';
import { parseCommandLine } from '../lib/command.ts';
import { readLines } from '../lib/jsonl.ts';

const HELP = `Usage: clawdstrike-edr suggest-policy [options] ALERTS.jsonl...

Prints the Clawdstrike policy changes a set of alerts suggests, merged per agent: for each agent one
policy overlay (per policy it extends), in the policy's own YAML format, ready for review and to apply with
\`extends\`. Alerts are JSON lines as the file sink writes them (alerts.jsonl; \`-\` reads stdin); only alerts
carrying response.policySuggestion count (their rules have a suggest section, see docs/sinks.md).

Each overlay:
  version: 1.2.0           deep merge takes the overlay's version; 1.2.0 keeps a base's posture valid
  extends: <policy>        the agent's policy: its name from the asset inventory, else the events' hash
  merge_strategy: deep_merge
  guards / posture         only what changes, in the additive fields (additional_block, additional_patterns),
                           so applying it drops nothing of the agent's policy; lists sorted, each entry once,
                           at most ${SUGGESTION_LIMITS.maxEntriesPerList} per list (a comment says how many were left out)
The output is the same, byte for byte, for the same alerts in any order.

Options:
  --agent ID      only this agent's alerts (repeatable)
  --since TIME    only alerts whose event time is at or after TIME (ISO 8601)
  --until TIME    only alerts whose event time is before TIME (ISO 8601)
  -h, --help      show this help

Exit status: 0 when every line was an alert (also when none suggests anything), 1 when a line was not
(each such line is named on stderr, file:line: field: message, and the others still count), 2 on a usage
error or a file that cannot be read.

Examples:
  clawdstrike-edr suggest-policy data/sinks/alerts.jsonl
  clawdstrike-edr suggest-policy --agent agent-7 --since 2026-03-14T00:00:00Z data/sinks/alerts*.jsonl
  grep CREDENTIAL_EXFILTRATION alerts.jsonl | clawdstrike-edr suggest-policy -`;

/** A longer line is refused unread by the schema (alerts the engine writes are far smaller). */
const MAX_LINE_CHARS = 1024 * 1024;

function instant(name: string, text: string | undefined): number | undefined | string {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? `--${name}: not an ISO 8601 time: ${text}` : ms;
}

function describe(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  return issues
    .map((issue) => `${issue.path.map(String).join('.') || '(alert)'}: ${issue.message}`)
    .join('; ');
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(
    argv,
    {
      agent: { type: 'string', multiple: true },
      since: { type: 'string' },
      until: { type: 'string' },
    },
    HELP,
  );
  if (typeof parsed === 'number') return parsed;
  const files = parsed.positionals;
  const since = instant('since', parsed.values.since);
  const until = instant('until', parsed.values.until);
  const usageError =
    files.length === 0 ? 'no alert file given' : [since, until].find((v) => typeof v === 'string');
  if (usageError !== undefined) {
    process.stderr.write(`${usageError}\n\n${HELP}\n`);
    return 2;
  }
  const agents = parsed.values.agent ? new Set(parsed.values.agent) : undefined;
  const selected: Alert[] = [];
  let read = 0;
  let bad = 0;
  try {
    for (const file of files) {
      for await (const line of readLines(file)) {
        read++;
        const problem = (message: string) => {
          bad++;
          process.stderr.write(`${line.file}:${line.line}: ${message}\n`);
        };
        if (line.text.length > MAX_LINE_CHARS) {
          problem(`${line.text.length} characters, more than an alert line may have (${MAX_LINE_CHARS})`);
          continue;
        }
        let raw: unknown;
        try {
          raw = JSON.parse(line.text);
        } catch (error) {
          problem(`invalid JSON: ${(error as Error).message}`);
          continue;
        }
        const alert = AlertSchema.safeParse(raw);
        if (!alert.success) {
          problem(describe(alert.error.issues));
          continue;
        }
        const time = Date.parse(alert.data.timestamp);
        if (agents && !agents.has(alert.data.agentId)) continue;
        if (typeof since === 'number' && time < since) continue;
        if (typeof until === 'number' && time >= until) continue;
        selected.push(alert.data);
      }
    }
  } catch (error) {
    process.stderr.write(`clawdstrike-edr suggest-policy: ${(error as Error).message}\n`);
    return 2;
  }
  const text = renderSuggestionsByAgent(suggestionsByAgent(selected));
  if (text === '')
    process.stderr.write(`no policy suggestions in ${selected.length} of ${read} alert line(s)\n`);
  process.stdout.write(text);
  return bad > 0 ? 1 : 0;
}
