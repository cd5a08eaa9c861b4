import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { caseAlerts, type RuleCase, RuleCaseSchema } from '../../cli/lib/rule-cases.ts';
import {
  type Alert,
  type ClawdstrikePolicy,
  ClawdstrikePolicySchema,
  type Envelope,
  loadRules,
  parseRecord,
  type RuleSet,
  readStructured,
  selectRules,
} from '../../engine/index.ts';
import {
  deepMerge,
  egressDecision,
  forbiddenPathDecision,
  mcpToolDecision,
  postureDecision,
} from '../support/clawdstrike-policy.ts';

/**
 * A suggestion is worth something only if applying it stops what fired the alert. Each starter rule's
 * suggesting case runs through the engine; its overlay is merged (deep_merge, as upstream) onto upstream's
 * default ruleset, committed with its source in testdata/; the merged policy must still be a valid policy,
 * keep every entry of the base, and deny the event that completed the alert.
 */
const root = join(import.meta.dirname, '..', '..');
const upstreamDefault = ClawdstrikePolicySchema.parse(
  parse(readFileSync(join(import.meta.dirname, 'testdata', 'clawdstrike-default.yaml'), 'utf8')),
);

let rules: RuleSet;
beforeAll(() => {
  const loaded = loadRules([join(root, 'rules')]);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
  rules = loaded.value;
});

function runFixture(ruleId: string, name: string): { alerts: Alert[]; events: Map<string, Envelope> } {
  const content = readStructured(join(root, 'fixtures', 'rules', ruleId, `${name}.yaml`));
  if (!content.ok) throw new Error(content.error.message);
  const ruleCase: RuleCase = RuleCaseSchema.parse(content.value);
  const { alerts, failures } = caseAlerts(ruleCase, selectRules(rules, new Set([ruleId])));
  expect(failures).toEqual([]);
  const events = new Map<string, Envelope>();
  for (const raw of ruleCase.events) {
    const parsed = parseRecord(raw);
    if (parsed.ok) events.set(parsed.value.eventId, parsed.value);
  }
  return { alerts, events };
}

/** The alert's overlay over `base`, checked to be a valid policy, and the event that completed the alert. */
function applied(alert: Alert, events: Map<string, Envelope>, base: ClawdstrikePolicy) {
  const overlay = alert.response?.policySuggestion;
  if (!overlay) throw new Error(`alert ${alert.ruleId} [${alert.eventIds.join(', ')}] suggests nothing`);
  const merged = ClawdstrikePolicySchema.parse(deepMerge(base, overlay));
  return { merged, event: events.get(alert.eventIds.at(-1)!)! };
}

