import { err, ok, type Result } from '../../core/result.ts';
import {
  type Condition,
  DEFAULT_RULE_LIMITS,
  type LinearRegex,
  linearRegex,
  linearRegexAny,
  RuleFileSchema,
  type RuleLimits,
  type RuleSource,
  ruleConditions,
} from '../../engine/index.ts';

/** One secret detector: a name for the marker and a linear-time pattern. */
export interface Detector {
  name: string;
  regex: LinearRegex;
}

export interface Detectors {
  list: readonly Detector[];
  /** All of them as one alternation: a string is scanned once to learn whether any detector matches. */
  any: LinearRegex | undefined;
}

export interface NamedPattern {
  name: string;
  pattern: string;
}

/**
 * The regex patterns of the rules named in `ruleIds`, as the rule files write them (so detection and
 * redaction share one definition), named `<ruleId>#<n>`. Conditions under `not` are skipped: they describe
 * what is not a secret. Named conditions (`{condition: name}`) are followed, each once.
 */
export function rulePatterns(
  sources: readonly RuleSource[],
  ruleIds: readonly string[],
): { patterns: NamedPattern[]; found: Set<string> } {
  const named = new Map<string, Condition>();
  const rules = [];
  for (const source of sources) {
    const parsed = RuleFileSchema.safeParse(source.content);
    if (!parsed.success) continue;
    for (const [name, condition] of Object.entries(parsed.data.conditions ?? {})) named.set(name, condition);
    rules.push(...parsed.data.rules.filter((rule) => ruleIds.includes(rule.id)));
  }
  const patterns: NamedPattern[] = [];
  const found = new Set<string>();
  for (const rule of rules) {
    if (found.has(rule.id)) continue;
    found.add(rule.id);
    const own = new Set<string>();
    const visited = new Set<string>();
    const walk = (condition: Condition): void => {
      if ('all' in condition) condition.all.forEach(walk);
      else if ('any' in condition) condition.any.forEach(walk);
      else if ('not' in condition) return;
      else if ('condition' in condition) {
        const target = named.get(condition.condition);
        if (target && !visited.has(condition.condition)) {
          visited.add(condition.condition);
          walk(target);
        }
      } else {
        const operator = condition.operator.split(':');
        if (operator.at(-1) !== 'regex' || operator.includes('not')) return;
        const values = Array.isArray(condition.value) ? condition.value : [condition.value];
        for (const value of values) if (typeof value === 'string') own.add(value);
      }
    };
    ruleConditions(rule).forEach(walk);
    for (const [index, pattern] of [...own].entries())
      patterns.push({ name: `${rule.id}#${index}`, pattern });
  }
  return { patterns, found };
}

/** Compiles every pattern for the linear-time engine, within the rules' regex limits; refusals name the detector. */
export function compileDetectors(
  patterns: readonly NamedPattern[],
  ruleLimits: RuleLimits = DEFAULT_RULE_LIMITS,
): Result<Detectors, string[]> {
  const limits = { maxLength: ruleLimits.maxRegexLength, maxProgramSize: ruleLimits.maxRegexProgramSize };
  const list: Detector[] = [];
  const problems: string[] = [];
  for (const { name, pattern } of patterns) {
    const regex = linearRegex(pattern, '', limits);
    if (typeof regex === 'string') problems.push(`detector ${name} ${JSON.stringify(pattern)}: ${regex}`);
    else list.push({ name, regex });
  }
  if (problems.length > 0) return err(problems);
  if (list.length === 0) return ok({ list, any: undefined });
  const any = linearRegexAny(
    patterns.map(({ pattern }) => pattern),
    limits,
  );
  if ('reason' in any) return err([`detectors together: ${any.reason}`]);
  return ok({ list, any });
}
