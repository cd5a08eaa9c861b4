import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import {
  alertIdsOf,
  alertOf,
  coversAlerts,
  eventRecords,
  type LogLine,
  pipelineFixture,
  processorConfig,
  publishInChunks,
  spawnProcessor,
  stopChild,
  useCleanup,
  waitForEventsProcessed,
  writeConfigFile,
} from '../../test/support/pipeline.ts';
import { expectedAlerts, referenceScenario } from '../../test/support/scenarios.ts';
import { collect } from '../../transport/testing/index.ts';
import { run } from './processor.ts';

const PARTITIONS = 6;

/** JSON log lines of the command's output (primary and workers write to the same stdout). */
function logLines(output: string): LogLine[] {
  return output.split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line) as LogLine];
    } catch {
      return [];
    }
  });
}

/** Each worker's last assignment of events partitions, by its index (the `worker` field of its logs). */
function assignments(output: string): Map<number, string[]> {
  const byWorker = new Map<number, string[]>();
  for (const line of logLines(output)) {
    if (line.msg === 'partitions assigned' && line.stream === 'events')
      byWorker.set(Number(line.worker), line.partitions as string[]);
  }
  return byWorker;
}

describe('clawdstrike-edr processor with processor.workers = 2 (Kafka, child processes)', () => {
  const defer = useCleanup();

  it('refuses to start workers with a ticket sink, whose state file belongs to one process', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'edr-workers-ticket-'));
    const path = await writeConfigFile(directory, 'processor.yaml', {
      transport: { kind: 'kafka', kafka: { brokers: ['127.0.0.1:1'] } },
      processor: { workers: 2 },
      sinks: {
        sinks: [
          {
            type: 'ticket',
            name: 'issues',
            target: { kind: 'github', owner: 'acme', repo: 'soc', token: 'x' },
            stateFile: join(directory, 'tickets.jsonl'),
          },
        ],
      },
    });
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      expect(await run(['--config', path])).toBe(1);
    } finally {
      spy.mockRestore();
    }
    expect(written.join('')).toContain('processor.workers > 1 cannot run ticket sink "issues"');
  });

  it('runs two members of the group that split the partitions; each alert is produced exactly once', async () => {
    const { config, publisher, directory } = await pipelineFixture(defer, 'kafka', 'workers', {
      kafka: { partitions: PARTITIONS },
    });
    const settings = processorConfig(config, {
      group: `workers-${randomUUID()}`,
      directory,
      processor: { workers: 2, logLevel: 'info' },
    });
    const processor = spawnProcessor(await writeConfigFile(directory, 'processor.yaml', settings));
    defer(() => stopChild(processor));
    await processor.address;

    // Publish only once both workers hold partitions, so no rebalance moves one mid-stream.
    await vi.waitFor(
      () => {
        const members = [...assignments(processor.output()).values()];
        expect(members).toHaveLength(2);
        expect(members.every((partitions) => partitions.length > 0)).toBe(true);
        const all = members.flat();
        expect(all).toHaveLength(PARTITIONS);
        expect(new Set(all).size).toBe(PARTITIONS);
        // Each worker serves its own health and metrics.
        const listening = logLines(processor.output()).filter(
          (line) => line.msg === 'health and metrics listening',
        );
        expect(new Set(listening.map((line) => line.worker))).toEqual(new Set([0, 1]));
        expect(new Set(listening.map((line) => line.address)).size).toBe(2);
      },
      { timeout: 90_000, interval: 200 },
    );

    const events = referenceScenario({
      runId: randomUUID().slice(0, 8),
      sessionsPerRule: 6,
      startMs: Date.now() - 10 * 60_000,
      // Records are keyed by agent: one agent per session spreads them over both workers' partitions.
      agents: 24,
    });
    const expected = expectedAlerts(events);
    await publishInChunks(publisher.createProducer(), eventRecords(events));

    const published = (
      await collect(publisher, 'alerts', {
        until: coversAlerts(expected),
        settleMs: 3_000,
        timeoutMs: 60_000,
      })
    ).map(alertOf);
    expect(new Set(alertIdsOf(published))).toEqual(new Set(alertIdsOf(expected)));
    expect(published, 'no alert published twice').toHaveLength(expected.length);
    // Both workers did real work (24 agents all on one worker's three partitions: a 2^-23 chance).
    const addresses = logLines(processor.output())
      .filter((line) => line.msg === 'health and metrics listening')
      .map((line) => String(line.address));
    for (const address of addresses) await waitForEventsProcessed(address, 1);
    expect(await stopChild(processor)).toBe(0);
  }, 240_000);
});
