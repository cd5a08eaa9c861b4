/**
 * A watched agent floods: hundreds of sessions, each leaving a correlation state, to push other agents'
 * state out of the engine's caps (limits.engine.maxCorrelationStates). Kafka keys records by agent, so the
 * flood fills only its own partition's engine: an agent hashed to another partition keeps its state and
 * alerts, while one sharing the flooder's partition pays with it (docs/security.md, "Partitions"). Keyed by
 * session, the flood's sessions reached every partition and evicted every agent's state.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LimitsConfigSchema } from '../../engine/limits.ts';
import { collect } from '../../transport/testing/index.ts';
import { partitionOfKey } from '../support/partitions.ts';
import {
  alertOf,
  eventRecords,
  metricValue,
  pipelineFixture,
  processorConfig,
  scrapeMetrics,
  startProcessor,
  useCleanup,
  waitForEventsProcessed,
} from '../support/pipeline.ts';
import { expectedAlerts, type WireEvent } from '../support/scenarios.ts';

const PARTITIONS = 6;
const MAX_STATES = 50;
const FLOOD_SESSIONS = 600;
/** RAPID_FILE_ENUMERATION wants more than 100 reads of more than 50 paths within a minute: 60 + 60. */
const HALF = 60;

describe('an agent flooding sessions fills only its own partition (Kafka, 6 partitions)', () => {
  const defer = useCleanup();

  it('leaves an agent on another partition its state and alert; one on the same partition loses it', async () => {
    const { config, publisher, directory } = await pipelineFixture(defer, 'kafka', 'agent-flood', {
      kafka: { partitions: PARTITIONS },
    });
    const run = randomUUID().slice(0, 8);
    const partitionOf = (agentId: string) => partitionOfKey(agentId, PARTITIONS);
    // The flooder chooses its id, so the test chooses too: an agent elsewhere and one beside the flooder.
    const flooder = `agent-flood-${run}`;
    const candidates = Array.from({ length: 64 }, (_, index) => `agent-${index}-${run}`);
    const victim = candidates.find((agentId) => partitionOf(agentId) !== partitionOf(flooder))!;
    const neighbour = candidates.find((agentId) => partitionOf(agentId) === partitionOf(flooder))!;
    expect(neighbour, 'some candidate shares the flooder partition').toBeDefined();

    const startMs = Date.now() - 5 * 60_000;
    let sequence = 0;
    const read = (agentId: string, sessionId: string, path: string, atMs: number): WireEvent => ({
      eventId: `evt-${run}-${sequence++}`,
      eventType: 'file_read',
      timestamp: new Date(atMs).toISOString(),
      sessionId,
      data: { type: 'file', path, operation: 'read' },
      metadata: { source: 'test', agentId },
    });
    const enumeration = (agentId: string, from: number, offsetMs: number) =>
      Array.from({ length: HALF }, (_, index) =>
        read(
          agentId,
          `sess-${agentId}`,
          `/srv/repo/src/file-${from + index}.ts`,
          startMs + offsetMs + index * 250,
        ),
      );
    // One read per flood session: each opens a RAPID_FILE_ENUMERATION state of its own.
    const flood = Array.from({ length: FLOOD_SESSIONS }, (_, index) =>
      read(flooder, `sess-flood-${index}-${run}`, '/srv/repo/README.md', startMs + 20_000 + index * 10),
    );
    const events = [
      ...enumeration(victim, 0, 0),
      ...enumeration(neighbour, 0, 0),
      ...flood,
      ...enumeration(victim, HALF, 30_000),
      ...enumeration(neighbour, HALF, 30_000),
    ];
    // The fixture is sound: without caps each enumerating agent alerts once, and keyed by session the
    // flood would have reached the victim's partition with more states than its engine keeps.
    const burst = (alerts: ReturnType<typeof expectedAlerts>, agentId: string) =>
      alerts.filter((alert) => alert.ruleId === 'RAPID_FILE_ENUMERATION' && alert.agentId === agentId);
    const expected = expectedAlerts(events);
    expect(burst(expected, victim)).toHaveLength(1);
    expect(burst(expected, neighbour)).toHaveLength(1);
    const floodOnVictimPartition = flood.filter(
      (event) => partitionOfKey(`${flooder}:${event.sessionId}`, PARTITIONS) === partitionOf(victim),
    );
    expect(floodOnVictimPartition.length).toBeGreaterThan(MAX_STATES);

    const settings = processorConfig(config, { group: `agent-flood-${run}`, directory });
    settings.limits = LimitsConfigSchema.parse({ engine: { maxCorrelationStates: MAX_STATES } });
    const processor = await startProcessor(settings);
    defer(() => processor.stop());
    await publisher.createProducer().publish(eventRecords(events));
    await waitForEventsProcessed(processor.address, events.length);

    const alerts = (
      await collect(publisher, 'alerts', {
        until: (messages) => burst(messages.map(alertOf), victim).length > 0,
        settleMs: 2_000,
      })
    ).map(alertOf);
    expect(burst(alerts, victim).map((alert) => alert.alertId)).toEqual(
      burst(expected, victim).map((alert) => alert.alertId),
    );
    // The price of sharing a partition with the flooder: its state was pushed out, its burst not seen.
    expect(burst(alerts, neighbour)).toEqual([]);

    const metrics = await scrapeMetrics(processor.address);
    const evictedOn = (agentId: string) =>
      metricValue(metrics, 'edr_processor_state_evictions_total', {
        kind: 'statesCap',
        partition: `${config.names.events}/${partitionOf(agentId)}`,
      });
    expect(evictedOn(victim)).toBe(0);
    expect(evictedOn(flooder)).toBeGreaterThanOrEqual(FLOOD_SESSIONS - MAX_STATES);
  });
});
