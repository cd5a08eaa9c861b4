import { createHash } from 'node:crypto';
import { err, ok, type Result } from '../../core/result.ts';
import type { ConditionProblem, LowerEnvironment, Matcher } from '../conditions/compile.ts';
import { lowerCondition } from '../conditions/compile.ts';
import type { Unary } from '../conditions/operators.ts';
import { shapeProblem } from '../data-file.ts';
import { type CompiledRule, compileRule } from './compile.ts';
import { DEFAULT_RULE_LIMITS, type RuleLimits } from './limits.ts';
import { compileList } from './lists.ts';
import type { RuleProblem } from './problems.ts';
import { problemsFromIssues } from './problems.ts';
import { type Condition, type ListDefinition, type Rule, type RuleFile, RuleFileSchema } from './schema.ts';
import {
  aliasGroupKey,
  isSigmaDocument,
  type LoweredSigmaRule,
  lowerSigma,
  type SigmaDocument,
  type SigmaMetadata,
} from './sigma/index.ts';

/** A rule file's parsed content (JSON or YAML) and the name to report problems under. */
export interface RuleSource {
  file: string;
  content: unknown;
}

/** Validated, compiled rules ready for createEngine(); built without I/O. */
export interface RuleSet {
  /** Enabled rules, in load order (files sorted by name, rules in file order). */
  rules: CompiledRule[];
  /** Ids of rules present but `enabled: false`. */
  disabled: string[];
  files: string[];
}

interface Named<T> {
  file: string;
  value: T;
}

function collect<T>(
  files: Array<{ file: string; parsed: RuleFile }>,
  pick: (file: RuleFile) => Record<string, T> | undefined,
  kind: 'lists' | 'conditions',
  problems: RuleProblem[],
): Map<string, Named<T>> {
  const out = new Map<string, Named<T>>();
  for (const { file, parsed } of files) {
    for (const [name, value] of Object.entries(pick(parsed) ?? {})) {
      const previous = out.get(name);
      if (previous) {
        problems.push({
          file,
          path: [kind, name],
          message: `${kind === 'lists' ? 'list' : 'condition'} "${name}" is already defined in ${previous.file}`,
        });
      } else {
        out.set(name, { file, value });
      }
    }
  }
  return out;
}

/** Lists and named conditions a condition uses, transitively: they feed the rule's fingerprint. */
function dependencies(
  condition: Condition,
  conditions: Map<string, Named<Condition>>,
  out: Set<string>,
): void {
  if ('all' in condition) for (const child of condition.all) dependencies(child, conditions, out);
  else if ('any' in condition) for (const child of condition.any) dependencies(child, conditions, out);
  else if ('not' in condition) dependencies(condition.not, conditions, out);
  else if ('condition' in condition) {
    const key = `condition:${condition.condition}`;
    if (out.has(key)) return;
    out.add(key);
    const named = conditions.get(condition.condition);
    if (named) dependencies(named.value, conditions, out);
  } else if (condition.operator.endsWith('inList') && typeof condition.value === 'string') {
    out.add(`list:${condition.value}`);
  }
}

/** Every per-event condition of a rule: its match condition, steps, all_of members, absence pair. */
export function ruleConditions(rule: Rule): Condition[] {
  switch (rule.type) {
    case 'match':
    case 'threshold':
      return [rule.condition];
    case 'sequence':
      return rule.steps.map((step) => step.condition);
    case 'all_of':
      return rule.conditions.map((entry) => entry.condition);
    case 'absence':
      return [rule.condition, rule.followedBy];
    case 'new_terms':
      return rule.condition ? [rule.condition] : [];
  }
}

function fingerprint(
  rule: Rule,
  lists: Map<string, Named<ListDefinition>>,
  conditions: Map<string, Named<Condition>>,
  /** What else defines the rule (a Sigma correlation's aliases). */
  extra?: unknown,
): string {
  const names = new Set<string>();
  for (const condition of ruleConditions(rule)) dependencies(condition, conditions, names);
  const used = [...names].sort().map((name) => {
    const [kind, key] = name.split(/:(.*)/s) as [string, string];
    return [name, kind === 'list' ? lists.get(key)?.value : conditions.get(key)?.value];
  });
  return createHash('sha256')
    .update(JSON.stringify({ rule, used, ...(extra === undefined ? {} : { extra }) }))
    .digest('hex');
}

