import { describe, expect, it } from 'vitest';
import { expectedAlerts, REFERENCE_RULES, referenceScenario } from './scenarios.ts';

describe('reference scenario', () => {
  it('makes each reference rule fire once per planted session', () => {
    const events = referenceScenario({
      runId: 't',
      sessionsPerRule: 2,
      startMs: Date.parse('2026-01-01T00:00:00Z'),
    });
    const alerts = expectedAlerts(events);
    const counts = new Map<string, number>();
    for (const alert of alerts) counts.set(alert.ruleId, (counts.get(alert.ruleId) ?? 0) + 1);
    for (const rule of REFERENCE_RULES) expect(counts.get(rule), rule).toBe(2);
  });
});
