import type { Severity } from '../../core/severity.ts';
import type { ResponseAction } from '../alert.ts';
import {
  type ConditionProblem,
  type JsonPath,
  type LowerEnvironment,
  lowerCondition,
  matcherShape,
  type Predicate,
  predicatesByEventType,
  toPredicate,
} from '../conditions/compile.ts';
import { type Accessor, type FactContext, resolveFact } from '../conditions/facts.ts';
import { type MetricSpec, metricTest } from '../correlation/metric.ts';
import { capturedName, generate } from '../generate.ts';
import { EVENT_TYPES } from '../model/index.ts';
import { compileSuggestions, type SuggestChanges } from '../response/suggest.ts';
import type { RuleLimits } from './limits.ts';
import type { Condition, Rule, RuleType } from './schema.ts';
import { comparatorMinimum, durationMs, MAX_HISTORY_MS } from './schema.ts';
import type { SigmaMetadata } from './sigma/lower.ts';

/** One condition of a rule (a step, an all_of member, ...), evaluated per event. Its index is its bit. */
export interface Role {
  name: string;
  /** The condition for an event of any type. */
  predicate: Predicate;
  /** The condition specialized per event type, for the types it can match (see predicatesByEventType). */
  byEventType: ReadonlyMap<string, Predicate>;
}

/** What the correlation layer needs to know per rule type; counts are stored as minimums (`> 100` → 101). */
export type CorrelationSpec =
  | { type: 'match' }
  | { type: 'sequence'; windowMs: number; stepMinimums: number[] }
  | {
      type: 'threshold';
      windowMs: number;
      minCount: number;
      distinct?: { read: Accessor; min: number };
      /** value_sum / value_avg: the field read, and the aggregate's test (engine/correlation/metric.ts). */
      metric?: MetricSpec & { read: Accessor };
    }
  | { type: 'all_of'; windowMs: number }
  | { type: 'absence'; windowMs: number }
  | {
      type: 'new_terms';
      historyMs: number;
      learningMs: number;
      /** Rules with the same clock (grouping and history) share each group's learning clock. */
      clock: string;
      /** The event's term (its fields' values, a tuple as JSON), undefined when a field is missing. */
      term: (context: FactContext) => string | undefined;
    };

export interface SummaryValues {
  eventCount: number;
  groupKey: string;
}

export interface CompiledRule {
  id: string;
  name: string;
  description: string;
  type: RuleType;
  severity: Severity;
  riskScore: number;
  tags: string[];
  actions: ResponseAction[];
  /** The policy changes its `suggest` section derives from the event that completes a match. */
  suggest: SuggestChanges | undefined;
  /** The file it came from. */
  source: string;
  /** Digest of the definition and the lists and named conditions it uses: state survives a reload only if equal. */
  fingerprint: string;
  roles: Role[];
  correlation: CorrelationSpec;
  groupKey: (context: FactContext) => string;
  suppression: { windowMs: number; key: (context: FactContext) => string } | undefined;
  summary: (context: FactContext, values: SummaryValues) => string;
  /** A rule loaded from Sigma keeps its references, falsepositives and status for analysts. */
  sigma?: SigmaMetadata;
  /**
   * Chained correlations (Sigma): each match of this rule is also a hit of these rules, with these roles, at
   * the time of the event that completed it and in the same group (see docs/sigma.md).
   */
  feeds?: ReadonlyArray<{ ruleId: string; mask: number }>;
  /** Its matches only feed other rules: it raises no alert of its own. */
  silent?: boolean;
}

/** Milliseconds of a duration the schema has accepted (so it is one, and within bounds). */
export function parseDuration(text: string): number {
  return durationMs(text, MAX_HISTORY_MS, 0)!;
}

/** Used when a rule sets no riskScore. */
export const RISK_BY_SEVERITY: Readonly<Record<Severity, number>> = {
  info: 10,
  low: 25,
  medium: 50,
  high: 75,
  critical: 90,
};

/** One value of a group or suppression key: text as it is, absent as empty, anything else as JSON. */
export function keyPart(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '';
  return JSON.stringify(value);
}

const sessionKey = (context: FactContext) => context.sessionKey();

