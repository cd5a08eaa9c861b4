import { err, ok, type Result } from '../../core/result.ts';
import { describeError, listFiles, readStructured } from '../data-file.ts';
import { DEFAULT_RULE_LIMITS, fileLimits, type RuleLimits } from './limits.ts';
import type { RuleProblem } from './problems.ts';
import { buildRuleSet, type RuleSet, type RuleSource } from './ruleset.ts';

export const RULE_FILE_EXTENSIONS = ['.json', '.yaml', '.yml'] as const;

/**
 * Reads rule files and directories (recursively, sorted) into sources within `limits`; a file that cannot be
 * read, or is too large, too deep or not a regular file, becomes a problem naming it.
 */
export function readRuleSources(
  paths: readonly string[],
  limits: RuleLimits = DEFAULT_RULE_LIMITS,
): Result<RuleSource[], RuleProblem[]> {
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
      else problems.push({ file, path: [], message: content.error });
    }
  }
  return problems.length > 0 ? err(problems) : ok(sources);
}

/** Reads, validates and compiles rules from files and directories. */
export function loadRules(
  paths: readonly string[],
  limits: RuleLimits = DEFAULT_RULE_LIMITS,
): Result<RuleSet, RuleProblem[]> {
  const sources = readRuleSources(paths, limits);
  return sources.ok ? buildRuleSet(sources.value, limits) : sources;
}
