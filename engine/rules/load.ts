import { err, ok, type Result } from '../../core/result.ts';
import { describeError, listFiles, readStructured } from '../data-file.ts';
import { DEFAULT_RULE_LIMITS, fileLimits, type RuleLimits } from './limits.ts';
import type { RuleProblem } from './problems.ts';
import { buildRuleSet, type RuleSet, type RuleSetOptions, type RuleSource } from './ruleset.ts';

export const RULE_FILE_EXTENSIONS = ['.json', '.yaml', '.yml'] as const;

/** The readable rule files under `paths`, and a problem for each one that is not. */
function collectSources(
  paths: readonly string[],
  limits: RuleLimits,
): { sources: RuleSource[]; problems: RuleProblem[] } {
  const sources: RuleSource[] = [];
  const problems: RuleProblem[] = [];
  let budget = limits.maxFiles;
  for (const path of paths) {
    let files: string[];
    try {
      files = listFiles(path, RULE_FILE_EXTENSIONS, budget);
    } catch (error) {
      problems.push({ file: path, path: [], message: describeError(error) });
      continue;
    }
    budget -= files.length;
    for (const file of files) {
      const content = readStructured(file, fileLimits(limits));
      if (content.ok) sources.push({ file, content: content.value });
      else problems.push({ file, ruleId: content.error.owner, path: [], message: content.error.message });
    }
  }
  return { sources, problems };
}

/**
 * Reads rule files and directories (recursively, sorted) into sources within `limits`; a file that cannot be
 * read, or is too large, too deep or not a regular file, becomes a problem naming it.
 */
export function readRuleSources(
  paths: readonly string[],
  limits: RuleLimits = DEFAULT_RULE_LIMITS,
): Result<RuleSource[], RuleProblem[]> {
  const { sources, problems } = collectSources(paths, limits);
  return problems.length > 0 ? err(problems) : ok(sources);
}

/**
 * Reads, validates and compiles rules from files and directories. The files that could be read are checked
 * even when others could not, so every problem is reported at once.
 */
export function loadRules(
  paths: readonly string[],
  limits: RuleLimits = DEFAULT_RULE_LIMITS,
  options: RuleSetOptions = {},
): Result<RuleSet, RuleProblem[]> {
  const { sources, problems } = collectSources(paths, limits);
  const built = buildRuleSet(sources, limits, options);
  if (problems.length === 0) return built;
  return err([...problems, ...(built.ok ? [] : built.error)]);
}
