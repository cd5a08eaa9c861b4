import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCases } from '../../cli/lib/rule-cases.ts';
import { bundledRules } from './helpers.ts';

/** `clawdstrike-edr rules test` over every fixture, so CI runs the detections-as-code suite. */
describe('rules test over fixtures/rules', () => {
  const { results, uncovered } = runCases(
    fileURLToPath(new URL('../../fixtures/rules/', import.meta.url)),
    bundledRules(),
  );

  it('covers every bundled rule with a positive and a negative case', () => {
    expect(uncovered).toEqual([]);
  });

  it.each(results.map((r) => [`${r.ruleId}/${r.name}`, r.failures] as const))('%s', (_, failures) => {
    expect(failures).toEqual([]);
  });
});
