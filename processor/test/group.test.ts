import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import {
  alertIdsOf,
  alertOf,
  capturingLogger,
  coversAlerts,
  eventRecords,
  eventsProcessed,
  type LogLine,
  pipelineFixture,
  processorConfig,
  publishInChunks,
  startProcessor,
  useCleanup,
  waitForEventsProcessed,
} from '../../test/support/pipeline.ts';
import { expectedAlerts, referenceScenario } from '../../test/support/scenarios.ts';
import { collect } from '../../transport/testing/index.ts';
import type { Processor } from '../index.ts';

const PARTITIONS = 6;
/** One agent per session of the scenario (4 rules × 6), so the sessions spread over the partitions. */
const SPREAD_AGENTS = 24;

/** The partitions a processor was last assigned, from its 'partitions assigned' log lines. */
const assignedTo = (lines: readonly LogLine[]): string[] =>
  (lines.findLast((line) => line.msg === 'partitions assigned')?.partitions as string[] | undefined) ?? [];

describe('two processors in one Kafka consumer group', () => {
  const defer = useCleanup();

  it('split the partitions and produce each expected alert exactly once', async () => {
    const { config, publisher, directory } = await pipelineFixture(defer, 'kafka', 'group', {
      kafka: { partitions: PARTITIONS },
    });
    const settings = processorConfig(config, { group: `group-${randomUUID()}`, directory });

    const members = [capturingLogger(), capturingLogger()];
    const processors: Processor[] = [];
    for (const { log } of members) {
      const processor = await startProcessor(settings, log);
      defer(() => processor.stop());
      processors.push(processor);
    }
    // Publish only once the group settled, so no rebalance moves a partition mid-stream.
    await vi.waitFor(
      () => {
        const [first, second] = members.map(({ lines }) => assignedTo(lines));
        expect(first!.length).toBeGreaterThan(0);
        expect(second!.length).toBeGreaterThan(0);
        expect(first!.length + second!.length).toBe(PARTITIONS);
        expect(new Set([...first!, ...second!]).size).toBe(PARTITIONS);
      },
      { timeout: 30_000, interval: 100 },
    );
    const [first, second] = members.map(({ lines }) => assignedTo(lines));
    expect(first!.filter((partition) => second!.includes(partition))).toEqual([]);

    const events = referenceScenario({
      runId: randomUUID().slice(0, 8),
      sessionsPerRule: 6,
      startMs: Date.now() - 10 * 60_000,
      agents: SPREAD_AGENTS,
    });
    const expected = expectedAlerts(events);
    await publishInChunks(publisher.createProducer(), eventRecords(events));

    await vi.waitFor(
      async () => {
        const processed = await Promise.all(
          processors.map((processor) => eventsProcessed(processor.address)),
        );
        expect(processed[0]! + processed[1]!).toBe(events.length);
      },
      { timeout: 30_000, interval: 100 },
    );
    // Both did real work: records are keyed by agent, and 24 agents all on one member's three partitions
    // would be a 2^-23 chance.
    for (const processor of processors) await waitForEventsProcessed(processor.address, 1);
    const published = (
      await collect(publisher, 'alerts', { until: coversAlerts(expected), settleMs: 1_500 })
    ).map(alertOf);
    expect(new Set(alertIdsOf(published))).toEqual(new Set(alertIdsOf(expected)));
    expect(published, 'no alert published twice').toHaveLength(expected.length);
  });
});
