import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Alert, createEngine, type Envelope, loadRules, parseRecord } from '../../engine/index.ts';
import { REFERENCE_RULES, referenceScenario } from '../support/scenarios.ts';
import { REPO_ROOT } from '../support/shared.ts';

function bundledRules() {
  const rules = loadRules([join(REPO_ROOT, 'rules')]);
  if (!rules.ok) throw new Error('bundled rules do not load');
  return rules.value;
}

function envelopes(): Envelope[] {
  return referenceScenario({
    runId: 'snap',
    sessionsPerRule: 2,
    startMs: Date.parse('2026-05-01T00:00:00Z'),
  }).map((raw) => {
    const parsed = parseRecord(raw);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
    return parsed.value;
  });
}

describe('engine snapshots through JSON (what the processor checkpoints)', () => {
  it('gives the alerts of an uninterrupted run when cut at any point of the reference scenario', () => {
    const events = envelopes();
    const clock = () => Date.parse('2026-05-01T06:00:00Z');
    const whole = createEngine({ rules: bundledRules(), clock }).processBatch(events);
    const fired = new Set(whole.map((alert) => alert.ruleId));
    for (const rule of REFERENCE_RULES) expect(fired.has(rule), rule).toBe(true);
    for (const cut of [1, Math.floor(events.length / 3), Math.floor(events.length / 2), events.length - 1]) {
      const first = createEngine({ rules: bundledRules(), clock });
      const alerts: Alert[] = first.processBatch(events.slice(0, cut));
      const second = createEngine({ rules: bundledRules(), clock });
      second.restore(JSON.parse(JSON.stringify(first.snapshot())));
      alerts.push(...second.processBatch(events.slice(cut)));
      expect(
        alerts.map((alert) => alert.alertId),
        `cut at ${cut}`,
      ).toEqual(whole.map((alert) => alert.alertId));
    }
  });
});
