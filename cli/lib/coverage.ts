import { join } from 'node:path';
import { z } from 'zod';
import { err, ok, type Result } from '../../core/result.ts';
import {
  type CompiledRule,
  type FrameworkName,
  type Frameworks,
  formatProblem,
  loadFrameworks,
  loadRules,
  parseFrameworkTag,
  readStructured,
  type Technique,
} from '../../engine/index.ts';
import { type CaseResult, runCases } from './rule-cases.ts';

/** Whether a rule has a passing positive case and a passing near-miss (negative) case. */
export interface RuleFixtures {
  positive: boolean;
  nearMiss: boolean;
}

export interface DetectingRule {
  id: string;
  fixtures: RuleFixtures;
}

/** A technique under one of its tactics, with the rules whose tags name it. */
export interface CoverageRow {
  framework: FrameworkName;
  tactic: { id: string; name: string };
  technique: Technique;
  rules: DetectingRule[];
}

export function hasBothFixtures(rule: DetectingRule): boolean {
  return rule.fixtures.positive && rule.fixtures.nearMiss;
}

/** Per rule id, the kinds of passing cases `rules test` found for it. */
export function fixturesByRule(results: readonly CaseResult[]): Map<string, RuleFixtures> {
  const out = new Map<string, RuleFixtures>();
  for (const result of results) {
    if (result.failures.length > 0) continue;
    const fixtures = out.get(result.ruleId) ?? { positive: false, nearMiss: false };
    if (result.positive) fixtures.positive = true;
    else fixtures.nearMiss = true;
    out.set(result.ruleId, fixtures);
  }
  return out;
}

/**
 * The covered techniques of both frameworks, one row per (tactic, technique) in the framework's tactic order
 * and technique id order; a technique no rule names has no row.
 */
export function coverageRows(
  rules: readonly CompiledRule[],
  fixtures: ReadonlyMap<string, RuleFixtures>,
  frameworks: Frameworks,
): CoverageRow[] {
  const detecting = new Map<string, DetectingRule[]>();
  for (const rule of rules) {
    const detectingRule = {
      id: rule.id,
      fixtures: fixtures.get(rule.id) ?? { positive: false, nearMiss: false },
    };
    for (const tag of new Set(rule.tags)) {
      const parsed = parseFrameworkTag(tag);
      if (!parsed || !frameworks[parsed.framework].techniques.has(parsed.id)) continue;
      const key = `${parsed.framework}:${parsed.id}`;
      detecting.set(key, [...(detecting.get(key) ?? []), detectingRule]);
    }
  }
  const rows: CoverageRow[] = [];
  for (const framework of ['atlas', 'attack'] as const) {
    const index = frameworks[framework];
    const techniques = [...index.techniques.values()].sort((a, b) => a.id.localeCompare(b.id));
    const covered = techniques.flatMap((technique) => {
      const rules = detecting.get(`${framework}:${technique.id}`);
      return rules ? [{ technique, rules }] : [];
    });
    for (const tactic of index.framework.tactics) {
      for (const { technique, rules } of covered) {
        if (technique.tactics.includes(tactic.id)) rows.push({ framework, tactic, technique, rules });
      }
    }
  }
  return rows;
}

/**
 * frameworks/atlas-scope.yaml: which ATLAS techniques leave evidence in tool-boundary telemetry and must be
 * detected (with fixtures), and which are excluded, with the reason. Every top-level technique is listed
 * once, and every sub-technique of an in-scope technique; the other sub-techniques are excluded with their
 * parent unless listed.
 */
export const AtlasScopeSchema = z.strictObject({
  atlasVersion: z.string().min(1),
  detect: z.array(z.strictObject({ id: z.string().min(1), evidence: z.string().min(1) })).min(1),
  exclude: z.array(z.strictObject({ reason: z.string().min(1), ids: z.array(z.string().min(1)).min(1) })),
});
export type AtlasScope = z.infer<typeof AtlasScopeSchema>;

/** What is wrong with a scope file against the ATLAS data: ids unknown, listed twice, or top-level ids missing. */
export function scopeProblems(scope: AtlasScope, frameworks: Frameworks): string[] {
  const atlas = frameworks.atlas;
  const problems: string[] = [];
  if (scope.atlasVersion !== atlas.framework.version) {
    problems.push(`scope is for ATLAS ${scope.atlasVersion}, the data is ${atlas.framework.version}`);
  }
  const listed = [...scope.detect.map((entry) => entry.id), ...scope.exclude.flatMap((entry) => entry.ids)];
  const seen = new Set<string>();
  for (const id of listed) {
    if (!atlas.techniques.has(id))
      problems.push(`${id} is not an ATLAS ${atlas.framework.version} technique`);
    if (seen.has(id)) problems.push(`${id} is listed twice`);
    seen.add(id);
  }
  const detected = new Set(scope.detect.map((entry) => entry.id));
  for (const technique of atlas.techniques.values()) {
    const parent = technique.subtechniqueOf;
    if (!seen.has(technique.id) && (!parent || detected.has(parent))) {
      problems.push(`${technique.id} (${technique.name}) is not listed`);
    }
  }
  return problems;
}

/** The in-scope techniques that no rule with a positive and a near-miss case detects. */
export function uncoveredInScope(scope: AtlasScope, rows: readonly CoverageRow[]): string[] {
  const covered = new Set(
    rows
      .filter((row) => row.framework === 'atlas' && row.rules.some(hasBothFixtures))
      .map((row) => row.technique.id),
  );
  return scope.detect.map((entry) => entry.id).filter((id) => !covered.has(id));
}

export interface Coverage {
  frameworks: Frameworks;
  scope: AtlasScope;
  rows: CoverageRow[];
}

/**
 * Loads rules, frameworks and the ATLAS scope, runs the cases and returns the coverage rows; every problem
 * (a rule file, a framework file, the scope against the data) is one line.
 */
export function loadCoverage(options: {
  rulePaths: readonly string[];
  casesRoot: string;
  frameworksDirectory: string;
}): Result<Coverage, string[]> {
  const rules = loadRules(options.rulePaths);
  if (!rules.ok) return err(rules.error.map(formatProblem));
  const frameworks = loadFrameworks(options.frameworksDirectory);
  if (!frameworks.ok) return err(frameworks.error);
  const scopeFile = join(options.frameworksDirectory, 'atlas-scope.yaml');
  const content = readStructured(scopeFile);
  if (!content.ok) return err([`${scopeFile}: ${content.error.message}`]);
  const scope = AtlasScopeSchema.safeParse(content.value);
  if (!scope.success) {
    return err(
      scope.error.issues.map((issue) => `${scopeFile}: $.${issue.path.join('.')}: ${issue.message}`),
    );
  }
  const problems = scopeProblems(scope.data, frameworks.value);
  if (problems.length > 0) return err(problems.map((problem) => `${scopeFile}: ${problem}`));
  const { results } = runCases(options.casesRoot, rules.value);
  const rows = coverageRows(rules.value.rules, fixturesByRule(results), frameworks.value);
  return ok({ frameworks: frameworks.value, scope: scope.data, rows });
}