describe('suggestions merged onto upstream rulesets/default.yaml', () => {
  it('the upstream default ruleset passes our strict schema, also as the exported JSON Schema (ajv strict)', () => {
    expect(upstreamDefault.name).toBe('Default');
    const schema = JSON.parse(readFileSync(join(root, 'schemas', 'clawdstrike-policy.schema.json'), 'utf8'));
    const validate = new Ajv2020({ strict: true }).compile(schema);
    expect(validate(upstreamDefault)).toBe(true);
    const misspelt = { ...upstreamDefault, guards: { egress_allowlist: { additional_blok: ['x.example'] } } };
    expect(validate(misspelt)).toBe(false);
    expect(ClawdstrikePolicySchema.safeParse(misspelt).success).toBe(false);
  });

  it('CREDENTIAL_EXFILTRATION: the host the base allowed is blocked, every base entry kept', () => {
    const { alerts, events } = runFixture('CREDENTIAL_EXFILTRATION', 'positive-exfiltration-to-allowed-host');
    expect(alerts).toHaveLength(1);
    const { merged, event } = applied(alerts[0]!, events, upstreamDefault);
    const host = String(event.data.host);
    expect(egressDecision(upstreamDefault, host)).toBe('allow');
    expect(egressDecision(merged, host)).toBe('deny');
    // The overlay adds to the lists; the neighbours the base allows stay allowed.
    expect(egressDecision(merged, 'objects.githubusercontent.com')).toBe('allow');
    expect(merged.guards?.egress_allowlist?.allow).toEqual(upstreamDefault.guards?.egress_allowlist?.allow);
  });

  it('FORBIDDEN_SYSTEM_PATH_WRITE: the written paths are forbidden, their siblings are not (escaped globs)', () => {
    const { alerts, events } = runFixture(
      'FORBIDDEN_SYSTEM_PATH_WRITE',
      'positive-suggests-forbidden-pattern',
    );
    expect(alerts).toHaveLength(2);
    for (const alert of alerts) {
      const { merged, event } = applied(alert, events, upstreamDefault);
      const path = event.target.replace('/etc/cron.d/../', '/etc/');
      expect(forbiddenPathDecision(upstreamDefault, path), path).toBe('allow');
      expect(forbiddenPathDecision(merged, path), path).toBe('deny');
      expect(merged.guards?.forbidden_path?.patterns).toEqual(
        expect.arrayContaining(upstreamDefault.guards?.forbidden_path?.patterns ?? []),
      );
    }
    const { merged } = applied(alerts[0]!, events, upstreamDefault);
    expect(forbiddenPathDecision(merged, '/etc/cron.d/agent-1x')).toBe('allow');
    expect(forbiddenPathDecision(merged, '/etc/cron.d/agent-[1]-other')).toBe('allow');
  });

  it('MCP_CODE_EXECUTION_TOOL: the tools are blocked, also where the base allows by default', () => {
    const { alerts, events } = runFixture('MCP_CODE_EXECUTION_TOOL', 'positive-suggests-tool-block');
    const permissive = ClawdstrikePolicySchema.parse({
      ...upstreamDefault,
      guards: {
        ...upstreamDefault.guards,
        mcp_tool: { ...upstreamDefault.guards?.mcp_tool, default_action: 'allow' },
      },
    });
    const suggesting = alerts.filter((alert) => alert.response);
    expect(suggesting).toHaveLength(2);
    for (const base of [upstreamDefault, permissive]) {
      for (const alert of suggesting) {
        const { merged, event } = applied(alert, events, base);
        const tool = String(event.data.toolName);
        expect(mcpToolDecision(merged, tool), tool).toBe('deny');
        if (base === permissive) expect(mcpToolDecision(base, tool), tool).toBe('allow');
        expect(merged.guards?.mcp_tool?.block).toEqual(expect.arrayContaining(['shell_exec', 'run_command']));
        expect(merged.guards?.mcp_tool?.require_confirmation).toEqual([
          'file_write',
          'file_delete',
          'git_push',
        ]);
      }
    }
  });

  it('REVERSE_SHELL_COMMAND: the merged policy (now 1.2.0) starts sessions quarantined, without shell', () => {
    const { alerts, events } = runFixture('REVERSE_SHELL_COMMAND', 'positive-suggests-quarantine');
    const { merged } = applied(alerts[0]!, events, upstreamDefault);
    expect(merged.version).toBe('1.2.0');
    expect(postureDecision(upstreamDefault, 'shell')).toBe('allow');
    expect(postureDecision(merged, 'shell')).toBe('deny');
    // A base that has a posture keeps its states; the quarantine state joins them.
    const withPosture = ClawdstrikePolicySchema.parse({
      ...upstreamDefault,
      version: '1.2.0',
      posture: {
        initial: 'work',
        states: { work: { capabilities: ['shell', 'egress'] } },
        transitions: [{ from: 'work', to: 'work', on: 'user_approval' }],
      },
    });
    const overPosture = applied(alerts[0]!, events, withPosture).merged;
    expect(Object.keys(overPosture.posture?.states ?? {})).toEqual(['work', 'quarantine']);
    expect(postureDecision(overPosture, 'shell')).toBe('deny');
  });
});
