import { packagePath } from '../../core/package-path.ts';
import { type EngineInputs, loadEngineInputs } from '../../engine/index.ts';

/** The rules shipped with the package, used when no --rules is given. */
export const BUNDLED_RULES = packagePath('rules');

/**
 * Loads rules (the bundled ones unless given), intel and inventory for a command, printing problems and
 * warnings to stderr; undefined when anything failed to load.
 */
export function loadCommandInputs(options: {
  rules?: string[] | undefined;
  intel?: string[] | undefined;
  assets?: string | undefined;
}): EngineInputs | undefined {
  const loaded = loadEngineInputs({
    rules: options.rules?.length ? options.rules : [BUNDLED_RULES],
    intel: options.intel ?? [],
    assets: options.assets ? [options.assets] : [],
  });
  if (!loaded.ok) {
    for (const line of loaded.error) process.stderr.write(`${line}\n`);
    return undefined;
  }
  for (const line of loaded.value.warnings) process.stderr.write(`warning: ${line}\n`);
  return loaded.value.inputs;
}
