import { z } from 'zod';
import { ResponseActionSchema } from '../../alert.ts';
import { SUGGESTION_LIMITS } from '../../response/limits.ts';
import { HistorySchema, LearningSchema, MAX_COUNT, MAX_METRIC, SuggestionSchema } from '../schema.ts';

/**
 * The shape of Sigma documents (sigma-rules-specification v2, sigma-correlation-rules-specification v2.1.0).
 * The specification allows arbitrary custom top-level fields, so the documents are loose objects; the blocks
 * that carry meaning (logsource, correlation, our `clawdstrike` extension) are strict, so a misspelt key in
 * them is refused rather than ignored.
 */
const StringOrList = z.union([z.string(), z.array(z.string())]);

/** Our extension, a custom field in Sigma's sense: what a Sigma rule cannot say but our alerts carry. */
export const ClawdstrikeExtensionSchema = z.strictObject({
  /** Rules are on unless this says false. */
  enabled: z.boolean().optional(),
  riskScore: z.int().min(0).max(100).optional(),
  actions: z.array(ResponseActionSchema).optional(),
  summary: z.string().min(1).optional(),
  /** Policy changes the alert suggests, as a rule of ours writes them (`suggest`). */
  suggest: z.array(SuggestionSchema).min(1).max(SUGGESTION_LIMITS.maxSuggestionsPerRule).optional(),
  /** The id of our rule this one restates in Sigma (rules/sigma/ copies of the reference rules). */
  copyOf: z.string().min(1).optional(),
  /** value_count only: the matching events must also number this many (our threshold's count and distinct). */
  events: z.lazy(() => CountConditionSchema).optional(),
});

const Metadata = {
  title: z.string().min(1).max(256),
  id: z.string().min(1).max(128).optional(),
  name: z.string().min(1).max(128).optional(),
  status: z.enum(['stable', 'test', 'experimental', 'deprecated', 'unsupported']).optional(),
  description: z.string().max(65_535).optional(),
  references: z.array(z.string()).optional(),
  falsepositives: StringOrList.optional(),
  level: z.enum(['informational', 'low', 'medium', 'high', 'critical']).optional(),
  tags: z.array(z.string().min(1)).optional(),
  clawdstrike: ClawdstrikeExtensionSchema.optional(),
};

export const SigmaDetectionRuleSchema = z.looseObject({
  ...Metadata,
  logsource: z.looseObject({
    category: z.string().optional(),
    product: z.string().optional(),
    service: z.string().optional(),
    definition: z.string().optional(),
  }),
  detection: z.record(z.string(), z.unknown()).refine((detection) => 'condition' in detection, {
    message: 'detection needs a condition',
  }),
});
export type SigmaDetectionRule = z.infer<typeof SigmaDetectionRuleSchema>;

const Count = z.int().min(0).max(MAX_COUNT);
export const CountConditionSchema = z
  .strictObject({
    gt: Count.optional(),
    gte: Count.optional(),
    lt: Count.optional(),
    lte: Count.optional(),
    eq: Count.optional(),
    neq: Count.optional(),
    field: StringOrList.optional(),
  })
  .refine((condition) => Object.keys(condition).some((key) => key !== 'field'), {
    message: 'a condition needs gt, gte, lt, lte, eq or neq',
  });
export type CountCondition = z.infer<typeof CountConditionSchema>;

/**
 * A correlation's condition: counts for the counting types (whole numbers to MAX_COUNT, checked when lowered),
 * any number within MAX_METRIC for value_sum and value_avg.
 */
const Bound = z.number().min(-MAX_METRIC).max(MAX_METRIC);
export const CorrelationConditionSchema = z
  .strictObject({
    gt: Bound.optional(),
    gte: Bound.optional(),
    lt: Bound.optional(),
    lte: Bound.optional(),
    eq: Bound.optional(),
    neq: Bound.optional(),
    field: StringOrList.optional(),
  })
  .refine((condition) => Object.keys(condition).some((key) => key !== 'field'), {
    message: 'a condition needs gt, gte, lt, lte, eq or neq',
  });
export type CorrelationCondition = z.infer<typeof CorrelationConditionSchema>;

/**
 * v2.1.0 lists seven types (value_percentile is refused by name when lowered, see lower.ts); `new_terms` is
 * our extension (docs/sigma.md).
 */
export const CORRELATION_TYPES = [
  'event_count',
  'value_count',
  'temporal',
  'temporal_ordered',
  'value_sum',
  'value_avg',
  'value_percentile',
  'new_terms',
] as const;

export const SigmaCorrelationRuleSchema = z.looseObject({
  ...Metadata,
  generate: z.boolean().optional(),
  correlation: z.strictObject({
    type: z.enum(CORRELATION_TYPES),
    rules: z.array(z.string().min(1)).min(1).max(16),
    'group-by': z.array(z.string().min(1)).max(16).optional(),
    /** At most 7 days, except a new_terms history (90 days); the type's bound is checked when lowered. */
    timespan: HistorySchema,
    condition: CorrelationConditionSchema.optional(),
    aliases: z.record(z.string(), z.record(z.string(), z.string())).optional(),
    generate: z.boolean().optional(),
    /** v2.0.0 placed value_count's field here. */
    field: z.string().optional(),
    /** new_terms (our extension): the field, or a tuple of up to three, whose values are new for the group. */
    fields: StringOrList.optional(),
    /** new_terms: how much history a group needs before its new terms alert (default: the timespan). */
    learning: LearningSchema.optional(),
  }),
});
export type SigmaCorrelationRule = z.infer<typeof SigmaCorrelationRuleSchema>;

/** Sigma documents are told apart from our rule files by shape: they have `detection` or `correlation`. */
export function isSigmaDocument(value: unknown): boolean {
  return typeof value === 'object' && value !== null && ('detection' in value || 'correlation' in value);
}
