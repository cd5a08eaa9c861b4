import { z } from 'zod';
import { SeveritySchema } from '../../core/severity.ts';
import { ResponseActionSchema } from '../alert.ts';
import { OPERATOR_PATTERN } from '../conditions/operators.ts';
import { SUGGESTION_LIMITS } from '../response/limits.ts';
import { TRANSITION_TRIGGERS } from '../response/policy-schema.ts';

/**
 * The rule file format. These zod schemas are the single source of truth: the loader validates with them and
 * scripts/json-schemas.ts publishes them as JSON Schema. Semantic checks that need more than the shape
 * (facts, lists, regex safety, CIDR syntax) happen when conditions are lowered (engine/conditions/lower.ts).
 */

/**
 * The longest window or suppression a rule may ask for (7 days): a correlation keeps its events that long.
 * Durations are whole milliseconds from 1 to this; anything else (`0s`, 400 nines, which read as Infinity) is
 * refused at load.
 */
export const MAX_DURATION_MS = 7 * 86_400_000;
/**
 * The longest history (and learning period) of a new_terms rule (90 days). Its state keeps one time per
 * term, whatever the history, so a long history costs no more than a short one.
 */
export const MAX_HISTORY_MS = 90 * 86_400_000;
/** Fields of one new_terms tuple (Elastic's new terms rule allows as many). */
export const MAX_NEW_TERMS_FIELDS = 3;
/** The largest count a rule may ask for (`> 1000000` is refused): far above any hit buffer's size. */
export const MAX_COUNT = 1_000_000;
/** The largest magnitude a sum or average bound may have (1e15: integers up to it are exact in a double). */
export const MAX_METRIC = 1e15;

/** `250ms`, `30s`, `5m`, `2h`, `1d`; at most 16 digits, so the number is read exactly before it is bounded. */
export const DURATION_PATTERN = /^(\d{1,16})(ms|s|m|h|d)$/;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of a duration, or undefined when it is not one or lies outside minMs .. maxMs. */
export function durationMs(text: string, maxMs = MAX_DURATION_MS, minMs = 1): number | undefined {
  const match = DURATION_PATTERN.exec(text);
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2]!]!;
  return ms >= minMs && ms <= maxMs ? ms : undefined;
}

/** A duration from `minMs` (0 or 1) to `maxMs`. */
function durationSchema(maxMs: number, minMs = 1) {
  const range = `${minMs === 0 ? '0s' : '1ms'} to ${maxMs / 86_400_000}d`;
  return (
    z
      .string()
      .regex(DURATION_PATTERN, {
        error: (issue) => `expected a duration like "30s", "5m" or "1h", got ${show(issue.input)}`,
      })
      // The pattern's own message covers a text that is no duration at all.
      .refine((text) => !DURATION_PATTERN.test(text) || durationMs(text, maxMs, minMs) !== undefined, {
        error: (issue) => `durations run from ${range}, got ${show(issue.input)}`,
      })
  );
}

export const DurationSchema = durationSchema(MAX_DURATION_MS);
/** A new_terms history: 1ms to 90d. */
export const HistorySchema = durationSchema(MAX_HISTORY_MS);
/** A new_terms learning period: 0s (alert from the first event) to 90d. */
export const LearningSchema = durationSchema(MAX_HISTORY_MS, 0);

/** A count test: `> 100`, `>= 3`; the count is at most MAX_COUNT. */
export const COMPARATOR_PATTERN = /^(>=|>)\s*(\d{1,7})$/;
export const ComparatorSchema = z
  .string()
  .regex(COMPARATOR_PATTERN, {
    error: (issue) =>
      `expected a comparison like "> 100" or ">= 3" (at most 7 digits), got ${show(issue.input)}`,
  })
  .refine((text) => !COMPARATOR_PATTERN.test(text) || comparatorMinimum(text) <= MAX_COUNT, {
    error: (issue) => `counts run up to ${MAX_COUNT}, got ${show(issue.input)}`,
  });

/** `> 100` → 101, `>= 3` → 3: the smallest count that passes. */
export function comparatorMinimum(text: string): number {
  const match = COMPARATOR_PATTERN.exec(text)!;
  const bound = Number(match[2]);
  return match[1] === '>' ? bound + 1 : bound;
}

export const RULE_ID_PATTERN = /^[A-Z][A-Z0-9_]*$/;

// --- conditions: json-rules-engine's format --------------------------------------------------------

const ParamsSchema = z.record(z.string(), z.unknown());
/** json-rules-engine accepts `name` and `priority` on every condition; neither changes the result. */
const Annotations = { name: z.string().optional(), priority: z.int().min(1).optional() };

