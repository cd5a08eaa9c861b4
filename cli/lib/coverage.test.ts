import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { packagePath } from '../../core/package-path.ts';
import { bundledCoverage } from '../../test/support/coverage.ts';
import { type Coverage, scopeProblems, uncoveredInScope } from './coverage.ts';
import { coverageMarkdown } from './coverage-report.ts';

let coverage: Coverage;
beforeAll(() => {
  coverage = bundledCoverage();
});

describe('ATLAS coverage', () => {
  it('every in-scope technique is detected by a rule with a passing positive and near-miss case', () => {
    expect(uncoveredInScope(coverage.scope, coverage.rows)).toEqual([]);
    const agent = coverage.scope.detect.filter((entry) =>
      /AI Agent/.test(coverage.frameworks.atlas.techniques.get(entry.id)!.name),
    );
    expect(agent.map((entry) => entry.id)).toEqual(
      expect.arrayContaining(['AML.T0053', 'AML.T0081', 'AML.T0083', 'AML.T0084', 'AML.T0086', 'AML.T0110']),
    );
  });

  it('an in-scope technique whose rules lose a case is reported', () => {
    const rows = coverage.rows.map((row) =>
      row.technique.id === 'AML.T0086'
        ? {
            ...row,
            rules: row.rules.map((rule) => ({ ...rule, fixtures: { positive: true, nearMiss: false } })),
          }
        : row,
    );
    expect(uncoveredInScope(coverage.scope, rows)).toEqual(['AML.T0086']);
  });

  it('the scope lists every top-level technique, and every sub-technique of an in-scope one, once', () => {
    expect(scopeProblems(coverage.scope, coverage.frameworks)).toEqual([]);
    const missing = { ...coverage.scope, exclude: coverage.scope.exclude.slice(1) };
    expect(scopeProblems(missing, coverage.frameworks)).toContain(
      'AML.T0089 (Process Discovery) is not listed',
    );
    const withoutSub = {
      ...coverage.scope,
      exclude: coverage.scope.exclude.filter((entry) => !entry.ids.includes('AML.T0051.002')),
    };
    expect(scopeProblems(withoutSub, coverage.frameworks)).toContain(
      'AML.T0051.002 (Triggered) is not listed',
    );
    const unknown = {
      ...coverage.scope,
      detect: [...coverage.scope.detect, { id: 'AML.T9999', evidence: 'x' }],
    };
    expect(scopeProblems(unknown, coverage.frameworks)).toContain(
      'AML.T9999 is not an ATLAS 5.5.0 technique',
    );
  });

  it('docs/coverage.md is current (rules coverage --markdown > docs/coverage.md)', () => {
    const committed = readFileSync(packagePath('docs', 'coverage.md'), 'utf8');
    expect(committed).toBe(`${coverageMarkdown(coverage.scope, coverage.rows, coverage.frameworks)}\n`);
  });
});
