import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { Alert } from '../../engine/index.ts';
import { REPARTITION_SOURCE_HEADER } from '../../processor/processor.ts';
import { collect } from '../../transport/testing/index.ts';
import {
  alertOf,
  countByRule,
  eventRecords,
  fileSinkAlerts,
  metricValue,
  pipelineFixture,
  processorConfig,
  scrapeMetrics,
  startProcessor,
  useCleanup,
} from '../support/pipeline.ts';
import { agentOf, expectedAlerts, type WireEvent } from '../support/scenarios.ts';
import {
  burstsOf,
  DENIALS,
  deniedSession,
  occurrencesById,
  partitionsOf,
  produceWithKafkajs,
  sessionOf,
} from './session-support.ts';

/**
 * Issue 14: a plain kafkajs producer writing PolicyEvents to the events topic without our key, the agentId
 * (or with a key of its own) spreads a session over partitions. The processor re-keys those records into the
 * repartition topic, so the session still meets in one engine; the collector's keyed records stay where they
 * are. Records under the key of an earlier version, `agentId:sessionId` (a backlog during an upgrade), are
 * re-keyed the same way.
 */
describe('records from any Kafka producer correlate (repartition)', () => {
  const defer = useCleanup();

  it('fires DENIAL_BURST once for a session written unkeyed, one with random keys, one under the old key and one keyed by us', async () => {
    const { config, publisher, directory } = await pipelineFixture(defer, 'kafka', 'interop-unkeyed');
    const runId = randomUUID().slice(0, 8);
    const unkeyed = deniedSession(runId, 'unkeyed');
    const randomKeyed = deniedSession(runId, 'random-key');
    const oldKeyed = deniedSession(runId, 'old-key');
    const ours = deniedSession(runId, 'ours');
    const all = [unkeyed, randomKeyed, oldKeyed, ours];
    const sessions = all.map((events) => events[0]!.sessionId as string);
    const expected = expectedAlerts(all.flat());
    // The fixture is sound: the engine alone, in order, bursts once per session.
    for (const sessionId of sessions) expect(burstsOf(expected, sessionId)).toHaveLength(1);

    const processor = await startProcessor(
      processorConfig(config, {
        group: `interop-unkeyed-${runId}`,
        directory,
        processor: { checkpointIntervalMs: 500 },
      }),
    );
    defer(() => processor.stop());

    await produceWithKafkajs(config, unkeyed, () => undefined);
    await produceWithKafkajs(config, randomKeyed, () => randomUUID());
    await produceWithKafkajs(config, oldKeyed, (event) => `${agentOf(event)}:${event.sessionId}`);
    await publisher.createProducer().publish(eventRecords(ours));

    // What landed on the input topic: the foreign sessions really are split over partitions.
    const input = await collect(publisher, 'events', { count: 4 * DENIALS, settleMs: 200 });
    expect(input).toHaveLength(4 * DENIALS);
    expect(partitionsOf(input, sessions[0]!).size).toBeGreaterThan(1);
    expect(partitionsOf(input, sessions[1]!).size).toBeGreaterThan(1);
    expect(partitionsOf(input, sessions[2]!).size).toBe(1);
    expect(partitionsOf(input, sessions[3]!).size).toBe(1);

    const alerts = (
      await collect(publisher, 'alerts', {
        until: (messages) => {
          const landed = messages.map(alertOf);
          return sessions.every((sessionId) => burstsOf(landed, sessionId).length > 0);
        },
        timeoutMs: 45_000,
        settleMs: 2_000,
      })
    ).map(alertOf);
    for (const sessionId of sessions) expect(burstsOf(alerts, sessionId), sessionId).toHaveLength(1);
    // Every alert once, and the same rules as the engine alone gives in input order.
    expect([...occurrencesById(alerts).values()].every((count) => count === 1)).toBe(true);
    expect(countByRule(alerts)).toEqual(countByRule(expected));

    let stored: Alert[] = [];
    await vi.waitFor(
      async () => {
        stored = await fileSinkAlerts(join(directory, 'sinks'));
        if (stored.length < alerts.length)
          throw new Error(`${stored.length} of ${alerts.length} in the sink`);
      },
      { timeout: 15_000, interval: 200 },
    );
    expect(occurrencesById(stored)).toEqual(occurrencesById(alerts));

    // Only the foreign records were re-keyed, each once, under the agent's key, their bytes untouched.
    const rekeyed = await collect(publisher, 'repartition', { count: 3 * DENIALS, settleMs: 500 });
    expect(rekeyed).toHaveLength(3 * DENIALS);
    for (const message of rekeyed) {
      const event = JSON.parse(Buffer.from(message.value).toString('utf8')) as WireEvent;
      expect(message.key).toBe(agentOf(event));
      expect(message.headers[REPARTITION_SOURCE_HEADER]).toMatch(/^.+\/\d+@\d+$/);
    }
    expect(new Set(rekeyed.map(sessionOf))).toEqual(new Set(sessions.slice(0, 3)));
    const metrics = await scrapeMetrics(processor.address);
    const rekeyedBy = (reason: string) =>
      metricValue(metrics, 'edr_processor_rekeyed_records_total', { reason });
    expect(rekeyedBy('missing_key')).toBe(DENIALS);
    expect(rekeyedBy('other_key')).toBe(2 * DENIALS);
    // Each event ran through an engine exactly once: ours in place, the others from the repartition topic.
    expect(metricValue(metrics, 'edr_processor_events_total')).toBe(4 * DENIALS);
  });
});
