import { BlockList, isIP } from 'node:net';
import { Engine } from 'json-rules-engine';
import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import { random } from '../../test/engine/prng.ts';
import type { Envelope } from '../model/index.ts';
import type { Condition } from '../rules/schema.ts';
import {
  type ConditionProblem,
  type LowerEnvironment,
  lowerCondition,
  predicatesByEventType,
  toPredicate,
} from './compile.ts';
import type { FactContext } from './facts.ts';
import { DEFAULT_REGEX_LIMITS } from './linear-regex.ts';
import { DECORATOR_NAMES } from './operators.ts';

/**
 * Differential test: random conditions and events, evaluated by the compiled closures and by json-rules-engine
 * (allowUndefinedFacts: true, our custom operators registered on it with straightforward reference
 * implementations). Both must agree on every pair; pairs where json-rules-engine throws are skipped, since
 * there our documented answer is "false" rather than an exception.
 */
const rng = random(20260302);
const ROOTS = ['eventType', 'target', 'agentId', 'data', 'decision', 'metadata'] as const;
const KEYS = ['a', 'b', 'c', 'arr', 'x-y'] as const;
const STRINGS = [
  'alpha',
  'Beta',
  'alp',
  'ALPHA',
  '10.1.2.3',
  '2001:db8::7',
  '/home/a/.ssh/id',
  'x',
  '5',
  '10',
  '',
  // Event types, so eventType tests (decided per type before evaluation) are true as often as false.
  'file_read',
  'custom',
];
const NUMBERS = [0, 1, 2, 5, 10, -1, 1.5];
const STANDARD = [
  'equal',
  'notEqual',
  'in',
  'notIn',
  'contains',
  'doesNotContain',
  'lessThan',
  'lessThanInclusive',
  'greaterThan',
  'greaterThanInclusive',
];
const CUSTOM: Record<string, readonly string[]> = {
  glob: ['**/.ssh/**', 'al*', '/home/**', '*.example'],
  regex: ['^al', '(?i)beta', 'x$', '\\d+'],
  cidr: ['10.0.0.0/8', '2001:db8::/32', '10.1.2.3'],
  startsWithI: ['al', 'BE', '/home'],
  endsWithI: ['HA', 'ta', 'id'],
  containsI: ['LP', 'et', '.ss'],
};
const LIST = ['alpha', 'x', '5'];

function scalar(): unknown {
  const roll = rng.int(10);
  if (roll < 5) return rng.pick(STRINGS);
  if (roll < 8) return rng.pick(NUMBERS);
  if (roll < 9) return rng.chance(0.5);
  return null;
}

function value(depth: number): unknown {
  const roll = rng.int(10);
  if (depth > 0 && roll < 2) return Array.from({ length: rng.int(4) }, () => scalar());
  if (depth > 0 && roll < 4) return object(depth - 1);
  return scalar();
}

function object(depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of KEYS) if (rng.chance(0.6)) out[key] = key === 'arr' ? [scalar(), scalar()] : value(depth);
  return out;
}

const EVENT_TYPES_USED = ['file_read', 'network_egress', 'custom'];

function event(): Record<string, unknown> {
  return {
    eventType: rng.pick(EVENT_TYPES_USED),
    target: rng.pick(STRINGS),
    agentId: rng.pick(['agent-1', 'agent-2']),
    data: object(2),
    decision: object(1),
    metadata: object(1),
  };
}

function path(): string {
  const steps = Array.from({ length: 1 + rng.int(2) }, () => {
    const key = rng.pick(KEYS);
    if (key === 'x-y') return "['x-y']";
    return rng.chance(0.15) ? `.${key}[${rng.int(2)}]` : `.${key}`;
  });
  return `$${steps.join('')}`;
}

function factReference(): { fact: string; path?: string } {
  const root = rng.pick(ROOTS);
  const objectRoot = root === 'data' || root === 'decision' || root === 'metadata';
  if (objectRoot && rng.chance(0.3)) return { fact: `${root}.${rng.pick(['a', 'b', 'c'])}` };
  if (objectRoot && rng.chance(0.6)) return { fact: root, path: path() };
  return { fact: root };
}

function operator(): string {
  const base = rng.chance(0.75) ? rng.pick(STANDARD) : rng.pick([...Object.keys(CUSTOM), 'inList']);
  return rng.chance(0.2) ? `${rng.pick(DECORATOR_NAMES)}:${base}` : base;
}

function literalFor(op: string): unknown {
  const base = op.slice(op.lastIndexOf(':') + 1);
  const needsArray = op.startsWith('someValue:') || op.startsWith('everyValue:');
  const one = (): unknown => {
    if (base === 'inList') return 'names';
    if (CUSTOM[base]) return rng.pick(CUSTOM[base]);
    if (base.startsWith('less') || base.startsWith('greater')) return rng.pick(NUMBERS);
    if (base === 'in' || base === 'notIn') return Array.from({ length: 1 + rng.int(3) }, () => scalar());
    return scalar();
  };
  return needsArray ? Array.from({ length: 1 + rng.int(3) }, one) : one();
}

