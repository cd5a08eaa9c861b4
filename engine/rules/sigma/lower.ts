import type { Severity } from '../../../core/severity.ts';
import type { JsonPath } from '../../conditions/compile.ts';
import { EVENT_TYPES } from '../../model/index.ts';
import type { RuleProblem } from '../problems.ts';
import { problemsFromIssues } from '../problems.ts';
import { type Condition, durationMs, MAX_COUNT, MAX_NEW_TERMS_FIELDS, type Rule } from '../schema.ts';
import type { GroupPart } from './aliases.ts';
import { type DetectionLimits, detectionCondition } from './detection.ts';
import { mapField, SIGMA_CATEGORIES, SIGMA_PRODUCTS } from './fields.ts';
import {
  type CorrelationCondition,
  type CountCondition,
  type SigmaCorrelationRule,
  SigmaCorrelationRuleSchema,
  type SigmaDetectionRule,
  SigmaDetectionRuleSchema,
} from './schema.ts';
import { SigmaRefusal } from './values.ts';

/**
 * Sigma documents lowered into our rules: a detection rule becomes a `match` rule, and a correlation the
 * correlation type of ours that means the same (event_count → threshold count, value_count → threshold
 * distinct, temporal → all_of, temporal_ordered → sequence), over the conditions of the rules it names. The
 * result is compiled and run exactly as a rule of ours is: the same evaluator, event-time windows, lateness,
 * suppression, state limits and checkpoints. Whatever cannot be lowered faithfully is refused, naming the
 * file, the rule and the feature.
 */
export interface SigmaDocument {
  file: string;
  /** Where the document sits in its file: [] for a single document, [n] for the n-th of several. */
  path: JsonPath;
  value: unknown;
}

/** What a Sigma rule carries that ours do not; kept on the compiled rule for analysts. */
export interface SigmaMetadata {
  references: string[];
  falsepositives: string[];
  status?: string | undefined;
  /** Our rule this one restates (clawdstrike.copyOf). */
  copyOf?: string | undefined;
}

/** A correlation whose matches are hits of another correlation's conditions (a chained correlation). */
export interface Feed {
  /** The correlation fed. */
  ruleId: string;
  /** The conditions (roles) of it that a match satisfies. */
  mask: number;
}

export interface LoweredSigmaRule {
  file: string;
  rule: Rule;
  sigma: SigmaMetadata;
  /** A correlation's group-by when it uses aliases: its key is built by aliasGroupKey (aliases.ts). */
  groupParts?: GroupPart[];
  /** A correlation named by others: each of its matches is a hit of theirs, at the time it completed. */
  feeds?: Feed[];
  /** Matches feed other correlations and alert nowhere (a correlation they name without generate). */
  silent?: boolean;
  /** Roles that only a chained correlation's matches satisfy: they match no event themselves. */
  fedOnly?: number[];
  /** What else defines the rule, for its fingerprint: the correlations it names. */
  definedBy?: unknown;
}

/**
 * How many correlations a chain may stack, the outermost included. A match of an inner correlation is
 * processed within the event that completed it, one level deeper each time, so the bound also bounds that.
 */
export const MAX_CHAIN_DEPTH = 4;

export interface SigmaOptions extends DetectionLimits {
  /** Sigma field name → our fact, over the built-in taxonomy table (config processor.sigmaFieldMapping). */
  fieldMapping: Readonly<Record<string, string>>;
}

const SEVERITY_BY_LEVEL: Readonly<Record<string, Severity>> = {
  informational: 'info',
  low: 'low',
  medium: 'medium',
  high: 'high',
  critical: 'critical',
};

/** Sigma's default level is not defined; an alert needs one, so a rule without a level alerts as medium. */
const DEFAULT_SEVERITY: Severity = 'medium';

