import { describe, expect, it } from 'vitest';
import { START } from '../../simulator/test-support.ts';
import { runBenignThen } from '../support/benign-rules.ts';

/** The new_terms starter rules (rules/baselines.yaml). */
const BASELINE_RULES = ['NEW_EGRESS_HOST', 'NEW_MCP_TOOL', 'NEW_SECRET_ACCESS', 'NEW_EXECUTABLE'];
const DAY = 86_400_000;

/** Benign traffic with seed 16, then `extra` records, through the baseline rules alone. */
const run = (
  agents: number,
  rate: number,
  durationMs: number,
  extra: readonly Record<string, unknown>[] = [],
) => runBenignThen(BASELINE_RULES, { seed: 16, agents, rate, durationMs }, extra);

describe('baseline (new_terms) rules on the simulator’s benign traffic', () => {
  it('raise no alert on 20 minutes of benign traffic from 12 agents: every agent is still learning', () => {
    const { benign, events } = run(12, 30, 20 * 60_000);
    expect(events).toBeGreaterThan(30_000);
    expect(benign.map((alert) => `${alert.ruleId} ${alert.summary}`)).toEqual([]);
  });

  it('after 14 days of learning, raise a benign alert for at most 1 event in 5,000, and catch new behaviour', () => {
    // 16 days of 6 agents at one record every 30 s: each agent's routine hosts, tools, secrets and commands
    // are learned in the first 14 days; the simulator's rarest vocabulary (a package mirror, a tool called once
    // a fortnight) may still turn up for the first time, and that is what the rules are for.
    const agent = 'agent-0001';
    const at = (offsetMs: number) => new Date(START + 16 * DAY + offsetMs).toISOString();
    const planted = (
      eventId: string,
      eventType: string,
      offsetMs: number,
      data: Record<string, unknown>,
    ) => ({
      eventId,
      eventType,
      timestamp: at(offsetMs),
      sessionId: 'sess-planted',
      data,
      metadata: { source: 'cli', agentId: agent },
    });
    const { benign, after, events } = run(6, 1 / 30, 16 * DAY, [
      planted('p1', 'network_egress', 0, { type: 'network', host: 'c2.attacker.example', port: 443 }),
      planted('p2', 'command_exec', 1_000, {
        type: 'command',
        command: '/tmp/.x/miner',
        args: ['-o', 'pool'],
      }),
      planted('p3', 'secret_access', 2_000, {
        type: 'secret',
        secretName: 'prod/root-ca-key',
        scope: 'prod',
      }),
      planted('p4', 'tool_call', 3_000, { type: 'tool', toolName: 'mcp__evil__exfiltrate', parameters: {} }),
    ]);
    expect(events).toBeGreaterThan(40_000);
    for (const alert of benign) expect(Date.parse(alert.timestamp)).toBeGreaterThanOrEqual(START + 14 * DAY);
    console.log(
      `[baseline-rules] ${benign.length} benign alerts in ${events} events after 14 days of learning`,
    );
    expect(benign.length).toBeLessThanOrEqual(events / 5_000);
    expect(after.map((alert) => alert.ruleId)).toEqual([
      'NEW_EGRESS_HOST',
      'NEW_EXECUTABLE',
      'NEW_SECRET_ACCESS',
      'NEW_MCP_TOOL',
    ]);
  });
});
