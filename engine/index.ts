/**
 * The engine's public API. Stages: parse (zod) → lower (facts, operators, lists resolved; errors with JSON
 * paths) → compile (closures) → evaluate. Everything here is pure except the three loaders
 * (loadRules, loadIntel, loadAssets), which read files for the CLI and the processor.
 *
 *   const rules = loadRules(['rules/']);                       // Result<RuleSet, RuleProblem[]>
 *   const engine = createEngine({ rules: rules.value, intel, assets, clock: systemClock });
 *   const alerts = engine.process(envelope);                   // readonly Alert[], synchronous
 *   engine.reload({ rules, intel, assets });                   // keeps sessions and unchanged rules' state
 *   const checkpoint = engine.snapshot();                      // versioned JSON; engine.restore(checkpoint)
 *   engine.stats();                                            // state sizes, eviction counters, alerts by rule
 *
 * Time: windows are judged on event time; see EngineLimits.allowedLatenessMs for late and out-of-order events.
 * Duplicates (the same agentId and eventId again, e.g. one hushd check as AuditEvent and SecurityEvent) are
 * dropped. Every state bound is in EngineLimits; snapshotBound() gives the largest snapshot they allow.
 */
export * from './alert.ts';
export { alertId } from './alerts.ts';
export type { FactContext } from './conditions/facts.ts';
export { INTEL_FACTS, SESSION_FACTS } from './conditions/facts.ts';
export type { GlobMatcher, GlobOptions } from './conditions/globs.ts';
export { compileGlobs } from './conditions/globs.ts';
export type { LinearMatch, LinearRegex, LinearRegexLimits } from './conditions/linear-regex.ts';
export { DEFAULT_REGEX_LIMITS, linearRegex, linearRegexAny } from './conditions/linear-regex.ts';
export { DECORATOR_NAMES, OPERATOR_NAMES } from './conditions/operators.ts';
export type { FileLimits } from './data-file.ts';
export { listFiles, readStructured } from './data-file.ts';
export type { DetectionEngine, EngineOptions, EngineStats, ReloadReport } from './engine.ts';
export { createEngine } from './engine.ts';
export type { AssetFacts, AssetRecord, ParsedAssets } from './enrichment/assets.ts';
export { AssetInventory, AssetRecordSchema, parseAssetCsv, parseAssetJson } from './enrichment/assets.ts';
export type { Indicator, IntelFacts, IntelMatch, ParsedIndicators } from './enrichment/intel.ts';
export {
  IntelIndex,
  parseIndicatorCsv,
  parseIndicatorJson,
  parseIndicatorText,
} from './enrichment/intel.ts';
export type { Loaded } from './enrichment/load.ts';
export { loadAssets, loadIntel } from './enrichment/load.ts';
export * from './frameworks/index.ts';
export type { EngineInputPaths, EngineInputs } from './inputs.ts';
export { loadEngineInputs } from './inputs.ts';
export type { EngineLimits, LimitsConfig } from './limits.ts';
export { DEFAULT_LIMITS, EngineLimitsSchema, LimitsConfigSchema } from './limits.ts';
export * from './model/index.ts';
export * from './response/index.ts';
export type { CompiledRule } from './rules/compile.ts';
export { parseDuration } from './rules/compile.ts';
export type { RuleLimits } from './rules/limits.ts';
export { DEFAULT_RULE_LIMITS, RuleLimitsSchema } from './rules/limits.ts';
export { loadRules, readRuleSources } from './rules/load.ts';
export type { RuleProblem } from './rules/problems.ts';
export { formatProblem } from './rules/problems.ts';
export type { RuleSet, RuleSource } from './rules/ruleset.ts';
export { buildRuleSet, ruleConditions, selectRules } from './rules/ruleset.ts';
export type { Condition, ListDefinition, Rule, RuleFile } from './rules/schema.ts';
export {
  ConditionSchema,
  DURATION_PATTERN,
  DurationSchema,
  MAX_COUNT,
  MAX_DURATION_MS,
  RuleFileSchema,
  RuleSchema,
} from './rules/schema.ts';
export type { SessionFacts } from './sessions.ts';
export type { CorrelationState, EngineSnapshot, SnapshotBound } from './snapshot.ts';
export { ENGINE_SNAPSHOT_VERSION, EngineSnapshotSchema, snapshotBound } from './snapshot.ts';
export type { StateEntry, StateStore } from './state/store.ts';
export { MemoryStateStore } from './state/store.ts';
