import { capturedName, generate } from '../generate.ts';
import type { Condition, LeafCondition } from '../rules/schema.ts';
import { type Accessor, type FactContext, type FactRoot, resolveFact } from './facts.ts';
import {
  type Binary,
  compileBinary,
  compileUnary,
  type OperatorEnvironment,
  type Unary,
} from './operators.ts';

/**
 * Conditions in two stages: lowering turns json-rules-engine's format into a Matcher tree with every fact
 * resolved and every literal prepared (errors carry the JSON path of the offending node); toPredicate then
 * turns the tree into one synchronous closure. Nothing is interpreted per event.
 */
export type Matcher =
  | { kind: 'all'; children: Matcher[] }
  | { kind: 'any'; children: Matcher[] }
  | { kind: 'not'; child: Matcher }
  /** A leaf with a literal right side. */
  | {
      kind: 'test';
      fact: string;
      root: FactRoot;
      read: Accessor;
      operator: string;
      value: unknown;
      test: Unary;
    }
  /** A leaf whose right side is another fact (`value: {fact: ...}`). */
  | { kind: 'compare'; fact: string; read: Accessor; readValue: Accessor; test: Binary };

export type Predicate = (context: FactContext) => boolean;

export type JsonPath = Array<string | number>;

export interface ConditionProblem {
  path: JsonPath;
  message: string;
}

export interface LowerEnvironment extends OperatorEnvironment {
  /** The lowered named condition (rule file `conditions:`), or why it is unavailable. */
  condition(name: string): Matcher | string;
}

function isFactReference(
  value: unknown,
): value is { fact: string; path?: string; params?: Record<string, unknown> } {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.hasOwn(value, 'fact') &&
    typeof (value as { fact: unknown }).fact === 'string'
  );
}

function hasParams(params: Record<string, unknown> | undefined): boolean {
  return params !== undefined && Object.keys(params).length > 0;
}

function lowerLeaf(
  leaf: LeafCondition,
  env: LowerEnvironment,
  path: JsonPath,
  problems: ConditionProblem[],
): Matcher {
  const unusable: Matcher = { kind: 'any', children: [] };
  if (hasParams(leaf.params)) {
    problems.push({
      path: [...path, 'params'],
      message: `fact ${JSON.stringify(leaf.fact)} takes no params`,
    });
    return unusable;
  }
  const fact = resolveFact(leaf.fact, leaf.path);
  if (typeof fact === 'string') {
    problems.push({
      path: [...path, leaf.path === undefined || fact.startsWith('unknown fact') ? 'fact' : 'path'],
      message: fact,
    });
    return unusable;
  }
  if (isFactReference(leaf.value)) {
    const reference = leaf.value;
    const value = hasParams(reference.params)
      ? `fact ${JSON.stringify(reference.fact)} takes no params`
      : resolveFact(reference.fact, reference.path);
    const test = compileBinary(leaf.operator);
    if (typeof value === 'string') problems.push({ path: [...path, 'value'], message: value });
    if (typeof test === 'string') problems.push({ path: [...path, 'operator'], message: test });
    if (typeof value === 'string' || typeof test === 'string') return unusable;
    return { kind: 'compare', fact: leaf.fact, read: fact.accessor, readValue: value.accessor, test };
  }
  const test = compileUnary(leaf.operator, leaf.value, env);
  if (typeof test === 'string') {
    problems.push({
      path: [...path, test.startsWith('unknown operator') ? 'operator' : 'value'],
      message: test,
    });
    return unusable;
  }
  return {
    kind: 'test',
    fact: leaf.fact,
    root: fact.root,
    read: fact.accessor,
    operator: leaf.operator,
    value: leaf.value,
    test,
  };
}

/** Lowers one condition; problems are appended to `problems` with paths relative to `path`. */
export function lowerCondition(
  condition: Condition,
  env: LowerEnvironment,
  path: JsonPath,
  problems: ConditionProblem[],
): Matcher {
  if ('all' in condition) {
    return {
      kind: 'all',
      children: condition.all.map((c, i) => lowerCondition(c, env, [...path, 'all', i], problems)),
    };
  }
  if ('any' in condition) {
    return {
      kind: 'any',
      children: condition.any.map((c, i) => lowerCondition(c, env, [...path, 'any', i], problems)),
    };
  }
  if ('not' in condition) {
    return { kind: 'not', child: lowerCondition(condition.not, env, [...path, 'not'], problems) };
  }
  if ('condition' in condition) {
    const named = env.condition(condition.condition);
    if (typeof named === 'string') {
      problems.push({ path: [...path, 'condition'], message: named });
      return { kind: 'any', children: [] };
    }
    return named;
  }
  return lowerLeaf(condition, env, path, problems);
}