export interface FactReference {
  fact: string;
  path?: string | undefined;
  params?: Record<string, unknown> | undefined;
}
interface ConditionAnnotations {
  name?: string | undefined;
  priority?: number | undefined;
}
export interface LeafCondition extends FactReference, ConditionAnnotations {
  operator: string;
  value: unknown;
}
export type Condition =
  | ({ all: Condition[] } & ConditionAnnotations)
  | ({ any: Condition[] } & ConditionAnnotations)
  | ({ not: Condition } & ConditionAnnotations)
  | ({ condition: string } & ConditionAnnotations)
  | LeafCondition;

export const LeafConditionSchema = z.strictObject({
  fact: z.string().min(1),
  operator: z.string().regex(OPERATOR_PATTERN, { error: (issue) => `unknown operator ${show(issue.input)}` }),
  /** A literal, or `{fact, path?, params?}` to compare against another fact. */
  value: z.unknown(),
  path: z.string().optional(),
  params: ParamsSchema.optional(),
  ...Annotations,
});

/** Branch order matters: formatIssues() picks the branch a value meant by the key it carries. */
export const CONDITION_BRANCH_KEYS = ['all', 'any', 'not', 'condition', 'fact'] as const;

export const ConditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.strictObject({
      all: z.array(ConditionSchema).min(1, 'must list at least one condition'),
      ...Annotations,
    }),
    z.strictObject({
      any: z.array(ConditionSchema).min(1, 'must list at least one condition'),
      ...Annotations,
    }),
    z.strictObject({ not: ConditionSchema, ...Annotations }),
    z.strictObject({ condition: z.string().min(1), ...Annotations }),
    LeafConditionSchema,
  ]),
);

// --- rules -----------------------------------------------------------------------------------------

/** A fact name (`agentId`, `data.host`, `session.riskScore`) whose value is read from each event. */
const FieldSchema = z.string().min(1);

/**
 * What a rule suggests changing in the agent's Clawdstrike policy when it fires (engine/response/): each
 * entry names a guard and the list the value of `from` (read from the event that completed the match) goes
 * into. The overlay writes the additive deep_merge field (`block` → `additional_block`, `patterns` →
 * `additional_patterns`); `posture` suggests the quarantine state and the transition into it on `on`.
 */
export const SuggestionSchema = z.discriminatedUnion('guard', [
  z.strictObject({ guard: z.literal('egress_allowlist'), field: z.literal('block'), from: FieldSchema }),
  z.strictObject({
    guard: z.literal('mcp_tool'),
    field: z.enum(['block', 'require_confirmation']),
    from: FieldSchema,
  }),
  z.strictObject({ guard: z.literal('forbidden_path'), field: z.literal('patterns'), from: FieldSchema }),
  z.strictObject({
    guard: z.literal('posture'),
    transition: z.literal('quarantine'),
    on: z.enum(TRANSITION_TRIGGERS).default('critical_violation'),
  }),
]);
export type Suggestion = z.infer<typeof SuggestionSchema>;

const RuleBase = {
  id: z.string().regex(RULE_ID_PATTERN, 'rule ids are UPPER_SNAKE_CASE'),
  name: z.string().min(1),
  description: z.string().default(''),
  severity: SeveritySchema,
  /** 0-100; defaults by severity (see engine/alerts.ts). */
  riskScore: z.int().min(0).max(100).optional(),
  enabled: z.boolean().default(true),
  /** MITRE ATT&CK (`attack:T1552.001`) and ATLAS (`atlas:AML.T0051`) ids, or free labels. */
  tags: z.array(z.string().min(1)).default([]),
  groupBy: z.array(FieldSchema).min(1).default(['agentId', 'sessionId']),
  actions: z.array(ResponseActionSchema).default([]),
  /** At most one alert per group (or per `by` values) per `window`; correlation rules default to their window. */
  suppress: z.strictObject({ window: DurationSchema, by: z.array(FieldSchema).min(1).optional() }).optional(),
  /** One sentence with `{placeholder}`s, see engine/alerts.ts; a default is built when absent. */
  summary: z.string().min(1).optional(),
  suggest: z.array(SuggestionSchema).min(1).max(SUGGESTION_LIMITS.maxSuggestionsPerRule).optional(),
};

export const MatchRuleSchema = z.strictObject({
  ...RuleBase,
  type: z.literal('match'),
  condition: ConditionSchema,
});

export const SequenceStepSchema = z.strictObject({
  name: z.string().min(1).optional(),
  condition: ConditionSchema,
  /** How many events this step needs, e.g. ">= 3"; one when absent. */
  count: ComparatorSchema.optional(),
});

export const SequenceRuleSchema = z.strictObject({
  ...RuleBase,
  type: z.literal('sequence'),
  window: DurationSchema,
  steps: z.array(SequenceStepSchema).min(2, 'a sequence needs at least two steps').max(16),
});

