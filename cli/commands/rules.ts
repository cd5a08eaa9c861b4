import { ENV_PREFIX, loadConfig } from '../../core/config.ts';
import { EdrError } from '../../core/errors.ts';
import { packagePath } from '../../core/package-path.ts';
import { formatProblem, loadRules, type RuleLimits } from '../../engine/index.ts';
import { ProcessorConfigSchema } from '../../processor/config.ts';
import { parseCommandLine } from '../lib/command.ts';
import { BUNDLED_RULES } from '../lib/inputs.ts';
import { runCases } from '../lib/rule-cases.ts';

/** The cases shipped with the package, used when `rules test` gets no PATH. */
export const BUNDLED_CASES = packagePath('fixtures', 'rules');

const HELP = `Usage: clawdstrike-edr rules validate [--config FILE] PATH...
       clawdstrike-edr rules test [PATH] [--rules PATH]...

validate  Checks rule files (.json, .yaml, .yml) and directories: schema, facts, operators, lists, what the
          linear-time regex engine (RE2) can run, and the limits on rule files (size, nesting, aliases,
          condition size, durations), as the processor configured by FILE (or CLAWDSTRIKE_EDR_* variables)
          would load them: processor.ruleLimits. Prints every problem as
          file: rule ID: $.json.path: message  and exits 1 if any.
          --config FILE  config file (default: $CLAWDSTRIKE_EDR_CONFIG)

test      Runs the cases under PATH (default: the bundled fixtures/rules/), one directory per rule id,
          each case file holding events (any wire format) and the alerts expected from them. Fails when a
          case fails, and when a loaded rule lacks a passing positive and a passing negative case.
          --rules PATH   rules to test, repeatable (default: the bundled rules/)

Options:
  -h, --help   show this help`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(
    argv,
    { rules: { type: 'string', multiple: true }, config: { type: 'string' } },
    HELP,
  );
  if (typeof parsed === 'number') return parsed;
  const [action, ...paths] = parsed.positionals;
  if (action === 'validate') return validate(paths, parsed.values.config);
  if (action === 'test') return test(paths[0] ?? BUNDLED_CASES, parsed.values.rules);
  process.stderr.write(`rules: expected "validate" or "test"\n\n${HELP}\n`);
  return 2;
}

function validate(paths: string[], file: string | undefined): number {
  if (paths.length === 0) {
    process.stderr.write(`rules validate: no PATH given\n\n${HELP}\n`);
    return 2;
  }
  let limits: RuleLimits;
  try {
    limits = loadConfig(ProcessorConfigSchema, ENV_PREFIX, file ? { file } : {}).processor.ruleLimits;
  } catch (error) {
    if (!(error instanceof EdrError)) throw error;
    process.stderr.write(`rules validate: ${error.message}\n`);
    return 2;
  }
  const loaded = loadRules(paths, limits);
  if (!loaded.ok) {
    for (const problem of loaded.error) process.stderr.write(`${formatProblem(problem)}\n`);
    process.stderr.write(`${loaded.error.length} problem(s)\n`);
    return 1;
  }
  const { rules, disabled, files } = loaded.value;
  process.stdout.write(
    `ok: ${rules.length} rules (${disabled.length} disabled) in ${files.length} file(s)\n`,
  );
  return 0;
}

function test(casesRoot: string, rulePaths: string[] | undefined): number {
  const loaded = loadRules(rulePaths?.length ? rulePaths : [BUNDLED_RULES]);
  if (!loaded.ok) {
    for (const problem of loaded.error) process.stderr.write(`${formatProblem(problem)}\n`);
    return 1;
  }
  const { results, uncovered } = runCases(casesRoot, loaded.value);
  for (const result of results) {
    const mark = result.failures.length === 0 ? 'ok  ' : 'FAIL';
    process.stdout.write(`${mark} ${result.ruleId}/${result.name}${result.positive ? '' : ' (negative)'}\n`);
    for (const failure of result.failures) process.stdout.write(`       ${failure}\n`);
  }
  for (const id of uncovered)
    process.stdout.write(`FAIL ${id}: needs a passing positive and a passing negative case\n`);
  const failed = results.filter((r) => r.failures.length > 0).length;
  process.stdout.write(
    `${results.length} cases, ${results.length - failed} passed, ${failed} failed; ${uncovered.length} rule(s) not covered\n`,
  );
  return failed > 0 || uncovered.length > 0 ? 1 : 0;
}