export interface MatcherShape {
  /** Leaf tests, a named condition counted wherever it is used. */
  leaves: number;
  /** Nesting of all / any / not, named conditions expanded. */
  depth: number;
}

/**
 * The size of the predicate a matcher generates (named conditions are shared subtrees that toPredicate
 * expands at each use): measured once per shared subtree, so a condition that uses another twice, which uses
 * another twice, and so on, is measured without being expanded.
 */
export function matcherShape(matcher: Matcher, memo = new WeakMap<Matcher, MatcherShape>()): MatcherShape {
  const known = memo.get(matcher);
  if (known) return known;
  let shape: MatcherShape;
  switch (matcher.kind) {
    case 'all':
    case 'any': {
      shape = { leaves: 0, depth: 1 };
      for (const child of matcher.children) {
        const inner = matcherShape(child, memo);
        shape.leaves += inner.leaves;
        shape.depth = Math.max(shape.depth, inner.depth + 1);
      }
      break;
    }
    case 'not': {
      const inner = matcherShape(matcher.child, memo);
      shape = { leaves: inner.leaves, depth: inner.depth + 1 };
      break;
    }
    case 'test':
    case 'compare':
      shape = { leaves: 1, depth: 0 };
  }
  memo.set(matcher, shape);
  return shape;
}

/**
 * The matcher as one generated function (see engine/generate.ts): `all` / `any` / `not` become `&&` / `||` /
 * `!` and each leaf calls its own accessor and test, captured; no rule text enters the source. Closures from
 * one shared literal (`(c) => test(read(c))`) saw every leaf of every rule and inlined none.
 */
export function toPredicate(matcher: Matcher): Predicate {
  const functions: Array<(...args: never[]) => unknown> = [];
  const call = (fn: (...args: never[]) => unknown) => capturedName(functions.push(fn) - 1);
  const expression = (node: Matcher): string => {
    switch (node.kind) {
      case 'all':
      case 'any':
        if (node.children.length === 0) return node.kind === 'all' ? 'true' : 'false';
        return `(${node.children.map(expression).join(node.kind === 'all' ? ' && ' : ' || ')})`;
      case 'not':
        return `!${expression(node.child)}`;
      case 'test':
        return `${call(node.test)}(${call(node.read)}(c))`;
      case 'compare':
        return `${call(node.test)}(${call(node.read)}(c), ${call(node.readValue)}(c))`;
    }
  };
  const body = expression(matcher);
  return generate<Predicate>(`(c) => ${body}`, functions);
}

const ALWAYS: Matcher = { kind: 'all', children: [] };
const NEVER: Matcher = { kind: 'any', children: [] };
const isAlways = (m: Matcher) => m.kind === 'all' && m.children.length === 0;
const isNever = (m: Matcher) => m.kind === 'any' && m.children.length === 0;

/**
 * The matcher as it stands for events of one type: every test of `eventType` against a literal is decided
 * (its answer depends on nothing else) and the tree is simplified around the answers; NEVER (`any: []`) when
 * the matcher cannot accept the type.
 */
function specialize(matcher: Matcher, eventType: string): Matcher {
  switch (matcher.kind) {
    case 'all':
    case 'any': {
      const every = matcher.kind === 'all';
      const children: Matcher[] = [];
      for (const child of matcher.children) {
        const decided = specialize(child, eventType);
        // all: a false child decides, true ones drop out; any: the other way round.
        if (every ? isNever(decided) : isAlways(decided)) return decided;
        if (!(every ? isAlways(decided) : isNever(decided))) children.push(decided);
      }
      if (children.length === 0) return every ? ALWAYS : NEVER;
      return children.length === 1 ? children[0]! : { kind: matcher.kind, children };
    }
    case 'not': {
      const child = specialize(matcher.child, eventType);
      if (isAlways(child)) return NEVER;
      if (isNever(child)) return ALWAYS;
      return { kind: 'not', child };
    }
    case 'test':
      if (matcher.fact !== 'eventType' || matcher.root !== 'envelope') return matcher;
      return matcher.test(eventType) ? ALWAYS : NEVER;
    case 'compare':
      return matcher;
  }
}

/**
 * One predicate per event type the matcher can accept (see specialize): the engine evaluates a condition only
 * for events of those types, without its type checks. Types it cannot accept are absent.
 */
export function predicatesByEventType(
  matcher: Matcher,
  eventTypes: readonly string[],
): ReadonlyMap<string, Predicate> {
  const out = new Map<string, Predicate>();
  for (const eventType of eventTypes) {
    const specialized = specialize(matcher, eventType);
    if (!isNever(specialized)) out.set(eventType, toPredicate(specialized));
  }
  return out;
}