export const ThresholdRuleSchema = z
  .strictObject({
    ...RuleBase,
    type: z.literal('threshold'),
    window: DurationSchema,
    condition: ConditionSchema,
    /** Number of matching events in the window. */
    count: ComparatorSchema.optional(),
    /** Number of distinct values of `field` among the matching events in the window. */
    distinct: z.strictObject({ field: FieldSchema, count: ComparatorSchema }).optional(),
    /** The sum or average of numeric `field` over the window that ends at each matching event. */
    metric: z.lazy(() => MetricSchema).optional(),
  })
  .refine((rule) => rule.count !== undefined || rule.distinct !== undefined || rule.metric !== undefined, {
    message: 'a threshold needs count, distinct or metric',
    path: ['count'],
  });

const MetricBound = z.number().min(-MAX_METRIC).max(MAX_METRIC);
/**
 * Sigma's value_sum and value_avg: every bound given must hold (`gt: 100, lte: 200` is a range). Events whose
 * field is not a finite number (or numeric text) do not count.
 */
export const MetricSchema = z
  .strictObject({
    field: FieldSchema,
    aggregate: z.enum(['sum', 'avg']),
    gt: MetricBound.optional(),
    gte: MetricBound.optional(),
    lt: MetricBound.optional(),
    lte: MetricBound.optional(),
    eq: MetricBound.optional(),
    neq: MetricBound.optional(),
  })
  .refine((metric) => ['gt', 'gte', 'lt', 'lte', 'eq', 'neq'].some((key) => key in metric), {
    message: 'a metric needs gt, gte, lt, lte, eq or neq',
  });
export type Metric = z.infer<typeof MetricSchema>;

export const AllOfRuleSchema = z.strictObject({
  ...RuleBase,
  type: z.literal('all_of'),
  window: DurationSchema,
  conditions: z
    .array(z.strictObject({ name: z.string().min(1).optional(), condition: ConditionSchema }))
    .min(2, 'all_of needs at least two conditions')
    .max(16),
});

export const AbsenceRuleSchema = z.strictObject({
  ...RuleBase,
  type: z.literal('absence'),
  window: DurationSchema,
  /** The event that opens the window. */
  condition: ConditionSchema,
  /** The event that must follow within the window; the rule fires when none does. */
  followedBy: ConditionSchema,
});

/**
 * "This group never did this before": an event whose `fields` value (one field, or a tuple of up to three) was
 * not seen for its group within `history` before it, once the group has `learning` of history (default: the
 * history). Events missing a field are not judged. See engine/correlation/new-terms.ts.
 */
export const NewTermsRuleSchema = z.strictObject({
  ...RuleBase,
  type: z.literal('new_terms'),
  /** A baseline is per agent unless said otherwise. */
  groupBy: z.array(FieldSchema).min(1).default(['agentId']),
  fields: z.union([FieldSchema, z.array(FieldSchema).min(1).max(MAX_NEW_TERMS_FIELDS)], {
    error: `expected one field name or a list of 1 to ${MAX_NEW_TERMS_FIELDS}`,
  }),
  history: HistorySchema,
  learning: LearningSchema.optional(),
  /** The events that count (are judged and learned); every event with the fields when absent. */
  condition: ConditionSchema.optional(),
});

export const RuleSchema = z.discriminatedUnion('type', [
  MatchRuleSchema,
  SequenceRuleSchema,
  ThresholdRuleSchema,
  AllOfRuleSchema,
  AbsenceRuleSchema,
  NewTermsRuleSchema,
]);
export type Rule = z.infer<typeof RuleSchema>;
export type RuleType = Rule['type'];

/** A named list for the `inList` operator. */
export const ListSchema = z.strictObject({
  /** exact: string equality; glob: picomatch patterns (`*.openai.com`); cidr: IPv4/IPv6 networks. */
  match: z.enum(['exact', 'glob', 'cidr']).default('exact'),
  caseInsensitive: z.boolean().default(false),
  values: z.array(z.string().min(1)),
});
export type ListDefinition = z.infer<typeof ListSchema>;

const NameSchema = z.string().regex(/^[A-Za-z][\w.-]*$/, 'names are letters, digits, _ . -');

/** One rule file (JSON or YAML). Lists and named conditions are shared by every loaded file. */
export const RuleFileSchema = z.strictObject({
  $schema: z.string().optional(),
  lists: z.record(NameSchema, ListSchema).optional(),
  /** Named conditions, referenced as `{condition: name}` (json-rules-engine's shared conditions). */
  conditions: z.record(NameSchema, ConditionSchema).optional(),
  rules: z.array(RuleSchema).default([]),
});
export type RuleFile = z.infer<typeof RuleFileSchema>;

/** A value quoted for a message, cut after 80 characters (a refused value may be megabytes long). */
function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}... (${text.length} characters)` : text;
}
