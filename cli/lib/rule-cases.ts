import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import {
  type Alert,
  AssetInventory,
  AssetRecordSchema,
  createEngine,
  DurationSchema,
  IntelIndex,
  listFiles,
  parseDuration,
  parseIndicatorJson,
  parseRecord,
  type RuleSet,
  readStructured,
  renderSuggestionsByAgent,
  selectRules,
  suggestionsByAgent,
} from '../../engine/index.ts';

/**
 * Detections as code: fixtures/rules/<RULE_ID>/<case>.yaml (or .json), each
 *   description: what the case shows
 *   rules: [ids]                  optional; default: the directory's rule alone
 *   intel: [indicators]           optional; values or {type, value, ...} as in an intel JSON file
 *   assets: [records]             optional; agent inventory records
 *   receivedAt: ISO date-time     optional; when the records arrived, for the time policy (limits.record)
 *   events: [...]                 records in any accepted wire format, in arrival order, or
 *     - repeat: {count, from, every, record}   `count` copies of `record`, `${i}` (1..count), `${i%N}`
 *                                               and `${time}` (from + (i-1) × every) substituted in strings
 *   expect: {alerts: [...]}       the alerts, in order; each lists the fields to compare (others ignored)
 *     policySuggestion: YAML text  optional; the alerts' policy suggestions merged per agent, byte for byte
 *                                  as `suggest-policy` prints them (empty text: none)
 * A case expecting alerts is positive, one expecting none negative; every rule needs one of each.
 */
const RepeatSchema = z.strictObject({
  repeat: z.strictObject({
    count: z.int().min(1).max(100_000),
    from: z.iso.datetime(),
    every: DurationSchema,
    record: z.record(z.string(), z.unknown()),
  }),
});

export const RuleCaseSchema = z.strictObject({
  description: z.string().min(1),
  rules: z.array(z.string()).optional(),
  intel: z.array(z.unknown()).optional(),
  assets: z.array(AssetRecordSchema).optional(),
  receivedAt: z.iso.datetime().optional(),
  events: z.array(z.union([RepeatSchema, z.record(z.string(), z.unknown())])).min(1),
  expect: z.strictObject({
    alerts: z.array(z.record(z.string(), z.unknown())),
    policySuggestion: z.string().optional(),
  }),
});
export type RuleCase = z.infer<typeof RuleCaseSchema>;

export interface CaseResult {
  ruleId: string;
  name: string;
  file: string;
  positive: boolean;
  failures: string[];
}

function substitute(value: unknown, index: number, time: string): unknown {
  if (typeof value === 'string') {
    // Placeholders are `${i}`, `${i%N}` and `${time}`, written literally in case files.
    return value.replace(/\$\{(i|time|i%(\d+))\}/g, (_, name: string, modulus: string | undefined) => {
      if (modulus !== undefined) return String(index % Number(modulus));
      return name === 'time' ? time : String(index);
    });
  }
  if (Array.isArray(value)) return value.map((item) => substitute(item, index, time));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, index, time)]));
  }
  return value;
}

export function expandEvents(events: RuleCase['events']): unknown[] {
  return events.flatMap((entry) => {
    const repeat = RepeatSchema.safeParse(entry);
    if (!repeat.success) return [entry];
    const { count, from, every, record } = repeat.data.repeat;
    const start = Date.parse(from);
    const step = parseDuration(every);
    return Array.from({ length: count }, (_, k) =>
      substitute(record, k + 1, new Date(start + k * step).toISOString()),
    );
  });
}

function compare(expected: Record<string, unknown>[], actual: Alert[]): string[] {
  const failures: string[] = [];
  if (expected.length !== actual.length) {
    const got = actual.map((a) => `${a.ruleId} [${a.eventIds.join(', ')}]`).join('; ') || 'none';
    failures.push(`expected ${expected.length} alert(s), got ${actual.length}: ${got}`);
  }
  expected.forEach((fields, i) => {
    const alert = actual[i] as Record<string, unknown> | undefined;
    if (!alert) return;
    for (const [key, value] of Object.entries(fields)) {
      if (!isDeepStrictEqual(alert[key], value)) {
        failures.push(
          `alert ${i + 1}: ${key} is ${JSON.stringify(alert[key])}, expected ${JSON.stringify(value)}`,
        );
      }
    }
  });
  return failures;
}

