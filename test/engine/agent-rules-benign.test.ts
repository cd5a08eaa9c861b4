import { describe, expect, it } from 'vitest';
import { BUNDLED_RULES } from '../../cli/lib/inputs.ts';
import { type Alert, createEngine, loadRules, parseRecord, selectRules } from '../../engine/index.ts';
import { generate, normalize } from '../../simulator/test-support.ts';

/** The starter rules for ATLAS agent techniques (issue 19): rules/agent-configuration.yaml. */
const AGENT_RULES = [
  'AGENT_INSTRUCTIONS_MODIFIED',
  'MCP_SERVER_REGISTERED',
  'AGENT_CREDENTIAL_STORE_READ',
  'AGENT_CONFIG_DISCOVERY',
  'TOOL_CALL_EXFILTRATION_AFTER_SECRET_READ',
];

/** Runs 20 minutes of benign traffic from 12 agents, then `extra` records, through the agent rules alone. */
function run(extra: readonly Record<string, unknown>[]): { benign: Alert[]; extra: Alert[]; events: number } {
  const loaded = loadRules([BUNDLED_RULES]);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
  const rules = selectRules(loaded.value, new Set(AGENT_RULES));
  expect(rules.rules.map((rule) => rule.id).sort()).toEqual([...AGENT_RULES].sort());
  let now = 0;
  const engine = createEngine({ rules, clock: () => now });
  const events = normalize(generate({ seed: 19, agents: 12, attacks: [] }, 30, 20 * 60_000));
  const benign: Alert[] = [];
  for (const { envelope } of events) {
    now = Date.parse(envelope.timestamp);
    benign.push(...engine.process(envelope));
  }
  const after: Alert[] = [];
  for (const record of extra) {
    const parsed = parseRecord(record);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
    now = Date.parse(parsed.value.timestamp);
    after.push(...engine.process(parsed.value));
  }
  return { benign, extra: after, events: events.length };
}

const LATER = '2026-03-02T11:00:00.000Z';
const record = (eventId: string, eventType: string, seconds: number, data: Record<string, unknown>) => ({
  eventId,
  eventType,
  timestamp: new Date(Date.parse(LATER) + seconds * 1000).toISOString(),
  sessionId: 'sess-control',
  data,
  metadata: { source: 'cli', agentId: 'agent-control' },
});

describe('agent-configuration rules on the simulator’s benign traffic', () => {
  it('raise no alert on 20 minutes of benign traffic from 12 agents, and do alert on attacks after it', () => {
    const { benign, extra, events } = run([
      record('c1', 'file_write', 0, { type: 'file', path: '/home/dev/src/app/AGENTS.md', content: 'x' }),
      record('c2', 'file_read', 10, { type: 'file', path: '/home/dev/.aws/credentials' }),
      record('c3', 'tool_call', 20, {
        type: 'tool',
        toolName: 'mcp__slack__post_message',
        parameters: { text: 'k' },
      }),
    ]);
    expect(events).toBeGreaterThan(30_000);
    expect(benign.map((alert) => `${alert.ruleId} ${alert.eventIds.join(',')}`)).toEqual([]);
    expect(extra.map((alert) => alert.ruleId)).toEqual([
      'AGENT_INSTRUCTIONS_MODIFIED',
      'TOOL_CALL_EXFILTRATION_AFTER_SECRET_READ',
    ]);
  });
});
