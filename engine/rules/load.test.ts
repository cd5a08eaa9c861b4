import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildRuleSet, formatProblem, RuleFileSchema } from '../index.ts';

const rule = (overrides: Record<string, unknown>) => ({
  id: 'CREDENTIAL_EXFILTRATION',
  name: 'x',
  severity: 'high',
  type: 'sequence',
  window: '5m',
  steps: [
    { condition: { fact: 'eventType', operator: 'equal', value: 'file_read' } },
    { condition: { all: [{ fact: 'data.host', operator: 'glob', value: '*.x' }] } },
  ],
  ...overrides,
});

function problems(content: unknown): string[] {
  const built = buildRuleSet([{ file: 'rules/x.json', content }]);
  return built.ok ? [] : built.error.map(formatProblem);
}

describe('rule loading errors name the file, the rule and the JSON path', () => {
  it('unknown operator', () => {
    const steps = rule({}).steps;
    steps[1] = { condition: { all: [{ fact: 'data.host', operator: 'globx', value: '*' }] } };
    expect(problems({ rules: [rule({ steps })] })).toEqual([
      'rules/x.json: rule CREDENTIAL_EXFILTRATION: $.steps[1].condition.all[0].operator: unknown operator "globx"',
    ]);
  });

  it.each([
    [{ fact: 'dat.path', operator: 'equal', value: 1 }, '$.condition.fact: unknown fact "dat.path"'],
    [{ fact: 'session.risk', operator: 'equal', value: 1 }, '$.condition.fact: unknown fact "session.risk"'],
    [
      { fact: 'data', path: '$..x', operator: 'equal', value: 1 },
      '$.condition.path: unsupported JSONPath "$..x"',
    ],
    [
      { fact: 'target', operator: 'regex', value: ['ok', '(a)\\1'] },
      '$.condition.value: regex "(a)\\\\1": uses a backreference \\1-\\9, which a linear-time regex engine (RE2) cannot run',
    ],
    [
      { fact: 'target', operator: 'regex', value: 'x(?=y)' },
      '$.condition.value: regex "x(?=y)": uses a lookahead (?= or (?!',
    ],
    [
      { fact: 'target', operator: 'glob', value: ['**/x', '!(a)'] },
      '$.condition.value: glob "!(a)": negated extglobs !(...) need lookahead',
    ],
    [
      { fact: 'target', operator: 'cidr', value: '10.0.0.0/33' },
      '$.condition.value: cidr "10.0.0.0/33" is not an IPv4 or IPv6 network',
    ],
    [
      { fact: 'target', operator: 'inList', value: 'nope' },
      '$.condition.value: inList names an unknown list "nope"',
    ],
    [{ fact: 'target', operator: 'in', value: 'abc' }, '$.condition.value: in expects an array value'],
    [
      { fact: 'target', operator: 'glob', value: { fact: 'agentId' } },
      '$.condition.operator: glob needs a literal value',
    ],
    [{ condition: 'missing' }, '$.condition.condition: unknown condition "missing"'],
    [{ all: [] }, '$.condition.all: must list at least one condition'],
    [{ fact: 'target', operator: 'equal' }, '$.condition.value:'],
  ])('%j', (condition, expected) => {
    const [first] = problems({ rules: [{ id: 'R', name: 'r', severity: 'low', type: 'match', condition }] });
    expect(first).toContain(`rules/x.json: rule R: ${expected}`);
  });

  it('reports schema problems, duplicates and list problems', () => {
    expect(problems({ rules: [rule({ window: '5 minutes' })] })[0]).toBe(
      'rules/x.json: rule CREDENTIAL_EXFILTRATION: $.window: expected a duration like "30s", "5m" or "1h", got "5 minutes"',
    );
    expect(problems({ rules: [rule({}), rule({})] })).toEqual([
      'rules/x.json: rule CREDENTIAL_EXFILTRATION: $.id: duplicate rule id, first defined in rules/x.json',
    ]);
    expect(problems({ lists: { nets: { match: 'cidr', values: ['10.0.0.0/8', 'nope'] } } })).toEqual([
      'rules/x.json: $.lists.nets.values[1]: "nope" is not an IPv4 or IPv6 network',
    ]);
    expect(problems({ conditions: { a: { condition: 'b' }, b: { condition: 'a' } } })[0]).toContain(
      'refers to itself',
    );
  });

  it('exports as JSON Schema', () => {
    const schema = z.toJSONSchema(RuleFileSchema, { io: 'input', unrepresentable: 'any' });
    expect(JSON.stringify(schema)).toContain('"sequence"');
  });
});
