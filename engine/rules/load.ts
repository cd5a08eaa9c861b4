import { err, ok, type Result } from '../../core/result.ts';
import { listFiles, readStructured } from '../data-file.ts';
import type { RuleProblem } from './problems.ts';
import { buildRuleSet, type RuleSet, type RuleSource } from './ruleset.ts';

export const RULE_FILE_EXTENSIONS = ['.json', '.yaml', '.yml'] as const;

/** Reads rule files and directories (recursively, sorted) into sources; unreadable files become problems. */
export function readRuleSources(paths: readonly string[]): Result<RuleSource[], RuleProblem[]> {
  const sources: RuleSource[] = [];
  const problems: RuleProblem[] = [];
  for (const path of paths) {
    let files: string[];
    try {
      files = listFiles(path, RULE_FILE_EXTENSIONS);
    } catch {
      problems.push({ file: path, path: [], message: 'no such file or directory' });
      continue;
    }
    for (const file of files) {
      const content = readStructured(file);
      if (content.ok) sources.push({ file, content: content.value });
      else problems.push({ file, path: [], message: content.error });
    }
  }
  return problems.length > 0 ? err(problems) : ok(sources);
}

/** Reads, validates and compiles rules from files and directories. */
export function loadRules(paths: readonly string[]): Result<RuleSet, RuleProblem[]> {
  const sources = readRuleSources(paths);
  return sources.ok ? buildRuleSet(sources.value) : sources;
}