function leaf(): Condition {
  const op = operator();
  const reference = factReference();
  const base = op.slice(op.lastIndexOf(':') + 1);
  const literalOnly = base in CUSTOM || base === 'inList';
  const value =
    !literalOnly && !op.startsWith('swap:') && rng.chance(0.25) ? factReference() : literalFor(op);
  return { ...reference, operator: op, value };
}

function condition(depth: number): Condition {
  const roll = rng.int(10);
  if (depth === 0 || roll < 4) return leaf();
  const children = () => Array.from({ length: 1 + rng.int(3) }, () => condition(depth - 1));
  if (roll < 7) return { all: children() };
  if (roll < 9) return { any: children() };
  return { not: condition(depth - 1) };
}

const listSet = new Set(LIST);
const env: LowerEnvironment = {
  regexLimits: DEFAULT_REGEX_LIMITS,
  list: (name) =>
    name === 'names'
      ? (fact) => typeof fact === 'string' && listSet.has(fact)
      : `names an unknown list "${name}"`,
  condition: (name) => `unknown condition "${name}"`,
};

const strings = (value: unknown): string[] => (Array.isArray(value) ? value : [value]) as string[];
const regexOf = (pattern: string) =>
  pattern.startsWith('(?i)') ? new RegExp(pattern.slice(4), 'i') : new RegExp(pattern);

function cidrContains(address: string, cidr: string): boolean {
  const [network, prefix] = cidr.split('/') as [string, string | undefined];
  const family = isIP(network) === 6 ? 'ipv6' : 'ipv4';
  if (isIP(address) !== isIP(network)) return false;
  const list = new BlockList();
  list.addSubnet(network, Number(prefix ?? (family === 'ipv6' ? 128 : 32)), family);
  return list.check(address, family);
}

function referenceEngine(): Engine {
  const engine = new Engine([], { allowUndefinedFacts: true });
  const isString = (a: unknown): a is string => typeof a === 'string';
  // picomatch with dot: true is the reference; none of the strings has a `.` or `..` segment, where the
  // glob operator differs from it on purpose (engine/conditions/globs.ts).
  engine.addOperator('glob', (a, b) => isString(a) && picomatch(strings(b), { dot: true })(a));
  engine.addOperator('regex', (a, b) => isString(a) && strings(b).some((p) => regexOf(p).test(a)));
  engine.addOperator(
    'cidr',
    (a, b) => isString(a) && isIP(a) !== 0 && strings(b).some((c) => cidrContains(a, c)),
  );
  const ci = (test: (a: string, b: string) => boolean) => (a: unknown, b: unknown) =>
    isString(a) && strings(b).some((p) => test(a.toLowerCase(), p.toLowerCase()));
  engine.addOperator(
    'startsWithI',
    ci((a, b) => a.startsWith(b)),
  );
  engine.addOperator(
    'endsWithI',
    ci((a, b) => a.endsWith(b)),
  );
  engine.addOperator(
    'containsI',
    ci((a, b) => a.includes(b)),
  );
  engine.addOperator('inList', (a, b) => b === 'names' && isString(a) && LIST.includes(a));
  for (const root of ['data', 'decision', 'metadata']) {
    for (const key of ['a', 'b', 'c']) {
      engine.addFact(`${root}.${key}`, (_params, almanac) => almanac.factValue(root, {}, `$.${key}`));
    }
  }
  return engine;
}

async function reference(engine: Engine, facts: Record<string, unknown>): Promise<boolean | 'threw'> {
  try {
    const { events } = await engine.run(facts);
    return events.length > 0;
  } catch {
    return 'threw';
  }
}

describe('compiled conditions agree with json-rules-engine', () => {
  it('on thousands of random conditions and events', async () => {
    const events = Array.from({ length: 6 }, event);
    let compared = 0;
    let skipped = 0;
    let refused = 0;
    for (let i = 0; i < 2500; i++) {
      const generated = condition(3);
      const root: Condition = 'all' in generated || 'any' in generated ? generated : { all: [generated] };
      const problems: ConditionProblem[] = [];
      const matcher = lowerCondition(root, env, [], problems);
      const predicate = toPredicate(matcher);
      // The engine evaluates the condition specialized to the event's type; absent means "cannot match".
      const specialized = predicatesByEventType(matcher, EVENT_TYPES_USED);
      // Our loader refuses a few combinations json-rules-engine would run (e.g. swap: on a literal-only operator).
      if (problems.length > 0) {
        refused++;
        continue;
      }
      const engine = referenceEngine();
      engine.addRule({ conditions: root as never, event: { type: 'hit' } });
      for (const facts of events) {
        const expected = await reference(engine, facts);
        if (expected === 'threw') {
          skipped++;
          continue;
        }
        const context: FactContext = {
          event: facts as Envelope,
          session: {},
          intel: () => ({}),
          asset: () => ({}),
          sessionKey: () => '',
        };
        const actual = predicate(context);
        const actualSpecialized = specialized.get(facts.eventType as string)?.(context) ?? false;
        if (actual !== expected || actualSpecialized !== expected) {
          throw new Error(
            `disagree on ${JSON.stringify(root)}\nfacts ${JSON.stringify(facts)}\nours ${actual}, specialized ${actualSpecialized}`,
          );
        }
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(10_000);
    expect(skipped).toBeLessThan(compared / 10);
    expect(refused).toBeLessThan(250);
  }, 120_000);
});
