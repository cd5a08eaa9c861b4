import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ENV_PREFIX, loadConfig } from '../../core/config.ts';
import { EdrError } from '../../core/errors.ts';
import { packagePath } from '../../core/package-path.ts';
import {
  checkFrameworkTags,
  type Frameworks,
  formatProblem,
  loadFrameworks,
  loadRules,
  type RuleLimits,
  type RuleSet,
} from '../../engine/index.ts';
import { ProcessorConfigSchema } from '../../processor/config.ts';
import { parseCommandLine } from '../lib/command.ts';
import { loadCoverage, uncoveredInScope } from '../lib/coverage.ts';
import { coverageMarkdown, coverageTable } from '../lib/coverage-report.ts';
import { BUNDLED_RULES } from '../lib/inputs.ts';
import { buildLayer } from '../lib/navigator.ts';
import { runCases } from '../lib/rule-cases.ts';

/** The cases shipped with the package, used when `rules test` gets no PATH. */
export const BUNDLED_CASES = packagePath('fixtures', 'rules');

/** The committed MITRE ATLAS and ATT&CK Enterprise data and the ATLAS scope (frameworks/). */
export const BUNDLED_FRAMEWORKS = packagePath('frameworks');
export const NAVIGATOR_FILES = { atlas: 'atlas-layer.json', attack: 'attack-enterprise-layer.json' } as const;

const HELP = `Usage: clawdstrike-edr rules validate [--config FILE] PATH...
       clawdstrike-edr rules test [PATH] [--rules PATH]...
       clawdstrike-edr rules coverage [--rules PATH]... [--cases DIR] [--navigator DIR] [--markdown]

validate  Checks rule files (.json, .yaml, .yml) and directories: schema, facts, operators, lists, what the
          linear-time regex engine (RE2) can run, and the limits on rule files (size, nesting, aliases,
          condition size, durations), as the processor configured by FILE (or CLAWDSTRIKE_EDR_* variables)
          would load them: processor.ruleLimits. Prints every problem as
          file: rule ID: $.json.path: message  and exits 1 if any. Tags naming MITRE ids (atlas:AML.T0053,
          attack:T1059.004, attack:TA0002) are checked against frameworks/ (MITRE ATLAS 5.5.0, ATT&CK
          Enterprise 18.0): an id the framework does not have, a malformed id and a revoked id (with its
          replacement) are problems; a deprecated id is printed as a warning.
          --config FILE  config file (default: $CLAWDSTRIKE_EDR_CONFIG)

test      Runs the cases under PATH (default: the bundled fixtures/rules/), one directory per rule id,
          each case file holding events (any wire format) and the alerts expected from them. Fails when a
          case fails, and when a loaded rule lacks a passing positive and a passing negative case.
          --rules PATH   rules to test, repeatable (default: the bundled rules/)

coverage  Prints, per ATLAS and ATT&CK tactic, the techniques the rules' tags name and the rules detecting
          each, marked [+~] when the rule has a passing positive (+) and near-miss (~) case (the cases are run,
          as by rules test). Exits 1 when an ATLAS technique frameworks/atlas-scope.yaml puts in scope is not
          detected by a rule with both cases, 2 when frameworks/ or the scope does not load.
          --rules PATH     rules to cover, repeatable (default: the bundled rules/)
          --cases DIR      cases to run (default: the bundled fixtures/rules/)
          --navigator DIR  also write ATT&CK Navigator layers (format 4.5) there: atlas-layer.json and
                           attack-enterprise-layer.json; score 2 = covered with fixtures, 1 = without
          --markdown       print docs/coverage.md (scope, evidence, rules, exclusions) instead of the table
          e.g. rules coverage --navigator docs/navigator --markdown > docs/coverage.md

Options:
  -h, --help   show this help`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(
    argv,
    {
      rules: { type: 'string', multiple: true },
      config: { type: 'string' },
      cases: { type: 'string' },
      navigator: { type: 'string' },
      markdown: { type: 'boolean' },
    },
    HELP,
  );
  if (typeof parsed === 'number') return parsed;
  const [action, ...paths] = parsed.positionals;
  if (action === 'validate') return validate(paths, parsed.values.config);
  if (action === 'test') return test(paths[0] ?? BUNDLED_CASES, parsed.values.rules);
  if (action === 'coverage') return coverage(parsed.values);
  process.stderr.write(`rules: expected "validate", "test" or "coverage"\n\n${HELP}\n`);
  return 2;
}

