import type { Predicate } from './conditions/compile.ts';
import type { FactContext } from './conditions/facts.ts';
import { capturedName, generate } from './generate.ts';
import { EVENT_TYPES } from './model/index.ts';
import type { CompiledRule } from './rules/compile.ts';

/**
 * Evaluates every (rule, role) condition that can match an event of one type, in rule order: sets bit `role`
 * of `masks[rule]` for each condition that holds, and lists each rule with a match once in `touched`, in
 * first-match order. Returns how many rules it listed. `masks` must be all zero on entry.
 */
export type Evaluate = (context: FactContext, masks: Int32Array, touched: Int32Array) => number;

export interface Dispatch {
  byType: ReadonlyMap<string, Evaluate>;
  /** Every condition unspecialized, for a type outside EVENT_TYPES. */
  anyType: Evaluate;
}

interface Candidate {
  ruleIndex: number;
  bit: number;
  predicate: Predicate;
}

/**
 * One generated function per candidate list (see generate.ts), each condition called from a call site of its
 * own: a loop calling them all from one site saw every condition of every rule there and inlined none. Only
 * captured predicates and integer positions enter the source.
 */
function compileEvaluate(candidates: readonly Candidate[]): Evaluate {
  const lines = candidates.map(
    ({ ruleIndex, bit }, i) =>
      `if (${capturedName(i)}(c)) { if (masks[${ruleIndex}] === 0) touched[count++] = ${ruleIndex}; masks[${ruleIndex}] |= ${1 << bit}; }`,
  );
  return generate<Evaluate>(
    `(c, masks, touched) => { let count = 0;\n${lines.join('\n')}\nreturn count; }`,
    candidates.map(({ predicate }) => predicate),
  );
}

/** Per event type, the conditions of `rules` that can match it, each specialized to the type. */
export function buildDispatch(rules: readonly CompiledRule[]): Dispatch {
  const byType = new Map<string, Candidate[]>(EVENT_TYPES.map((type) => [type, []]));
  const anyType: Candidate[] = [];
  rules.forEach((rule, ruleIndex) => {
    rule.roles.forEach((role, bit) => {
      anyType.push({ ruleIndex, bit, predicate: role.predicate });
      for (const [type, predicate] of role.byEventType) byType.get(type)?.push({ ruleIndex, bit, predicate });
    });
  });
  return {
    byType: new Map([...byType].map(([type, candidates]) => [type, compileEvaluate(candidates)])),
    anyType: compileEvaluate(anyType),
  };
}
