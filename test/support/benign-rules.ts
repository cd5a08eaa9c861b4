import { expect } from 'vitest';
import { BUNDLED_RULES } from '../../cli/lib/inputs.ts';
import { type Alert, createEngine, loadRules, parseRecord, selectRules } from '../../engine/index.ts';
import { generate, normalize } from '../../simulator/test-support.ts';

export interface BenignRun {
  seed: number;
  agents: number;
  /** Records per second of simulated time. */
  rate: number;
  durationMs: number;
}

/**
 * Runs benign simulator traffic (no attacks), then `extra` records, through the bundled rules `ruleIds`
 * alone, on event time; returns the alerts of each part and how many benign events ran.
 */
export function runBenignThen(
  ruleIds: readonly string[],
  run: BenignRun,
  extra: readonly Record<string, unknown>[] = [],
): { benign: Alert[]; after: Alert[]; events: number } {
  const loaded = loadRules([BUNDLED_RULES]);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
  const rules = selectRules(loaded.value, new Set(ruleIds));
  expect(rules.rules.map((rule) => rule.id).sort()).toEqual([...ruleIds].sort());
  let now = 0;
  const engine = createEngine({ rules, clock: () => now });
  const events = normalize(
    generate({ seed: run.seed, agents: run.agents, attacks: [] }, run.rate, run.durationMs),
  );
  const benign: Alert[] = [];
  for (const { envelope } of events) {
    now = Date.parse(envelope.timestamp);
    benign.push(...engine.process(envelope));
  }
  const after: Alert[] = [];
  for (const record of extra) {
    const parsed = parseRecord(record);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
    now = Date.parse(parsed.value.timestamp);
    after.push(...engine.process(parsed.value));
  }
  return { benign, after, events: events.length };
}
