import type { z } from 'zod';
import type { JsonPath } from '../conditions/compile.ts';
import { CONDITION_BRANCH_KEYS } from './schema.ts';

/**
 * One reason a rule file is refused: the file, the rule when the problem is inside one, and the JSON path
 * relative to that rule (or to the file). Formatted as
 * `rules/x.json: rule CREDENTIAL_EXFILTRATION: $.steps[1].condition.all[0].operator: unknown operator "globx"`.
 */
export interface RuleProblem {
  file: string;
  ruleId?: string | undefined;
  path: JsonPath;
  message: string;
}

export function formatJsonPath(path: JsonPath): string {
  let out = '$';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(segment)) out += `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

export function formatProblem(problem: RuleProblem): string {
  const rule = problem.ruleId ? ` rule ${problem.ruleId}:` : '';
  return `${problem.file}:${rule} ${formatJsonPath(problem.path)}: ${problem.message}`;
}

function valueAt(root: unknown, path: JsonPath): unknown {
  let current = root;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

interface FlatIssue {
  path: JsonPath;
  message: string;
}

/**
 * zod reports a failed union with every branch's issues; a condition's branch is known from the key it
 * carries (`all`, `any`, `not`, `condition` or `fact`), so only that branch's issues are kept.
 */
function flatten(
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  base: JsonPath,
  out: FlatIssue[],
): void {
  for (const issue of issues) {
    const path = [...base, ...(issue.path as JsonPath)];
    if (issue.code === 'invalid_union' && issue.errors.length === CONDITION_BRANCH_KEYS.length) {
      const value = valueAt(input, path);
      const branch =
        typeof value === 'object' && value !== null
          ? CONDITION_BRANCH_KEYS.findIndex((key) => Object.hasOwn(value, key))
          : -1;
      if (branch < 0) {
        out.push({ path, message: 'expected a condition: an object with all, any, not, condition or fact' });
      } else {
        flatten(issue.errors[branch]!, input, path, out);
      }
      continue;
    }
    if (issue.code === 'invalid_union' && issue.errors.length === 0) {
      const options = (issue as { options?: unknown[] }).options;
      const detail = options ? `: expected one of ${options.map((o) => JSON.stringify(o)).join(', ')}` : '';
      out.push({ path, message: `${issue.message}${detail}` });
      continue;
    }
    out.push({ path, message: issue.message });
  }
}

/** Turns zod issues on a whole rule file into problems attributed to rules where they fall inside one. */
export function problemsFromIssues(
  file: string,
  input: unknown,
  issues: readonly z.core.$ZodIssue[],
): RuleProblem[] {
  const flat: FlatIssue[] = [];
  flatten(issues, input, [], flat);
  return flat.map(({ path, message }) => {
    if (path[0] === 'rules' && typeof path[1] === 'number') {
      const id = valueAt(input, ['rules', path[1], 'id']);
      if (typeof id === 'string') return { file, ruleId: id, path: path.slice(2), message };
    }
    return { file, path, message };
  });
}
