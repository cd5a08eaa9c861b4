import { CidrSet, parseCidr } from '../ip.ts';
import { compileGlobs } from './globs.ts';
import { type LinearRegexLimits, linearRegexAny } from './linear-regex.ts';

/**
 * Operators. The standard ten and the six decorators behave exactly as json-rules-engine 7 defines them
 * (including its type checks: `contains` needs an array fact, the numeric ones a fact that parseFloat reads).
 * Where json-rules-engine would throw (e.g. `in` against a fact-valued right side that is neither an array
 * nor a string) the condition is false instead: one odd event must not stop the stream.
 *
 * Ours, all false for a fact that is not a string:
 * - glob       globs (engine/conditions/globs.ts), linear time like regex: `**\/.ssh/**`
 * - regex      RE2 syntax, matched in linear time (engine/conditions/linear-regex.ts); a leading `(?i)` makes it
 *              case-insensitive; backreferences and lookaround are refused at load
 * - cidr       IPv4/IPv6 networks (`10.0.0.0/8`, `fd00::/8`); a bare address is a host route
 * - startsWithI, endsWithI, containsI   case-insensitive prefix, suffix and substring
 * - inList     the value names a list (rule file `lists:`); matching follows the list's `match`
 * glob, regex, cidr and the three `...I` operators take one string or an array (any of them matches).
 */
export type Unary = (factValue: unknown) => boolean;
export type Binary = (factValue: unknown, value: unknown) => boolean;

export interface OperatorEnvironment {
  /** The matcher of a named list, or why there is none. */
  list(name: string): Unary | string;
  /** Bounds on the patterns of the regex and glob operators. */
  regexLimits: LinearRegexLimits;
}

interface OperatorDefinition {
  /** The comparison for a right side that is itself a fact; absent when the operator needs a literal. */
  compare?: Binary;
  /** Prepares a literal right side once, so nothing is parsed per event; a string says why it is unusable. */
  prepare(value: unknown, env: OperatorEnvironment): Unary | string;
}

/**
 * json-rules-engine's test, `parseFloat(value).toString() !== 'NaN'`; for a number that is `!isNaN(value)`
 * (String(n) always parses back to a number), read without the string round trip.
 */
const isNumeric = (value: unknown): boolean =>
  typeof value === 'number' ? !Number.isNaN(value) : Number.parseFloat(value as string).toString() !== 'NaN';

// json-rules-engine applies JavaScript's relational operators to whatever the fact holds; so do we.
type Relational = (a: number, b: number) => boolean;
function numeric(relation: Relational): OperatorDefinition {
  const compare: Binary = (a, b) => isNumeric(a) && relation(a as number, b as number);
  return {
    compare,
    prepare: (value) => (typeof value === 'number' ? (a) => compare(a, value) : 'expects a number'),
  };
}

function membership(negate: boolean): OperatorDefinition {
  return {
    compare: (a, b) => {
      if (Array.isArray(b)) return b.indexOf(a) > -1 !== negate;
      if (typeof b === 'string') return b.indexOf(String(a)) > -1 !== negate;
      return false;
    },
    prepare: (value) => {
      if (!Array.isArray(value)) return 'expects an array value';
      // A Set gives the same answers as indexOf for JSON values (no NaN) at O(1).
      const set = new Set<unknown>(value);
      return negate ? (a) => !set.has(a) : (a) => set.has(a);
    },
  };
}

function arrayContains(negate: boolean): OperatorDefinition {
  const compare: Binary = (a, b) => Array.isArray(a) && a.indexOf(b) > -1 !== negate;
  return { compare, prepare: (value) => (a) => compare(a, value) };
}

function stringList(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string'))
    return value;
  return undefined;
}

type StringTest = (fact: string, pattern: string) => boolean;
function caseInsensitive(test: StringTest): OperatorDefinition {
  return {
    compare: (a, b) =>
      typeof a === 'string' && typeof b === 'string' && test(a.toLowerCase(), b.toLowerCase()),
    prepare: (value) => {
      const patterns = stringList(value)?.map((pattern) => pattern.toLowerCase());
      if (!patterns) return 'expects a string or an array of strings';
      return (a) => {
        if (typeof a !== 'string') return false;
        const lower = a.toLowerCase();
        for (const pattern of patterns) if (test(lower, pattern)) return true;
        return false;
      };
    },
  };
}