function keyBuilder(
  fields: string[],
  path: JsonPath,
  problems: ConditionProblem[],
): (context: FactContext) => string {
  // The default grouping is shared by most rules: one string per event instead of one per rule.
  if (fields.length === 2 && fields[0] === 'agentId' && fields[1] === 'sessionId') return sessionKey;
  const readers: Accessor[] = [];
  fields.forEach((field, index) => {
    const resolved = resolveFact(field);
    if (typeof resolved === 'string') problems.push({ path: [...path, index], message: resolved });
    else readers.push(resolved.accessor);
  });
  // Generated (see engine/generate.ts), so each field is read from a call site of its own; f0 is keyPart.
  const key = readers.map((_, i) => `f0(${capturedName(i + 1)}(c))`).join(" + '|' + ") || "''";
  return generate<(context: FactContext) => string>(`(c) => ${key}`, [keyPart, ...readers]);
}

const SUMMARY_SPECIALS = new Set(['ruleId', 'ruleName', 'groupKey', 'eventCount']);

function summaryBuilder(rule: Rule, problems: ConditionProblem[]): CompiledRule['summary'] {
  const template =
    rule.summary ??
    '{ruleName}: {eventCount} event(s) by agent {agentId} in session {sessionId}, last {eventType} {target}';
  const parts: Array<(context: FactContext, values: SummaryValues) => string> = [];
  const pattern = /\{([^{}]+)\}/g;
  let last = 0;
  for (const match of template.matchAll(pattern)) {
    const literal = template.slice(last, match.index);
    parts.push(() => literal);
    last = match.index + match[0].length;
    const name = match[1]!;
    if (SUMMARY_SPECIALS.has(name)) {
      parts.push((_, values) => {
        if (name === 'ruleId') return rule.id;
        if (name === 'ruleName') return rule.name;
        return String(values[name as keyof SummaryValues]);
      });
      continue;
    }
    const fact = resolveFact(name);
    if (typeof fact === 'string') {
      problems.push({ path: ['summary'], message: `placeholder {${name}}: ${fact}` });
      continue;
    }
    parts.push((context) => keyPart(fact.accessor(context)) || '?');
  }
  const tail = template.slice(last);
  parts.push(() => tail);
  return (context, values) => parts.map((part) => part(context, values)).join('');
}

interface RoleContext {
  env: LowerEnvironment;
  limits: RuleLimits;
  problems: ConditionProblem[];
}

const NO_MATCH: Predicate = () => false;
const EVERY_EVENT: Role = {
  name: 'every event',
  predicate: () => true,
  byEventType: new Map(EVENT_TYPES.map((type) => [type, () => true])),
};

function role(name: string, condition: Condition, path: JsonPath, context: RoleContext): Role {
  const { env, limits, problems } = context;
  const matcher = lowerCondition(condition, env, path, problems);
  // Bounded before generating: the predicate's source grows with every leaf of every use of a named condition.
  const { leaves, depth } = matcherShape(matcher);
  const tooBig =
    leaves > limits.maxConditionLeaves
      ? `${leaves} leaf tests, more than ${limits.maxConditionLeaves} (named conditions count each time they are used)`
      : depth > limits.maxConditionDepth
        ? `nested ${depth} levels deep, more than ${limits.maxConditionDepth} (named conditions expanded)`
        : undefined;
  if (tooBig) {
    problems.push({ path, message: tooBig });
    return { name, predicate: NO_MATCH, byEventType: new Map() };
  }
  return { name, predicate: toPredicate(matcher), byEventType: predicatesByEventType(matcher, EVENT_TYPES) };
}

function rolesOf(rule: Rule, context: RoleContext): Role[] {
  switch (rule.type) {
    case 'match':
    case 'threshold':
      return [role('condition', rule.condition, ['condition'], context)];
    case 'sequence':
      return rule.steps.map((step, i) =>
        role(step.name ?? `step${i + 1}`, step.condition, ['steps', i, 'condition'], context),
      );
    case 'all_of':
      return rule.conditions.map((entry, i) =>
        role(entry.name ?? `condition${i + 1}`, entry.condition, ['conditions', i, 'condition'], context),
      );
    case 'absence':
      return [
        role('condition', rule.condition, ['condition'], context),
        role('followedBy', rule.followedBy, ['followedBy'], context),
      ];
    case 'new_terms':
      // Every event of a group is history for its learning period: the engine moves the group's clock itself.
      return [rule.condition ? role('condition', rule.condition, ['condition'], context) : EVERY_EVENT];
  }
}