/** Runs one case against `rules`; returns what differed from the expectation (empty when it passed). */
export function runCase(ruleCase: RuleCase, ruleId: string, rules: RuleSet): string[] {
  const ids = new Set(ruleCase.rules ?? [ruleId]);
  const selected = selectRules(rules, ids);
  const missing = [...ids].filter((id) => !selected.rules.some((rule) => rule.id === id));
  if (missing.length > 0) return [`unknown or disabled rule(s): ${missing.join(', ')}`];
  const { alerts, failures } = caseAlerts(ruleCase, selected);
  return [
    ...failures,
    ...compare(ruleCase.expect.alerts, alerts),
    ...compareSuggestion(ruleCase.expect.policySuggestion, alerts),
  ];
}

function compareSuggestion(expected: string | undefined, alerts: Alert[]): string[] {
  if (expected === undefined) return [];
  const actual = renderSuggestionsByAgent(suggestionsByAgent(alerts));
  return actual === expected
    ? []
    : [`policySuggestion is\n${actual || '(none)\n'}expected\n${expected || '(none)\n'}`];
}

/** The alerts `rules` raise on a case's events, and the events that could not be read. */
export function caseAlerts(ruleCase: RuleCase, selected: RuleSet): { alerts: Alert[]; failures: string[] } {
  const failures: string[] = [];
  const intel = ruleCase.intel ? parseIndicatorJson(ruleCase.intel, 'case intel') : undefined;
  if (intel) failures.push(...intel.problems);
  let now = 0;
  const engine = createEngine({
    rules: selected,
    intel: intel ? new IntelIndex(intel.indicators) : undefined,
    assets: ruleCase.assets ? new AssetInventory(ruleCase.assets) : undefined,
    clock: () => now,
  });
  const alerts: Alert[] = [];
  const context = ruleCase.receivedAt ? { receivedAt: ruleCase.receivedAt } : {};
  expandEvents(ruleCase.events).forEach((raw, index) => {
    const parsed = parseRecord(raw, context);
    if (!parsed.ok) {
      failures.push(`events[${index}]: ${parsed.error.map((e) => `${e.field}: ${e.message}`).join('; ')}`);
      return;
    }
    // An untrusted time stands at receivedAt: it leaves the clock where it is, as in a replay.
    if (!parsed.value.integrity?.clock) now = Date.parse(parsed.value.timestamp);
    alerts.push(...engine.process(parsed.value));
  });
  return { alerts, failures };
}

/** Runs every case under `root` (one directory per rule id) and reports rules without a positive and a negative case. */
export function runCases(root: string, rules: RuleSet): { results: CaseResult[]; uncovered: string[] } {
  const results: CaseResult[] = [];
  if (!existsSync(root)) return { results, uncovered: rules.rules.map((rule) => rule.id) };
  const directories = readdirSync(root)
    .filter((name) => statSync(join(root, name)).isDirectory())
    .sort();
  for (const ruleId of directories) {
    for (const file of listFiles(join(root, ruleId), ['.yaml', '.yml', '.json'])) {
      const name = basename(file).replace(/\.(ya?ml|json)$/, '');
      const content = readStructured(file);
      const parsed = content.ok ? RuleCaseSchema.safeParse(content.value) : undefined;
      if (!parsed?.success) {
        const reason = !content.ok
          ? content.error.message
          : (parsed?.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') ?? '');
        results.push({ ruleId, name, file, positive: false, failures: [`invalid case file: ${reason}`] });
        continue;
      }
      const positive = parsed.data.expect.alerts.length > 0;
      results.push({ ruleId, name, file, positive, failures: runCase(parsed.data, ruleId, rules) });
    }
  }
  // A silent rule (a chained Sigma correlation's inner one) alerts nowhere: its cases are its outer rule's.
  const uncovered = rules.rules
    .filter((rule) => !rule.silent)
    .map((rule) => rule.id)
    .filter((id) => {
      const own = results.filter((r) => r.ruleId === id && r.failures.length === 0);
      return !own.some((r) => r.positive) || !own.some((r) => !r.positive);
    });
  return { results, uncovered };
}
