import { describe, expect, it } from 'vitest';
import { buildRuleSet, createEngine, formatProblem, parseRecord, type RuleSet } from '../index.ts';

const match = (suggest: unknown[]) => ({
  id: 'SUGGESTS',
  name: 'x',
  severity: 'high',
  type: 'match',
  condition: { fact: 'eventType', operator: 'equal', value: 'file_write' },
  suggest,
});

function problems(rule: unknown): string[] {
  const built = buildRuleSet([{ file: 'rules/x.yaml', content: { rules: [rule] } }]);
  return built.ok ? [] : built.error.map(formatProblem);
}

describe('a rule whose suggestion would break the policy schema is refused at load', () => {
  it.each([
    [
      { guard: 'egress_allowlist', field: 'allow', from: 'data.host' },
      'rules/x.yaml: rule SUGGESTS: $.suggest[0].field: Invalid input: expected "block"',
    ],
    [
      { guard: 'mcp_tool', field: 'block', from: 'tool.name' },
      expect.stringMatching(
        /^rules\/x\.yaml: rule SUGGESTS: \$\.suggest\[0\]\.from: unknown fact "tool\.name"/,
      ),
    ],
    [
      { guard: 'posture', transition: 'quarantine', on: 'timeout' },
      'rules/x.yaml: rule SUGGESTS: $.suggest[0]: the suggested overlay would not be a valid Clawdstrike policy: posture.transitions.0.after: a timeout transition needs `after`',
    ],
    [
      { guard: 'forbidden_path', field: 'patterns', from: 'data.path', glob: 'directory' },
      'rules/x.yaml: rule SUGGESTS: $.suggest[0]: Unrecognized key: "glob"',
    ],
  ])('%j', (suggestion, problem) => {
    expect(problems(match([suggestion]))).toEqual([problem]);
  });

  it('accepts the four kinds', () => {
    const ok = [
      { guard: 'egress_allowlist', field: 'block', from: 'data.host' },
      { guard: 'mcp_tool', field: 'require_confirmation', from: 'data.toolName' },
      { guard: 'forbidden_path', field: 'patterns', from: 'target' },
      { guard: 'posture', transition: 'quarantine' },
    ];
    expect(problems(match(ok))).toEqual([]);
  });
});

describe('an absence alert kept shortened never carries a shortened suggestion', () => {
  const rules = (() => {
    const built = buildRuleSet([
      {
        file: 'rules/x.yaml',
        content: {
          rules: [
            {
              id: 'WRITE_NOT_REVIEWED',
              name: 'x',
              severity: 'high',
              type: 'absence',
              window: '1m',
              condition: { fact: 'eventType', operator: 'equal', value: 'file_write' },
              followedBy: { fact: 'eventType', operator: 'equal', value: 'file_read' },
              summary: 'wrote {data.path}: {data.note}',
              suggest: [{ guard: 'forbidden_path', field: 'patterns', from: 'data.path' }],
            },
          ],
        },
      },
    ]);
    if (!built.ok) throw new Error(JSON.stringify(built.error));
    return built.value;
  })();

  function fire(set: RuleSet, note: string, path = '/srv/app/configuration/settings.local.yaml') {
    let now = Date.parse('2026-03-02T10:00:00.000Z');
    const engine = createEngine({ rules: set, clock: () => now, limits: { maxPendingAlertChars: 1024 } });
    const record = (eventId: string, timestamp: string, eventType: string, data: object) =>
      parseRecord({ eventId, eventType, timestamp, sessionId: 's', data, metadata: { agentId: 'a' } });
    const write = record('w', '2026-03-02T10:00:00.000Z', 'file_write', {
      type: 'file',
      path,
      note,
    });
    const later = record('x', '2026-03-02T10:05:00.000Z', 'network_egress', {
      type: 'network',
      host: 'h.example',
      port: 443,
    });
    if (!write.ok || !later.ok) throw new Error('bad records');
    const alerts = [...engine.process(write.value)];
    now = Date.parse(later.value.timestamp);
    return [...alerts, ...engine.process(later.value)];
  }

  it('short: the suggestion comes with the alert', () => {
    const [alert] = fire(rules, 'fine');
    expect(alert?.response?.policySuggestion.guards?.forbidden_path?.additional_patterns).toEqual([
      '/srv/app/configuration/settings.local.yaml',
    ]);
  });

  it('shortened to fit maxPendingAlertChars, the suggestion untouched: it comes too', () => {
    const [alert] = fire(rules, 'n'.repeat(4000));
    expect(alert!.summary.length).toBeLessThan(1024);
    expect(alert?.response?.policySuggestion.guards?.forbidden_path?.additional_patterns).toHaveLength(1);
  });

  it('shortened into the suggestion: the alert fires without it, never with a cut path', () => {
    const alerts = fire(rules, 'n'.repeat(4000), `/srv/${'deep/'.repeat(60)}file`);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.response).toBeUndefined();
  });
});
