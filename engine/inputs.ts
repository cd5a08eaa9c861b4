import { err, ok, type Result } from '../core/result.ts';
import type { AssetInventory } from './enrichment/assets.ts';
import type { IntelIndex } from './enrichment/intel.ts';
import { loadAssets, loadIntel } from './enrichment/load.ts';
import type { RuleLimits } from './rules/limits.ts';
import { loadRules } from './rules/load.ts';
import { formatProblem } from './rules/problems.ts';
import type { RuleSet } from './rules/ruleset.ts';

/** Everything an engine is built from besides its clock and limits. */
export interface EngineInputs {
  rules: RuleSet;
  intel?: IntelIndex;
  assets?: AssetInventory;
}

export interface EngineInputPaths {
  rules: readonly string[];
  /** Bounds on rule files (engine/rules/limits.ts); the defaults when absent. */
  ruleLimits?: RuleLimits;
  /** Sigma field name → our fact, over the built-in table (docs/sigma.md). */
  sigmaFieldMapping?: Readonly<Record<string, string>>;
  intel?: readonly string[];
  assets?: readonly string[];
}

/**
 * Loads rules, threat intel and the agent inventory from files (the CLI's and the processor's one way in).
 * Fails with one line per problem, naming the file, rule and JSON path; warnings are entries that were skipped.
 */
export function loadEngineInputs(
  paths: EngineInputPaths,
): Result<{ inputs: EngineInputs; warnings: string[] }, string[]> {
  const rules = loadRules(paths.rules, paths.ruleLimits, {
    sigmaFieldMapping: paths.sigmaFieldMapping ?? {},
  });
  if (!rules.ok) return err(rules.error.map(formatProblem));
  const inputs: EngineInputs = { rules: rules.value };
  const warnings: string[] = [];
  if (paths.intel?.length) {
    const intel = loadIntel(paths.intel);
    if (!intel.ok) return err(intel.error);
    inputs.intel = intel.value.value;
    warnings.push(...intel.value.warnings);
  }
  if (paths.assets?.length) {
    const assets = loadAssets(paths.assets);
    if (!assets.ok) return err(assets.error);
    inputs.assets = assets.value.value;
    warnings.push(...assets.value.warnings);
  }
  return ok({ inputs, warnings });
}