const OPERATORS = {
  equal: { compare: (a, b) => a === b, prepare: (value) => (a) => a === value },
  notEqual: { compare: (a, b) => a !== b, prepare: (value) => (a) => a !== value },
  in: membership(false),
  notIn: membership(true),
  contains: arrayContains(false),
  doesNotContain: arrayContains(true),
  lessThan: numeric((a, b) => a < b),
  lessThanInclusive: numeric((a, b) => a <= b),
  greaterThan: numeric((a, b) => a > b),
  greaterThanInclusive: numeric((a, b) => a >= b),
  glob: {
    prepare: (value, env) => {
      const patterns = stringList(value);
      if (!patterns) return 'expects a glob or an array of globs';
      const isMatch = compileGlobs(patterns, {}, env.regexLimits);
      if (typeof isMatch !== 'function')
        return `${JSON.stringify(patterns[isMatch.index])}: ${isMatch.reason}`;
      return (a) => typeof a === 'string' && isMatch(a);
    },
  },
  regex: {
    prepare: (value, env) => {
      const patterns = stringList(value);
      if (!patterns) return 'expects a pattern or an array of patterns';
      const regex = linearRegexAny(patterns, env.regexLimits);
      if ('reason' in regex) return `${JSON.stringify(patterns[regex.index])}: ${regex.reason}`;
      return (a) => typeof a === 'string' && regex.test(a);
    },
  },
  cidr: {
    prepare: (value) => {
      const networks = stringList(value);
      if (!networks) return 'expects a CIDR or an array of CIDRs';
      const set = new CidrSet();
      for (const text of networks) {
        const cidr = parseCidr(text);
        if (!cidr) return `${JSON.stringify(text)} is not an IPv4 or IPv6 network`;
        set.add(cidr, true);
      }
      return (a) => typeof a === 'string' && set.lookup(a) !== undefined;
    },
  },
  startsWithI: caseInsensitive((fact, pattern) => fact.startsWith(pattern)),
  endsWithI: caseInsensitive((fact, pattern) => fact.endsWith(pattern)),
  containsI: caseInsensitive((fact, pattern) => fact.includes(pattern)),
  inList: {
    prepare: (value, env) => (typeof value === 'string' ? env.list(value) : 'expects the name of a list'),
  },
} satisfies Record<string, OperatorDefinition>;

export type OperatorName = keyof typeof OPERATORS;
export const OPERATOR_NAMES = Object.keys(OPERATORS) as OperatorName[];
/** json-rules-engine's operator decorators, written `decorator:operator` (e.g. `someFact:glob`, `not:in`). */
export const DECORATOR_NAMES = ['someFact', 'everyFact', 'someValue', 'everyValue', 'swap', 'not'] as const;
export type DecoratorName = (typeof DECORATOR_NAMES)[number];
export const OPERATOR_PATTERN = new RegExp(
  `^((${DECORATOR_NAMES.join('|')}):)*(${OPERATOR_NAMES.join('|')})$`,
);

const DEFINITIONS: Readonly<Record<string, OperatorDefinition>> = OPERATORS;

/** The right side of a leaf: a literal known at load time, or another fact read per event. */
export type RightSide = { kind: 'literal'; value: unknown } | { kind: 'fact' };

function isDecorator(name: string): name is DecoratorName {
  return (DECORATOR_NAMES as readonly string[]).includes(name);
}

/** Compiles `operator` (decorators included) against a literal; returns why it cannot be, as a string. */
export function compileUnary(operator: string, value: unknown, env: OperatorEnvironment): Unary | string {
  const colon = operator.indexOf(':');
  if (colon < 0) {
    const definition = DEFINITIONS[operator];
    if (!definition) return `unknown operator ${JSON.stringify(operator)}`;
    const prepared = definition.prepare(value, env);
    return typeof prepared === 'string' ? `${operator} ${prepared}` : prepared;
  }
  const decorator = operator.slice(0, colon);
  const rest = operator.slice(colon + 1);
  if (!isDecorator(decorator)) return `unknown operator decorator ${JSON.stringify(decorator)}`;
  if (decorator === 'swap') {
    const inner = compileBinary(rest);
    return typeof inner === 'string' ? inner : (a) => inner(value, a);
  }
  if (decorator === 'someValue' || decorator === 'everyValue') {
    if (!Array.isArray(value)) return `${decorator} expects an array value`;
    const inners: Unary[] = [];
    for (const item of value) {
      const inner = compileUnary(rest, item, env);
      if (typeof inner === 'string') return inner;
      inners.push(inner);
    }
    return decorator === 'someValue'
      ? (a) => inners.some((inner) => inner(a))
      : (a) => inners.every((inner) => inner(a));
  }
  const inner = compileUnary(rest, value, env);
  if (typeof inner === 'string') return inner;
  switch (decorator) {
    case 'someFact':
      return (a) => Array.isArray(a) && a.some((item) => inner(item));
    case 'everyFact':
      return (a) => Array.isArray(a) && a.every((item) => inner(item));
    case 'not':
      return (a) => !inner(a);
  }
}

/** Compiles `operator` for a right side read per event. */
export function compileBinary(operator: string): Binary | string {
  const colon = operator.indexOf(':');
  if (colon < 0) {
    const definition = DEFINITIONS[operator];
    if (!definition) return `unknown operator ${JSON.stringify(operator)}`;
    return definition.compare ?? `${operator} needs a literal value, not a fact reference`;
  }
  const decorator = operator.slice(0, colon);
  if (!isDecorator(decorator)) return `unknown operator decorator ${JSON.stringify(decorator)}`;
  const inner = compileBinary(operator.slice(colon + 1));
  if (typeof inner === 'string') return inner;
  switch (decorator) {
    case 'someFact':
      return (a, b) => Array.isArray(a) && a.some((item) => inner(item, b));
    case 'everyFact':
      return (a, b) => Array.isArray(a) && a.every((item) => inner(item, b));
    case 'someValue':
      return (a, b) => Array.isArray(b) && b.some((item) => inner(a, item));
    case 'everyValue':
      return (a, b) => Array.isArray(b) && b.every((item) => inner(a, item));
    case 'swap':
      return (a, b) => inner(b, a);
    case 'not':
      return (a, b) => !inner(a, b);
  }
}
