import { describe, expect, it } from 'vitest';
import { runBenignThen } from '../support/benign-rules.ts';

/** The starter rules for ATLAS agent techniques (issue 19): rules/agent-configuration.yaml. */
const AGENT_RULES = [
  'AGENT_INSTRUCTIONS_MODIFIED',
  'MCP_SERVER_REGISTERED',
  'AGENT_CREDENTIAL_STORE_READ',
  'AGENT_CONFIG_DISCOVERY',
  'TOOL_CALL_EXFILTRATION_AFTER_SECRET_READ',
];

const LATER = Date.parse('2026-03-02T11:00:00.000Z');
const record = (eventId: string, eventType: string, seconds: number, data: Record<string, unknown>) => ({
  eventId,
  eventType,
  timestamp: new Date(LATER + seconds * 1000).toISOString(),
  sessionId: 'sess-control',
  data,
  metadata: { source: 'cli', agentId: 'agent-control' },
});

describe('agent-configuration rules on the simulator’s benign traffic', () => {
  it('raise no alert on 20 minutes of benign traffic from 12 agents, and do alert on attacks after it', () => {
    const { benign, after, events } = runBenignThen(
      AGENT_RULES,
      { seed: 19, agents: 12, rate: 30, durationMs: 20 * 60_000 },
      [
        record('c1', 'file_write', 0, { type: 'file', path: '/home/dev/src/app/AGENTS.md', content: 'x' }),
        record('c2', 'file_read', 10, { type: 'file', path: '/home/dev/.aws/credentials' }),
        record('c3', 'tool_call', 20, { type: 'tool', toolName: 'mcp__slack__post_message', parameters: {} }),
      ],
    );
    expect(events).toBeGreaterThan(30_000);
    expect(benign.map((alert) => `${alert.ruleId} ${alert.eventIds.join(',')}`)).toEqual([]);
    expect(after.map((alert) => alert.ruleId)).toEqual([
      'AGENT_INSTRUCTIONS_MODIFIED',
      'TOOL_CALL_EXFILTRATION_AFTER_SECRET_READ',
    ]);
  });
});