/** Sigma names ATT&CK Enterprise tactics by slug (tags appendix); our tags name them by id. */
const ATTACK_TACTICS: Readonly<Record<string, string>> = {
  reconnaissance: 'TA0043',
  resource_development: 'TA0042',
  initial_access: 'TA0001',
  execution: 'TA0002',
  persistence: 'TA0003',
  privilege_escalation: 'TA0004',
  defense_evasion: 'TA0005',
  credential_access: 'TA0006',
  discovery: 'TA0007',
  lateral_movement: 'TA0008',
  collection: 'TA0009',
  command_and_control: 'TA0011',
  exfiltration: 'TA0010',
  impact: 'TA0040',
};

/**
 * `attack.t1552.004` → `attack:T1552.004`, `attack.ta0006` and `attack.credential_access` → `attack:TA0006`,
 * `atlas.aml.t0051` → `atlas:AML.T0051`; other names keep their case (`detection:threat_hunting`).
 */
export function ourTag(tag: string): string {
  const dot = tag.indexOf('.');
  if (dot < 0) return tag;
  const rest = tag.slice(dot + 1);
  const tactic = tag.slice(0, dot) === 'attack' ? ATTACK_TACTICS[rest] : undefined;
  if (tactic) return `attack:${tactic}`;
  const isId = /^(?:t|ta|s|g|m|ds|c)\d|^aml\./i.test(rest);
  return `${tag.slice(0, dot)}:${isId ? rest.toUpperCase() : rest}`;
}

const asList = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

function logsourceCondition(logsource: SigmaDetectionRule['logsource']): Condition | undefined {
  const { product, category, service } = logsource;
  if (!product || !(SIGMA_PRODUCTS as readonly string[]).includes(product)) {
    throw new SigmaRefusal(
      `logsource.product ${JSON.stringify(product ?? null)} is not ours: use ${SIGMA_PRODUCTS.join(' or ')}`,
    );
  }
  if (service !== undefined)
    throw new SigmaRefusal(`logsource.service ${JSON.stringify(service)} is not supported`);
  if (category === undefined) return undefined;
  if ((EVENT_TYPES as readonly string[]).includes(category)) {
    return { fact: 'eventType', operator: 'equal', value: category };
  }
  const mapped = SIGMA_CATEGORIES[category];
  if (!mapped) {
    throw new SigmaRefusal(
      `logsource.category ${JSON.stringify(category)} is neither an eventType (${EVENT_TYPES.join(', ')}) nor one of ${Object.keys(SIGMA_CATEGORIES).join(', ')}`,
    );
  }
  return mapped;
}

/** The smallest count a Sigma count condition passes at the moment the count reaches it (see docs/sigma.md). */
export function countMinimum(
  condition: CountCondition | CorrelationCondition | undefined,
  fallback: number,
): number {
  if (!condition) return fallback;
  for (const key of ['gt', 'gte', 'lt', 'lte', 'eq', 'neq'] as const) {
    const bound = condition[key];
    if (bound !== undefined && !(Number.isInteger(bound) && bound >= 0 && bound <= MAX_COUNT)) {
      throw new SigmaRefusal(
        `correlation.condition.${key}: a count is a whole number from 0 to ${MAX_COUNT}, got ${bound}`,
      );
    }
  }
  const lower = [
    condition.gt === undefined ? undefined : condition.gt + 1,
    condition.gte,
    condition.eq,
  ].filter((bound): bound is number => bound !== undefined);
  let minimum = lower.length > 0 ? Math.max(...lower, 1) : 1;
  if (condition.neq === minimum) minimum++;
  const upper = [
    condition.lt === undefined ? undefined : condition.lt - 1,
    condition.lte,
    condition.eq,
  ].filter((bound): bound is number => bound !== undefined);
  if (upper.some((bound) => bound < minimum)) {
    throw new SigmaRefusal(`correlation.condition ${JSON.stringify(condition)} can never hold`);
  }
  return minimum;
}

interface Parsed<T> {
  doc: SigmaDocument;
  rule: T;
}

