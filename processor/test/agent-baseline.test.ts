/**
 * Issue 16: a new_terms baseline is per agent, so all of an agent's events must meet in one engine. Kafka
 * runs one engine per partition; with records keyed `agentId:sessionId` an agent's sessions spread over the
 * partitions and each learned its share of the baseline apart (a known host alerted again in another
 * partition, a partition meeting the agent late was still learning). Keyed by agent, the pipeline alerts as
 * the pure engine does over the same events.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { partitionOfKey } from '../../test/support/partitions.ts';
import {
  alertIdsOf,
  alertOf,
  countByRule,
  coversAlerts,
  eventRecords,
  metricValue,
  pipelineFixture,
  processorConfig,
  scrapeMetrics,
  startProcessor,
  useCleanup,
  waitForEventsProcessed,
} from '../../test/support/pipeline.ts';
import { agentOf, expectedAlerts, type WireEvent } from '../../test/support/scenarios.ts';
import { collect } from '../../transport/testing/index.ts';

const PARTITIONS = 6;
/** Sessions per phase: enough that under the session key they would cover most partitions. */
const SESSIONS = 12;
const DAY = 86_400_000;

/**
 * One agent, 4 × SESSIONS + 1 sessions, every egress judged by NEW_EGRESS_HOST (rules/baselines.yaml, 14 days
 * of history and learning):
 * - SESSIONS sessions each 15, 10 and 5 days ago reach registry.npmjs.org: the agent learns, never idle for
 *   the 14 days that would start its learning over;
 * - one session 2 days ago (still learning) reaches api.github.com: a host the agent knows from then on;
 * - SESSIONS sessions now reach api.github.com (known) and then c2.attacker.example (new for the agent once,
 *   in the first of them; known in the rest).
 */
function agentSessions(run: string): WireEvent[] {
  const now = Date.now();
  const agentId = `agent-${run}`;
  let sequence = 0;
  const session = (name: string, atMs: number, hosts: readonly string[]): WireEvent[] =>
    hosts.map((host, index) => ({
      eventId: `evt-${run}-${sequence++}`,
      eventType: 'network_egress',
      timestamp: new Date(atMs + index * 1_000).toISOString(),
      sessionId: `sess-${name}-${run}`,
      data: { type: 'network', host, port: 443 },
      metadata: { source: 'test', agentId },
    }));
  const phase = (name: string, startMs: number, hosts: readonly string[]) =>
    Array.from({ length: SESSIONS }, (_, index) =>
      session(`${name}-${index}`, startMs + index * 10_000, hosts),
    ).flat();
  return [
    ...[15, 10, 5].flatMap((days) => phase(`past-${days}`, now - days * DAY, ['registry.npmjs.org'])),
    ...session('recent', now - 2 * DAY, ['api.github.com']),
    ...phase('now', now - 5 * 60_000, ['api.github.com', 'c2.attacker.example']),
  ];
}

describe('a new_terms baseline of an agent with many sessions (Kafka, 6 partitions)', () => {
  const defer = useCleanup();

  it('alerts exactly as the pure engine does, once for the agent, not once per partition', async () => {
    const { config, publisher, directory } = await pipelineFixture(defer, 'kafka', 'agent-baseline', {
      kafka: { partitions: PARTITIONS },
    });
    const run = randomUUID().slice(0, 8);
    const events = agentSessions(run);
    const expected = expectedAlerts(events);
    // The fixture is sound: the engine alone raises one NEW_EGRESS_HOST, on the first new host, and under
    // the session key these sessions would have spread over most of the partitions.
    const newHosts = expected.filter((alert) => alert.ruleId === 'NEW_EGRESS_HOST');
    expect(newHosts.map((alert) => alert.eventIds)).toEqual([
      [events.find((event) => (event.data as { host: string }).host === 'c2.attacker.example')!.eventId],
    ]);
    const underSessionKey = new Set(
      events.map((event) => partitionOfKey(`${agentOf(event)}:${event.sessionId}`, PARTITIONS)),
    );
    expect(underSessionKey.size).toBeGreaterThanOrEqual(3);

    const processor = await startProcessor(
      processorConfig(config, { group: `agent-baseline-${run}`, directory }),
    );
    defer(() => processor.stop());
    await publisher.createProducer().publish(eventRecords(events));
    await waitForEventsProcessed(processor.address, events.length);

    const alerts = (
      await collect(publisher, 'alerts', { until: coversAlerts(expected), settleMs: 2_000 })
    ).map(alertOf);
    expect(countByRule(alerts)).toEqual(countByRule(expected));
    expect(new Set(alertIdsOf(alerts))).toEqual(new Set(alertIdsOf(expected)));
    expect(alerts, 'no alert twice').toHaveLength(expected.length);

    // Every record of the agent is on one partition, where the engine met it: nothing was re-keyed.
    const input = await collect(publisher, 'events', { count: events.length, settleMs: 200 });
    expect(input).toHaveLength(events.length);
    expect(new Set(input.map((message) => message.partition)).size).toBe(1);
    const metrics = await scrapeMetrics(processor.address);
    expect(metricValue(metrics, 'edr_processor_rekeyed_records_total')).toBe(0);
  });
});
