import { fileURLToPath } from 'node:url';
import {
  type AssetInventory,
  formatProblem,
  type IntelIndex,
  loadAssets,
  loadIntel,
  loadRules,
  type RuleSet,
} from '../../engine/index.ts';

/** The rules shipped with the package, used when no --rules is given. */
export const BUNDLED_RULES = fileURLToPath(new URL('../../rules/', import.meta.url));

export interface EngineInputs {
  rules: RuleSet;
  intel?: IntelIndex;
  assets?: AssetInventory;
}

/** Loads rules, intel and inventory, printing problems to stderr; undefined when any of them failed. */
export function loadEngineInputs(options: {
  rules?: string[] | undefined;
  intel?: string[] | undefined;
  assets?: string | undefined;
}): EngineInputs | undefined {
  const rules = loadRules(options.rules?.length ? options.rules : [BUNDLED_RULES]);
  if (!rules.ok) {
    for (const problem of rules.error) process.stderr.write(`${formatProblem(problem)}\n`);
    return undefined;
  }
  const inputs: EngineInputs = { rules: rules.value };
  if (options.intel?.length) {
    const intel = loadIntel(options.intel);
    if (!intel.ok) {
      for (const line of intel.error) process.stderr.write(`${line}\n`);
      return undefined;
    }
    for (const line of intel.value.warnings) process.stderr.write(`warning: ${line}\n`);
    inputs.intel = intel.value.value;
  }
  if (options.assets) {
    const assets = loadAssets([options.assets]);
    if (!assets.ok) {
      for (const line of assets.error) process.stderr.write(`${line}\n`);
      return undefined;
    }
    for (const line of assets.value.warnings) process.stderr.write(`warning: ${line}\n`);
    inputs.assets = assets.value.value;
  }
  return inputs;
}