function baseRule(doc: SigmaDocument, rule: SigmaDetectionRule | SigmaCorrelationRule) {
  if (!rule.id) throw new SigmaRefusal('an emitted rule needs an id (its alerts carry it as ruleId)');
  const extension = rule.clawdstrike ?? {};
  return {
    id: rule.id,
    name: rule.title,
    description: rule.description ?? '',
    severity: rule.level ? SEVERITY_BY_LEVEL[rule.level]! : DEFAULT_SEVERITY,
    ...(extension.riskScore === undefined ? {} : { riskScore: extension.riskScore }),
    enabled: extension.enabled ?? true,
    tags: (rule.tags ?? []).map(ourTag),
    groupBy: ['agentId', 'sessionId'],
    actions: extension.actions ?? [],
    ...(extension.summary === undefined ? {} : { summary: extension.summary }),
    ...(extension.suggest === undefined ? {} : { suggest: extension.suggest }),
    file: doc.file,
  };
}

function metadata(rule: SigmaDetectionRule | SigmaCorrelationRule): SigmaMetadata {
  return {
    references: rule.references ?? [],
    falsepositives: asList(rule.falsepositives),
    status: rule.status,
    ...(rule.clawdstrike?.copyOf ? { copyOf: rule.clawdstrike.copyOf } : {}),
  };
}

/** The group-by fields, with each alias resolved per referenced rule. */
function groupPartsOf(
  correlation: SigmaCorrelationRule['correlation'],
  conditionOf: (reference: string) => Condition,
  fieldMapping: Readonly<Record<string, string>>,
): GroupPart[] {
  const aliases = correlation.aliases ?? {};
  return (correlation['group-by'] ?? []).map((name): GroupPart => {
    const alias = aliases[name];
    if (!alias) return { fact: mapField(name, fieldMapping) };
    const fields = Object.entries(alias).map(([reference, field]) => {
      if (!correlation.rules.includes(reference)) {
        throw new SigmaRefusal(`correlation.aliases.${name}: ${reference} is not one of correlation.rules`);
      }
      return { condition: conditionOf(reference), fact: mapField(field, fieldMapping) };
    });
    return { alias: name, fields };
  });
}

/** What a correlation names: a detection's condition, or a chained correlation (placeholder condition). */
interface Reference {
  condition: Condition;
  /** The correlation named, when it is one. */
  chained?: LoweredCorrelation;
}

interface LoweredCorrelation {
  rule: Rule;
  groupParts?: GroupPart[];
  /** Its group-by facts; a chained correlation reads its own from the event that completed a match. */
  groupFacts: string[];
  /** Role masks by the chained correlation feeding them. */
  fed: Map<LoweredCorrelation, number>;
  fedOnly: number[];
  /** The rule and, transitively, the correlations it names: a change anywhere in the chain changes it. */
  definition: unknown;
  /** Correlations in its longest chain, itself included. */
  depth: number;
}

/** A condition standing for a chained correlation's matches; its role is replaced (see fedOnly). */
const chainedCondition = (reference: string): Condition => ({
  fact: 'eventType',
  operator: 'equal',
  value: `sigma correlation ${reference}`,
});

function correlationRule(
  parsed: Parsed<SigmaCorrelationRule>,
  referenceOf: (reference: string) => Reference,
  fieldMapping: Readonly<Record<string, string>>,
): LoweredCorrelation {
  const { rule: sigma } = parsed;
  const { correlation } = sigma;
  const { file: _file, ...base } = baseRule(parsed.doc, { ...sigma, id: sigma.id ?? sigma.name });
  const references = correlation.rules.map(referenceOf);
  const conditionOf = (name: string) => references[correlation.rules.indexOf(name)]!.condition;
  const parts = groupPartsOf(correlation, conditionOf, fieldMapping);
  const aliased = parts.some((part) => 'alias' in part);
  // An aliased part is keyed by aliasGroupKey; the rule itself names a field of it, so it compiles as ours do.
  const groupBy = parts.map((part) => ('fact' in part ? part.fact : part.fields[0]!.fact));
  const rule = correlationOf(parsed, base, groupBy, references, fieldMapping);
  const fed = new Map<LoweredCorrelation, number>();
  const fedOnly: number[] = [];
  references.forEach((reference, i) => {
    const inner = reference.chained;
    if (!inner) return;
    checkChainable(correlation, parts, inner, correlation.rules[i]!, fieldMapping);
    const bit = roleOf(rule, reference.condition);
    fed.set(inner, (fed.get(inner) ?? 0) | (1 << bit));
    if (JSON.stringify(roleConditions(rule)[bit]) === JSON.stringify(reference.condition)) fedOnly.push(bit);
  });
  return {
    rule,
    ...(aliased ? { groupParts: parts } : {}),
    groupFacts: groupBy,
    fed,
    fedOnly: [...new Set(fedOnly)],
    definition: { rule, chained: [...fed.keys()].map((inner) => inner.definition) },
    depth: 1 + Math.max(0, ...[...fed.keys()].map((inner) => inner.depth)),
  };
}

