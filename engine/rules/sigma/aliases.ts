import type { ConditionProblem, LowerEnvironment } from '../../conditions/compile.ts';
import { lowerCondition, toPredicate } from '../../conditions/compile.ts';
import { type Accessor, type FactContext, resolveFact } from '../../conditions/facts.ts';
import { keyPart } from '../compile.ts';
import type { Condition } from '../schema.ts';

/**
 * Sigma correlation `aliases`: a group-by name that reads a different field per referenced rule, e.g. the
 * destination of one rule's events and the source of another's. An event's value for the alias is the field
 * of the first referenced rule it matches. The group key is built as ours are: the parts joined by `|`, an
 * absent value empty.
 */
export type GroupPart =
  | { fact: string }
  | { alias: string; fields: Array<{ condition: Condition; fact: string }> };

export function aliasGroupKey(
  parts: readonly GroupPart[],
  env: LowerEnvironment,
  problems: ConditionProblem[],
): (context: FactContext) => string {
  const read = (fact: string, path: Array<string | number>): Accessor => {
    const resolved = resolveFact(fact);
    if (typeof resolved !== 'string') return resolved.accessor;
    problems.push({ path, message: resolved });
    return () => undefined;
  };
  const readers = parts.map((part, index): Accessor => {
    if ('fact' in part) return read(part.fact, ['correlation', 'group-by', index]);
    const choices = part.fields.map(({ condition, fact }) => ({
      matches: toPredicate(lowerCondition(condition, env, ['correlation', 'aliases', part.alias], problems)),
      read: read(fact, ['correlation', 'aliases', part.alias]),
    }));
    return (context) => choices.find((choice) => choice.matches(context))?.read(context);
  });
  return (context) => readers.map((reader) => keyPart(reader(context))).join('|');
}
