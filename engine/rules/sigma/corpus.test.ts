import { describe, expect, it } from 'vitest';
import { runCases } from '../../../cli/lib/rule-cases.ts';
import { packagePath } from '../../../core/package-path.ts';
import { loadRules } from '../load.ts';

/**
 * fixtures/sigma/: Sigma rules for what the bundled rules do not use (chained correlations, value_sum,
 * value_avg, new_terms in Sigma, RSigma's correlation edge cases) and their cases, run as `rules test`
 * runs them. They stay out of rules/, so they cost the pipeline nothing.
 */
describe('the Sigma fixture corpus', () => {
  const loaded = loadRules([packagePath('fixtures', 'sigma', 'rules')]);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
  const { results, uncovered } = runCases(packagePath('fixtures', 'sigma', 'cases'), loaded.value);

  it('covers every rule with a positive and a negative case', () => {
    expect(uncovered).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(29);
  });

  it.each(results.map((result) => [`${result.ruleId}/${result.name}`, result.failures]))(
    '%s',
    (_, failures) => {
      expect(failures).toEqual([]);
    },
  );
});