/** The conditions of a lowered correlation, one per role. */
function roleConditions(rule: Rule): Condition[] {
  switch (rule.type) {
    case 'sequence':
      return rule.steps.map((step) => step.condition);
    case 'all_of':
      return rule.conditions.map((entry) => entry.condition);
    case 'threshold':
    case 'match':
      return [rule.condition];
    default:
      return [];
  }
}

/** The role of a lowered correlation a reference's condition went into. */
function roleOf(rule: Rule, condition: Condition): number {
  if (rule.type === 'threshold') return 0;
  const text = JSON.stringify(condition);
  return roleConditions(rule).findIndex((role) => JSON.stringify(role) === text);
}

/**
 * A chained correlation's matches carry no event of their own: its group and counted values are read from
 * the event that completed the inner match, so they must be the inner correlation's group-by fields, which
 * are the same for every event of that match.
 */
function checkChainable(
  correlation: SigmaCorrelationRule['correlation'],
  parts: readonly GroupPart[],
  inner: LoweredCorrelation,
  reference: string,
  fieldMapping: Readonly<Record<string, string>>,
): void {
  if (inner.groupParts) {
    throw new SigmaRefusal(
      `correlation.rules: ${reference} groups by aliases; a correlation naming it could not tell which field an alias read`,
    );
  }
  for (const [alias, fields] of Object.entries(correlation.aliases ?? {})) {
    if (Object.hasOwn(fields, reference)) {
      throw new SigmaRefusal(
        `correlation.aliases.${alias}: ${reference} is a correlation, whose matches have no fields of their own`,
      );
    }
  }
  for (const part of parts) {
    if (!('fact' in part)) continue;
    if (!inner.groupFacts.includes(part.fact)) {
      throw new SigmaRefusal(
        `correlation.group-by: ${part.fact} is not a group-by field of ${reference} (${inner.groupFacts.join(', ') || 'none'}), so its matches have no one value of it`,
      );
    }
  }
  const field = correlation.condition?.field ?? correlation.field;
  for (const name of asList(field)) {
    const fact = mapField(name, fieldMapping);
    if (!inner.groupFacts.includes(fact)) {
      throw new SigmaRefusal(
        `correlation.condition.field: ${fact} is not a group-by field of ${reference}, so its matches have no one value of it`,
      );
    }
  }
}