export interface RuleSetOptions {
  /** Sigma field name → our fact, over the built-in table (docs/sigma.md); config processor.sigmaFieldMapping. */
  sigmaFieldMapping?: Readonly<Record<string, string>>;
  /** Ids of rules to load enabled although their file says `enabled: false` (tests, benchmarks). */
  enable?: ReadonlySet<string>;
}

/**
 * A file's Sigma documents, told apart from our rule files by shape: a document with `detection` or
 * `correlation`, or several YAML documents (`---`). Undefined for a file of ours.
 */
function sigmaDocuments(source: RuleSource, limits: RuleLimits): SigmaDocument[] | RuleProblem | undefined {
  const { file, content } = source;
  if (isSigmaDocument(content)) return [{ file, path: [], value: content }];
  if (!Array.isArray(content)) return undefined;
  if (content.length > limits.maxDocuments) {
    return { file, path: [], message: `${content.length} YAML documents, more than ${limits.maxDocuments}` };
  }
  const other = content.findIndex((value) => !isSigmaDocument(value));
  if (other >= 0) {
    return {
      file,
      path: [other],
      message: 'a file of several documents holds Sigma rules, and this is none',
    };
  }
  return content.map((value, index) => ({ file, path: [index], value }));
}

/**
 * Validates and compiles rule files within `limits`; every problem in every file is reported, not just the
 * first. Content too deep or too large for the limits is refused before the validator walks it. Sigma files
 * are lowered into rules of ours (engine/rules/sigma/) and compiled with them.
 */
export function buildRuleSet(
  sources: readonly RuleSource[],
  limits: RuleLimits = DEFAULT_RULE_LIMITS,
  options: RuleSetOptions = {},
): Result<RuleSet, RuleProblem[]> {
  const problems: RuleProblem[] = [];
  const files: Array<{ file: string; parsed: RuleFile }> = [];
  const sigma: SigmaDocument[] = [];
  for (const source of sources) {
    const shape = shapeProblem(source.content, { maxDepth: limits.maxDepth, maxNodes: limits.maxValues });
    if (shape) {
      problems.push({ file: source.file, ruleId: shape.owner, path: [], message: shape.message });
      continue;
    }
    const documents = sigmaDocuments(source, limits);
    if (documents) {
      if (Array.isArray(documents)) sigma.push(...documents);
      else problems.push(documents);
      continue;
    }
    const parsed = RuleFileSchema.safeParse(source.content);
    if (parsed.success) files.push({ file: source.file, parsed: parsed.data });
    else problems.push(...problemsFromIssues(source.file, source.content, parsed.error.issues));
  }

  const listDefinitions = collect(files, (f) => f.lists, 'lists', problems);
  const conditionDefinitions = collect(files, (f) => f.conditions, 'conditions', problems);

  const regexLimits = { maxLength: limits.maxRegexLength, maxProgramSize: limits.maxRegexProgramSize };
  const lists = new Map<string, Unary>();
  for (const [name, { file, value }] of listDefinitions) {
    const compiled = compileList(value, regexLimits);
    if (typeof compiled === 'function') lists.set(name, compiled);
    else problems.push({ file, path: ['lists', name, 'values', compiled.index], message: compiled.message });
  }

  // Named conditions are lowered once, on first use, and report their problems where they are defined. A
  // chain of them (one using the next) is lowered by recursion, so its length is bounded as nesting is.
  const lowered = new Map<string, Matcher | string>();
  let chain = 0;
  const env: LowerEnvironment = {
    regexLimits,
    list: (name) =>
      lists.get(name) ??
      (listDefinitions.has(name)
        ? `names list "${name}", which is invalid`
        : `names an unknown list "${name}"`),
    condition: (name) => {
      const cached = lowered.get(name);
      if (cached !== undefined) return cached;
      const definition = conditionDefinitions.get(name);
      if (!definition) return `unknown condition "${name}"`;
      if (chain >= limits.maxConditionDepth) {
        return `named conditions using one another more than ${limits.maxConditionDepth} deep`;
      }
      lowered.set(name, `condition "${name}" refers to itself`);
      const local: ConditionProblem[] = [];
      chain++;
      const matcher = lowerCondition(definition.value, env, ['conditions', name], local);
      chain--;
      for (const problem of local) problems.push({ file: definition.file, ...problem });
      const result = local.length === 0 ? matcher : `condition "${name}" is invalid`;
      lowered.set(name, result);
      return result;
    },
  };
  for (const name of conditionDefinitions.keys()) env.condition(name);

  const entries: Array<Omit<LoweredSigmaRule, 'sigma'> & { sigma?: SigmaMetadata }> = files.flatMap(
    ({ file, parsed }) => parsed.rules.map((rule) => ({ file, rule })),
  );
  if (sigma.length > 0) {
    const lowered = lowerSigma(sigma, {
      fieldMapping: options.sigmaFieldMapping ?? {},
      maxConditionLength: limits.maxSigmaConditionLength,
      maxConditionDepth: limits.maxConditionDepth,
    });
    problems.push(...lowered.problems);
    entries.push(...lowered.rules);
  }

  const compiledRules: Array<{ compiled: CompiledRule; enabled: boolean }> = [];
  const seen = new Map<string, string>();
  for (const entry of entries) {
    const { file, rule, sigma: sigmaMetadata, groupParts } = entry;
    const previous = seen.get(rule.id);
    if (previous) {
      problems.push({
        file,
        ruleId: rule.id,
        path: ['id'],
        message: `duplicate rule id, first defined in ${previous}`,
      });
      continue;
    }
    seen.set(rule.id, file);
    const compiled = compileRuleSafely(
      rule,
      file,
      fingerprint(
        rule,
        listDefinitions,
        conditionDefinitions,
        groupParts || entry.definedBy ? { groupParts, definedBy: entry.definedBy } : undefined,
      ),
      env,
      limits,
    );
    if (Array.isArray(compiled)) {
      for (const problem of compiled) problems.push({ file, ruleId: rule.id, ...problem });
      continue;
    }
    if (sigmaMetadata) compiled.sigma = sigmaMetadata;
    if (groupParts) {
      const local: ConditionProblem[] = [];
      compiled.groupKey = aliasGroupKey(groupParts, env, local);
      if (compiled.suppression) compiled.suppression.key = compiled.groupKey;
      for (const problem of local) problems.push({ file, ruleId: rule.id, ...problem });
    }
    if (entry.feeds) compiled.feeds = entry.feeds;
    if (entry.silent) compiled.silent = true;
    for (const bit of entry.fedOnly ?? []) compiled.roles[bit] = fedRole(compiled.roles[bit]!.name);
    // A silent rule runs when a rule it feeds runs.
    compiledRules.push({
      compiled,
      enabled: !entry.silent && (rule.enabled || options.enable?.has(rule.id) === true),
    });
  }
  if (problems.length > 0) return err(problems);
  const all = compiledRules.map(({ compiled }) => compiled);
  const rules = withFeeders(
    compiledRules.filter(({ enabled }) => enabled).map(({ compiled }) => compiled),
    all,
  );
  const running = new Set(rules);
  // A rule disabled by its file that still feeds a running one runs for that only.
  for (const { compiled, enabled } of compiledRules)
    if (running.has(compiled) && !enabled) compiled.silent = true;
  const disabled = all.filter((rule) => !running.has(rule)).map((rule) => rule.id);
  return ok({ rules, disabled, files: sources.map((source) => source.file) });
}

