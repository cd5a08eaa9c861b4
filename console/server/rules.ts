import { relative } from 'node:path';
import type { ResponseAction } from '../../engine/alert.ts';
import type { RuleSet } from '../../engine/index.ts';

/** What the console shows of a loaded rule (alerts carry the name, not the description or the file). */
export interface RuleInfo {
  id: string;
  name: string;
  description: string;
  tags: readonly string[];
  actions: readonly ResponseAction[];
  /** Absolute path of its file. */
  file: string;
  /** The file relative to the rules folder it was loaded from (for `ruleFileUrl`). */
  relativeFile: string;
}

/** The rule catalog from a loaded rule set; `roots` are the paths the rules were loaded from. */
export function ruleCatalog(rules: RuleSet, roots: readonly string[]): RuleInfo[] {
  return rules.rules.map((rule) => {
    const root = roots.find((path) => rule.source.startsWith(path));
    return {
      id: rule.id,
      name: rule.name,
      description: rule.description,
      tags: rule.tags,
      actions: rule.actions,
      file: rule.source,
      relativeFile: root ? relative(root, rule.source) || rule.source.split('/').pop()! : rule.source,
    };
  });
}