function correlationOf(
  parsed: Parsed<SigmaCorrelationRule>,
  base: Omit<ReturnType<typeof baseRule>, 'file'>,
  groupBy: string[],
  references: readonly Reference[],
  fieldMapping: Readonly<Record<string, string>>,
): Rule {
  const { rule } = parsed;
  const { correlation } = rule;
  const conditions = references.map((reference) => reference.condition);
  // One role for a count: the events of the rules named, and the matches of the correlations named.
  const direct = references.filter((reference) => !reference.chained).map((r) => r.condition);
  const counted = direct.length === 0 ? conditions[0]! : direct.length === 1 ? direct[0]! : { any: direct };
  const window = correlation.timespan;
  const extension = rule.clawdstrike ?? {};
  if (extension.events && correlation.type !== 'value_count') {
    throw new SigmaRefusal('clawdstrike.events applies to value_count only');
  }
  if (correlation.type === 'new_terms') return newTermsRule(rule, base, groupBy, references, fieldMapping);
  if (durationMs(window) === undefined) {
    throw new SigmaRefusal(`correlation.timespan: durations run from 1ms to 7d, got "${window}"`);
  }
  for (const key of ['fields', 'learning'] as const) {
    if (correlation[key] !== undefined)
      throw new SigmaRefusal(`correlation.${key} applies to new_terms only`);
  }
  const common = { ...base, groupBy, window };
  switch (correlation.type) {
    case 'event_count':
      return {
        ...common,
        type: 'threshold',
        condition: counted,
        count: `>= ${countMinimum(correlation.condition, 1)}`,
      };
    case 'value_count': {
      const fields = asList(correlation.condition?.field ?? correlation.field);
      if (fields.length !== 1) throw new SigmaRefusal('value_count needs exactly one condition.field');
      return {
        ...common,
        type: 'threshold',
        condition: counted,
        ...(extension.events ? { count: `>= ${countMinimum(extension.events, 1)}` } : {}),
        distinct: {
          field: mapField(fields[0]!, fieldMapping),
          count: `>= ${countMinimum(correlation.condition, 1)}`,
        },
      };
    }
    case 'temporal':
    case 'temporal_ordered': {
      const distinct = new Set(correlation.rules).size;
      const needed = countMinimum(correlation.condition, distinct);
      if (needed !== distinct) {
        throw new SigmaRefusal(
          `correlation.condition asks for ${needed} of ${distinct} rules; a ${correlation.type} here needs all of them`,
        );
      }
      if (correlation.type === 'temporal') {
        if (distinct !== correlation.rules.length)
          throw new SigmaRefusal('correlation.rules names a rule twice');
        if (conditions.length < 2) throw new SigmaRefusal('temporal needs at least two rules');
        return {
          ...common,
          type: 'all_of',
          conditions: correlation.rules.map((name, i) => ({ name, condition: conditions[i]! })),
        };
      }
      // Steps in a row that select the same events are one step that needs that many events.
      const steps: Array<{ name: string; condition: Condition; count?: string }> = [];
      correlation.rules.forEach((name, i) => {
        const last = steps[steps.length - 1];
        if (last && JSON.stringify(conditions[i - 1]) === JSON.stringify(conditions[i])) {
          last.count = `>= ${Number(last.count?.slice(3) ?? 1) + 1}`;
        } else {
          steps.push({ name, condition: conditions[i]! });
        }
      });
      if (steps.length < 2) throw new SigmaRefusal('temporal_ordered needs at least two rules');
      return { ...common, type: 'sequence', steps };
    }
    case 'value_sum':
    case 'value_avg': {
      const fields = asList(correlation.condition?.field ?? correlation.field);
      if (fields.length !== 1)
        throw new SigmaRefusal(`${correlation.type} needs exactly one condition.field`);
      const { field: _field, ...bounds } = correlation.condition!;
      return {
        ...common,
        type: 'threshold',
        condition: counted,
        metric: {
          field: mapField(fields[0]!, fieldMapping),
          aggregate: correlation.type === 'value_sum' ? 'sum' : 'avg',
          ...bounds,
        },
      };
    }
    case 'value_percentile':
      throw new SigmaRefusal(
        'correlation type value_percentile is not supported: the specification does not say which percentile its condition bounds (its example gives a field and a bound, no rank)',
      );
  }
}

/**
 * Our extension: `type: new_terms` lowered onto our new_terms rule. The events of the rules named are judged;
 * `fields` are the term, `timespan` the history (up to 90 days), `learning` the learning period, and
 * `group-by` the baseline's group (default: the agent).
 */