/** One field's value as a term: a string as it is, anything else as JSON; absent or null is no term. */
function termPart(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Reads a new_terms rule's term: one field's value, or a tuple of them as a JSON array (unambiguous). */
function termReader(
  fields: string | string[],
  problems: ConditionProblem[],
): (context: FactContext) => string | undefined {
  const names = typeof fields === 'string' ? [fields] : fields;
  const readers: Accessor[] = [];
  names.forEach((name, index) => {
    const resolved = resolveFact(name);
    if (typeof resolved === 'string') {
      problems.push({ path: typeof fields === 'string' ? ['fields'] : ['fields', index], message: resolved });
    } else readers.push(resolved.accessor);
  });
  if (readers.length === 1) {
    const read = readers[0]!;
    return (context) => termPart(read(context));
  }
  return (context) => {
    const parts: string[] = [];
    for (const read of readers) {
      const part = termPart(read(context));
      if (part === undefined) return undefined;
      parts.push(part);
    }
    return JSON.stringify(parts);
  };
}

function correlationOf(rule: Rule, problems: ConditionProblem[]): CorrelationSpec {
  switch (rule.type) {
    case 'match':
      return { type: 'match' };
    case 'sequence':
      return {
        type: 'sequence',
        windowMs: parseDuration(rule.window),
        stepMinimums: rule.steps.map((step) => (step.count ? comparatorMinimum(step.count) : 1)),
      };
    case 'threshold': {
      const spec: CorrelationSpec = {
        type: 'threshold',
        windowMs: parseDuration(rule.window),
        minCount: rule.count ? comparatorMinimum(rule.count) : 1,
      };
      if (rule.distinct) {
        const field = resolveFact(rule.distinct.field);
        if (typeof field === 'string') problems.push({ path: ['distinct', 'field'], message: field });
        else spec.distinct = { read: field.accessor, min: comparatorMinimum(rule.distinct.count) };
      }
      if (rule.metric) {
        const field = resolveFact(rule.metric.field);
        if (typeof field === 'string') problems.push({ path: ['metric', 'field'], message: field });
        else {
          spec.metric = {
            read: field.accessor,
            average: rule.metric.aggregate === 'avg',
            holds: metricTest(rule.metric),
          };
        }
      }
      return spec;
    }
    case 'all_of':
      return { type: 'all_of', windowMs: parseDuration(rule.window) };
    case 'absence':
      return { type: 'absence', windowMs: parseDuration(rule.window) };
    case 'new_terms': {
      const historyMs = parseDuration(rule.history);
      return {
        type: 'new_terms',
        historyMs,
        learningMs: rule.learning === undefined ? historyMs : parseDuration(rule.learning),
        clock: JSON.stringify([rule.groupBy, historyMs]),
        term: termReader(rule.fields, problems),
      };
    }
  }
}

/** Compiles one validated rule; problems carry paths relative to the rule. */
export function compileRule(
  rule: Rule,
  source: string,
  fingerprint: string,
  env: LowerEnvironment,
  limits: RuleLimits,
): CompiledRule | ConditionProblem[] {
  const problems: ConditionProblem[] = [];
  const roles = rolesOf(rule, { env, limits, problems });
  const correlation = correlationOf(rule, problems);
  const groupKey = keyBuilder(rule.groupBy, ['groupBy'], problems);
  // A new term alerts once (it is known afterwards): no suppression unless the rule asks for one.
  const windowMs =
    correlation.type === 'match' || correlation.type === 'new_terms' ? undefined : correlation.windowMs;
  const suppressWindowMs = rule.suppress ? parseDuration(rule.suppress.window) : windowMs;
  const suppression =
    suppressWindowMs === undefined
      ? undefined
      : {
          windowMs: suppressWindowMs,
          key: rule.suppress?.by ? keyBuilder(rule.suppress.by, ['suppress', 'by'], problems) : groupKey,
        };
  const summary = summaryBuilder(rule, problems);
  const suggest = compileSuggestions(rule.suggest, problems);
  if (problems.length > 0) return problems;
  return {
    id: rule.id,
    name: rule.name,
    description: rule.description,
    type: rule.type,
    severity: rule.severity,
    riskScore: rule.riskScore ?? RISK_BY_SEVERITY[rule.severity],
    tags: rule.tags,
    actions: rule.actions,
    suggest,
    source,
    fingerprint,
    roles,
    correlation,
    groupKey,
    suppression,
    summary,
  };
}