/** A role only a chained correlation's matches satisfy: no event matches it, so dispatch never runs it. */
function fedRole(name: string): CompiledRule['roles'][number] {
  return { name, predicate: () => false, byEventType: new Map() };
}

/**
 * `chosen` and every rule of `all` whose matches feed one of them, transitively (chained Sigma
 * correlations), in the order of `all`.
 */
function withFeeders(chosen: readonly CompiledRule[], all: readonly CompiledRule[]): CompiledRule[] {
  const ids = new Set(chosen.map((rule) => rule.id));
  for (let grew = true; grew; ) {
    grew = false;
    for (const rule of all) {
      if (ids.has(rule.id) || !rule.feeds?.some((feed) => ids.has(feed.ruleId))) continue;
      ids.add(rule.id);
      grew = true;
    }
  }
  return all.filter((rule) => ids.has(rule.id));
}

/**
 * compileRule, with anything it throws turned into a problem of that rule: the limits are meant to keep every
 * rule compilable, and a rule that still is not must not take the other rules (or the process) with it.
 */
function compileRuleSafely(...args: Parameters<typeof compileRule>): ReturnType<typeof compileRule> {
  try {
    return compileRule(...args);
  } catch (error) {
    return [{ path: [], message: `cannot be compiled: ${(error as Error).message}` }];
  }
}

/** The same set restricted to the given rule ids (used by `rules test` to run one rule at a time). */
export function selectRules(set: RuleSet, ids: ReadonlySet<string>): RuleSet {
  return {
    ...set,
    rules: withFeeders(
      set.rules.filter((rule) => ids.has(rule.id)),
      set.rules,
    ),
  };
}