function newTermsRule(
  rule: SigmaCorrelationRule,
  base: Omit<ReturnType<typeof baseRule>, 'file'>,
  groupBy: string[],
  references: readonly Reference[],
  fieldMapping: Readonly<Record<string, string>>,
): Rule {
  const { correlation } = rule;
  if (references.some((reference) => reference.chained)) {
    throw new SigmaRefusal(
      'new_terms names detection rules only: a correlation match carries no fields of its own',
    );
  }
  for (const key of ['condition', 'aliases', 'field'] as const) {
    if (correlation[key] !== undefined)
      throw new SigmaRefusal(`correlation.${key} does not apply to new_terms`);
  }
  const fields = asList(correlation.fields).map((field) => mapField(field, fieldMapping));
  if (fields.length < 1 || fields.length > MAX_NEW_TERMS_FIELDS) {
    throw new SigmaRefusal(
      `new_terms needs correlation.fields: one field or a list of 1 to ${MAX_NEW_TERMS_FIELDS}`,
    );
  }
  const conditions = references.map((reference) => reference.condition);
  return {
    ...base,
    type: 'new_terms',
    groupBy: correlation['group-by'] ? groupBy : ['agentId'],
    fields: fields.length === 1 ? fields[0]! : fields,
    history: correlation.timespan,
    ...(correlation.learning === undefined ? {} : { learning: correlation.learning }),
    condition: conditions.length === 1 ? conditions[0]! : { any: conditions },
  };
}

