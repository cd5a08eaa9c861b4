import type { Severity } from '../../../core/severity.ts';
import type { JsonPath } from '../../conditions/compile.ts';
import { EVENT_TYPES } from '../../model/index.ts';
import type { RuleProblem } from '../problems.ts';
import { problemsFromIssues } from '../problems.ts';
import type { Condition, Rule } from '../schema.ts';
import type { GroupPart } from './aliases.ts';
import { type DetectionLimits, detectionCondition } from './detection.ts';
import { mapField, SIGMA_CATEGORIES, SIGMA_PRODUCTS } from './fields.ts';
import {
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

export interface LoweredSigmaRule {
  file: string;
  rule: Rule;
  sigma: SigmaMetadata;
  /** A correlation's group-by when it uses aliases: its key is built by aliasGroupKey (aliases.ts). */
  groupParts?: GroupPart[];
}

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
export function countMinimum(condition: CountCondition | undefined, fallback: number): number {
  if (!condition) return fallback;
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

function correlationRule(
  parsed: Parsed<SigmaCorrelationRule>,
  conditionOf: (reference: string) => Condition,
  fieldMapping: Readonly<Record<string, string>>,
): { rule: Rule; groupParts?: GroupPart[] } {
  const { rule: sigma } = parsed;
  const { correlation } = sigma;
  const { file: _file, ...base } = baseRule(parsed.doc, sigma);
  const parts = groupPartsOf(correlation, conditionOf, fieldMapping);
  const aliased = parts.some((part) => 'alias' in part);
  // An aliased part is keyed by aliasGroupKey; the rule itself names a field of it, so it compiles as ours do.
  const groupBy = parts.map((part) => ('fact' in part ? part.fact : part.fields[0]!.fact));
  const rule = correlationOf(parsed, base, groupBy, conditionOf, fieldMapping);
  return aliased ? { rule, groupParts: parts } : { rule };
}

function correlationOf(
  parsed: Parsed<SigmaCorrelationRule>,
  base: Omit<ReturnType<typeof baseRule>, 'file'>,
  groupBy: string[],
  conditionOf: (reference: string) => Condition,
  fieldMapping: Readonly<Record<string, string>>,
): Rule {
  const { rule } = parsed;
  const { correlation } = rule;
  const conditions = correlation.rules.map(conditionOf);
  const window = correlation.timespan;
  const extension = rule.clawdstrike ?? {};
  if (extension.events && correlation.type !== 'value_count') {
    throw new SigmaRefusal('clawdstrike.events applies to value_count only');
  }
  const common = { ...base, groupBy, window };
  switch (correlation.type) {
    case 'event_count':
      return {
        ...common,
        type: 'threshold',
        condition: conditions.length === 1 ? conditions[0]! : { any: conditions },
        count: `>= ${countMinimum(correlation.condition, 1)}`,
      };
    case 'value_count': {
      const fields = asList(correlation.condition?.field ?? correlation.field);
      if (fields.length !== 1) throw new SigmaRefusal('value_count needs exactly one condition.field');
      return {
        ...common,
        type: 'threshold',
        condition: conditions.length === 1 ? conditions[0]! : { any: conditions },
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
    default:
      throw new SigmaRefusal(
        `correlation type ${correlation.type} is not supported: its state (every value in the window) is not bounded by our hit buffers`,
      );
  }
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
  const correlationNames = new Set(correlations.flatMap(({ rule }) => [rule.id, rule.name]));
  // generate: false (the default) means a referenced rule alerts only through the correlation.
  const consumed = new Set<string>();
  const out: LoweredSigmaRule[] = [];
  for (const parsed of correlations) {
    try {
      const { rule, groupParts } = correlationRule(
        parsed,
        (reference) => {
          if (correlationNames.has(reference)) {
            throw new SigmaRefusal(
              `correlation.rules: ${reference} is a correlation; chained correlations are not supported`,
            );
          }
          const target = byReference.get(reference);
          if (!target)
            throw new SigmaRefusal(
              `correlation.rules: no Sigma rule has the id or name ${JSON.stringify(reference)}`,
            );
          if (!(parsed.rule.generate ?? parsed.rule.correlation.generate))
            consumed.add(target.rule.id ?? target.rule.title);
          return target.condition;
        },
        options.fieldMapping,
      );
      out.push({
        file: parsed.doc.file,
        rule,
        sigma: metadata(parsed.rule),
        ...(groupParts ? { groupParts } : {}),
      });
    } catch (error) {
      refused(parsed.doc, parsed.rule, error);
    }
  }
  for (const detection of detections) {
    if (consumed.has(detection.rule.id ?? detection.rule.title)) continue;
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