function validate(paths: string[], file: string | undefined): number {
  if (paths.length === 0) {
    process.stderr.write(`rules validate: no PATH given\n\n${HELP}\n`);
    return 2;
  }
  let limits: RuleLimits;
  let sigmaFieldMapping: Record<string, string>;
  try {
    ({ ruleLimits: limits, sigmaFieldMapping } = loadConfig(
      ProcessorConfigSchema,
      ENV_PREFIX,
      file ? { file } : {},
    ).processor);
  } catch (error) {
    if (!(error instanceof EdrError)) throw error;
    process.stderr.write(`rules validate: ${error.message}\n`);
    return 2;
  }
  const loaded = loadRules(paths, limits, { sigmaFieldMapping });
  if (!loaded.ok) {
    for (const problem of loaded.error) process.stderr.write(`${formatProblem(problem)}\n`);
    process.stderr.write(`${loaded.error.length} problem(s)\n`);
    return 1;
  }
  const frameworks = loadBundledFrameworks('rules validate');
  if (!frameworks) return 2;
  const { rules, disabled, files } = loaded.value;
  if (!reportTags(loaded.value, frameworks)) return 1;
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

function loadBundledFrameworks(command: string): Frameworks | undefined {
  const loaded = loadFrameworks(BUNDLED_FRAMEWORKS);
  if (loaded.ok) return loaded.value;
  for (const problem of loaded.error) process.stderr.write(`${command}: ${problem}\n`);
  return undefined;
}

/** Prints the framework findings on the rules' tags; false when any is an error. */
function reportTags(ruleSet: RuleSet, frameworks: Frameworks): boolean {
  let errors = 0;
  for (const rule of ruleSet.rules) {
    for (const finding of checkFrameworkTags(rule.tags, frameworks)) {
      const line = formatProblem({
        file: rule.source,
        ruleId: rule.id,
        path: ['tags', finding.index],
        message: finding.message,
      });
      if (finding.level === 'error') errors++;
      process.stderr.write(`${finding.level === 'error' ? '' : 'warning: '}${line}\n`);
    }
  }
  if (errors > 0) process.stderr.write(`${errors} problem(s)\n`);
  return errors === 0;
}

async function coverage(options: {
  rules?: string[] | undefined;
  cases?: string | undefined;
  navigator?: string | undefined;
  markdown?: boolean | undefined;
}): Promise<number> {
  const loaded = loadCoverage({
    rulePaths: options.rules?.length ? options.rules : [BUNDLED_RULES],
    casesRoot: options.cases ?? BUNDLED_CASES,
    frameworksDirectory: BUNDLED_FRAMEWORKS,
  });
  if (!loaded.ok) {
    for (const problem of loaded.error) process.stderr.write(`rules coverage: ${problem}\n`);
    return 2;
  }
  const { frameworks, scope, rows } = loaded.value;
  if (options.navigator) {
    await mkdir(options.navigator, { recursive: true });
    for (const framework of ['atlas', 'attack'] as const) {
      const layer = buildLayer(framework, rows, frameworks);
      await writeFile(
        join(options.navigator, NAVIGATOR_FILES[framework]),
        `${JSON.stringify(layer, null, 2)}\n`,
      );
    }
  }
  const report = options.markdown
    ? coverageMarkdown(scope, rows, frameworks)
    : coverageTable(rows, frameworks);
  process.stdout.write(`${report}\n`);
  const missing = uncoveredInScope(scope, rows);
  for (const id of missing) {
    const name = frameworks.atlas.techniques.get(id)?.name;
    process.stderr.write(
      `rules coverage: ${id} (${name}) is in scope but no rule with a positive and a near-miss case detects it\n`,
    );
  }
  return missing.length > 0 ? 1 : 0;
}