/** Lowers every Sigma document of a load at once (correlations may name rules in other files). */
export function lowerSigma(
  documents: readonly SigmaDocument[],
  options: SigmaOptions,
): { rules: LoweredSigmaRule[]; problems: RuleProblem[] } {
  const problems: RuleProblem[] = [];
  const refused = (doc: SigmaDocument, value: unknown, error: unknown) => {
    if (!(error instanceof SigmaRefusal)) throw error;
    const named = value as { id?: unknown; title?: unknown };
    const owner =
      typeof named.id === 'string' ? named.id : typeof named.title === 'string' ? named.title : undefined;
    problems.push({ file: doc.file, ruleId: owner, path: doc.path, message: error.message });
  };
  const detections: Array<Parsed<SigmaDetectionRule> & { condition: Condition }> = [];
  const correlations: Array<Parsed<SigmaCorrelationRule>> = [];
  for (const doc of documents) {
    const isCorrelation = typeof doc.value === 'object' && doc.value !== null && 'correlation' in doc.value;
    const schema = isCorrelation ? SigmaCorrelationRuleSchema : SigmaDetectionRuleSchema;
    const parsed = schema.safeParse(doc.value);
    if (!parsed.success) {
      for (const problem of problemsFromIssues(doc.file, doc.value, parsed.error.issues)) {
        problems.push({
          ...problem,
          ruleId: (doc.value as { id?: string }).id,
          path: [...doc.path, ...problem.path],
        });
      }
      continue;
    }
    if (isCorrelation) {
      correlations.push({ doc, rule: parsed.data as SigmaCorrelationRule });
      continue;
    }
    const rule = parsed.data as SigmaDetectionRule;
    try {
      const source = logsourceCondition(rule.logsource);
      const detection = detectionCondition(rule.detection, { fieldMapping: options.fieldMapping }, options);
      detections.push({ doc, rule, condition: source ? { all: [source, detection] } : detection });
    } catch (error) {
      refused(doc, rule, error);
    }
  }

  const byReference = new Map<string, (typeof detections)[number]>();
  for (const detection of detections) {
    for (const key of [detection.rule.id, detection.rule.name]) if (key) byReference.set(key, detection);
  }
  const correlationsByReference = new Map<string, Parsed<SigmaCorrelationRule>>();
  for (const parsed of correlations) {
    for (const key of [parsed.rule.id, parsed.rule.name]) if (key) correlationsByReference.set(key, parsed);
  }
  // generate: false (the default) means a referenced rule alerts only through the correlation.
  const consumed = new Set<string>();
  const keyOf = (rule: SigmaDetectionRule | SigmaCorrelationRule) => rule.id ?? rule.name ?? rule.title;
  // Lowered once each, inner correlations first; null when refused. `chain` is the path being lowered.
  const lowered = new Map<Parsed<SigmaCorrelationRule>, LoweredCorrelation | null>();
  const chain: Array<Parsed<SigmaCorrelationRule>> = [];
  const lowerCorrelation = (parsed: Parsed<SigmaCorrelationRule>): LoweredCorrelation | null => {
    const done = lowered.get(parsed);
    if (done !== undefined) return done;
    chain.push(parsed);
    let result: LoweredCorrelation | null = null;
    try {
      const generates = parsed.rule.generate ?? parsed.rule.correlation.generate ?? false;
      result = correlationRule(
        parsed,
        (reference) => {
          const inner = correlationsByReference.get(reference);
          if (inner) {
            if (chain.includes(inner)) {
              const names = [...chain.slice(chain.indexOf(inner)), inner].map(
                (c) => c.rule.name ?? keyOf(c.rule),
              );
              throw new SigmaRefusal(`correlation.rules: ${names.join(' -> ')} is a cycle`);
            }
            const chained = lowerCorrelation(inner);
            if (!chained) throw new SigmaRefusal(`correlation.rules: ${reference} is refused`);
            if (chained.depth >= MAX_CHAIN_DEPTH) {
              throw new SigmaRefusal(
                `correlation.rules: ${reference} makes a chain of ${chained.depth + 1} correlations, more than ${MAX_CHAIN_DEPTH}`,
              );
            }
            if (!generates) consumed.add(keyOf(inner.rule));
            return { condition: chainedCondition(reference), chained };
          }
          const target = byReference.get(reference);
          if (!target)
            throw new SigmaRefusal(
              `correlation.rules: no Sigma rule has the id or name ${JSON.stringify(reference)}`,
            );
          if (!generates) consumed.add(keyOf(target.rule));
          return { condition: target.condition };
        },
        options.fieldMapping,
      );
    } catch (error) {
      refused(parsed.doc, parsed.rule, error);
    } finally {
      chain.pop();
    }
    lowered.set(parsed, result);
    return result;
  };
  for (const parsed of correlations) lowerCorrelation(parsed);

  const out: LoweredSigmaRule[] = [];
  const feedsOf = new Map<LoweredCorrelation, Feed[]>();
  for (const parsed of correlations) {
    const result = lowered.get(parsed);
    if (!result) continue;
    for (const [inner, mask] of result.fed) {
      feedsOf.set(inner, [...(feedsOf.get(inner) ?? []), { ruleId: result.rule.id, mask }]);
    }
  }
  for (const parsed of correlations) {
    const result = lowered.get(parsed);
    if (!result) continue;
    const silent = consumed.has(keyOf(parsed.rule));
    if (!silent && !parsed.rule.id) {
      refused(
        parsed.doc,
        parsed.rule,
        new SigmaRefusal('an emitted rule needs an id (its alerts carry it as ruleId)'),
      );
      continue;
    }
    const feeds = feedsOf.get(result);
    out.push({
      file: parsed.doc.file,
      rule: result.rule,
      sigma: metadata(parsed.rule),
      ...(result.groupParts ? { groupParts: result.groupParts } : {}),
      ...(feeds ? { feeds } : {}),
      ...(silent ? { silent } : {}),
      ...(result.fedOnly.length > 0 ? { fedOnly: result.fedOnly } : {}),
      ...(result.fed.size > 0 ? { definedBy: [...result.fed.keys()].map((inner) => inner.definition) } : {}),
    });
  }
  for (const detection of detections) {
    if (consumed.has(keyOf(detection.rule))) continue;
    try {
      const { file, ...base } = baseRule(detection.doc, detection.rule);
      out.push({
        file,
        rule: { ...base, type: 'match', condition: detection.condition },
        sigma: metadata(detection.rule),
      });
    } catch (error) {
      refused(detection.doc, detection.rule, error);
    }
  }
  return { rules: out, problems };
}
