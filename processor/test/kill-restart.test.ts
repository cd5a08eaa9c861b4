import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { describe, expect, it, vi } from 'vitest';
import type { Alert } from '../../engine/index.ts';
import { createElasticsearchClient, ElasticsearchSinkConfigSchema } from '../../sinks/index.ts';
import { elasticsearchUrl } from '../../test/harness/env.ts';
import { dropIndexPrefix, uniqueIndexPrefix } from '../../test/support/elasticsearch.ts';
import {
  alertIdsOf,
  alertOf,
  countByRule,
  coversAlerts,
  eventRecords,
  eventsProcessed,
  pipelineFixture,
  processorConfig,
  publishInChunks,
  QUICK_REJOIN,
  spawnProcessor,
  stopChild,
  useCleanup,
  writeConfigFile,
} from '../../test/support/pipeline.ts';
import { expectedAlerts, referenceScenario } from '../../test/support/scenarios.ts';
import { collect } from '../../transport/testing/index.ts';

/** Kill once the first processor has handled this many events, while the stream is still being published. */
const KILL_AFTER_EVENTS = 800;

async function elasticsearchAlerts(
  client: Client,
  prefix: string,
): Promise<Array<Pick<Alert, 'alertId' | 'ruleId'>>> {
  const index = `${prefix}-alerts-*`;
  await client.indices.refresh({ index, allow_no_indices: true });
  const response = await client.search<{ rule: { id: string } }>({
    index,
    allow_no_indices: true,
    size: 10_000,
    _source: ['rule.id'],
    query: { match_all: {} },
  });
  return response.hits.hits.map((hit) => ({ alertId: hit._id!, ruleId: hit._source!.rule.id }));
}

/**
 * The real CLI in a child process, SIGKILLed mid-stream and started again on the same group.
 *
 * Guarantee checked: at least once end to end, and no duplicate where a sink can deduplicate. Every
 * expected alert reaches the alerts topic and Elasticsearch; Elasticsearch stores each exactly once
 * (`_id` = alertId, `op_type: create`). The Kafka alerts topic itself may hold a repeat: a kill after a
 * batch's alerts were published but before its offsets were committed makes the next processor handle the
 * batch again and publish the same alerts (same ids) once more; Kafka cannot drop that republish (JetStream
 * would, within its duplicate window). The count is reported below, not asserted.
 */
describe('processor SIGKILLed mid-stream (Kafka, child process)', () => {
  const defer = useCleanup();

  it('delivers every expected alert after a restart, each exactly once in Elasticsearch', async () => {
    const {
      config: transport,
      publisher,
      directory,
    } = await pipelineFixture(defer, 'kafka', 'kill', QUICK_REJOIN);
    const node = elasticsearchUrl();
    const indexPrefix = uniqueIndexPrefix('kill');
    const client = createElasticsearchClient(
      ElasticsearchSinkConfigSchema.parse({ type: 'elasticsearch', node, indexPrefix }),
    );
    defer(() => client.close());
    defer(() => dropIndexPrefix(client, indexPrefix));

    const config = processorConfig(transport, {
      group: `kill-${randomUUID()}`,
      directory,
      processor: { logLevel: 'info' },
      sinks: [
        { type: 'elasticsearch', node, indexPrefix, kinds: ['alert'], templates: { replicas: 0 } },
        { type: 'file', directory: join(directory, 'sinks'), kinds: ['alert'] },
      ],
    });
    const configPath = await writeConfigFile(directory, 'processor.yaml', config);

    const events = referenceScenario({
      runId: randomUUID().slice(0, 8),
      sessionsPerRule: 20,
      startMs: Date.now() - 10 * 60_000,
      benignPerSession: 30,
    });
    const expected = expectedAlerts(events);
    const records = eventRecords(events);

    const first = spawnProcessor(configPath);
    defer(() => stopChild(first));
    const firstAddress = await first.address;
    let published = 0;
    const publishing = publishInChunks(publisher.createProducer(), records, {
      chunk: 200,
      pauseMs: 100,
      onChunk: (count) => {
        published = count;
      },
    });
    let processedAtKill = 0;
    await vi.waitFor(
      async () => {
        processedAtKill = await eventsProcessed(firstAddress);
        if (processedAtKill < KILL_AFTER_EVENTS) throw new Error(`processed ${processedAtKill}`);
      },
      { timeout: 30_000, interval: 25 },
    );
    first.child.kill('SIGKILL');
    const publishedAtKill = published;
    expect(await first.exited).toBeNull();
    expect(processedAtKill, 'killed mid-stream').toBeLessThan(records.length);
    await publishing;

    const second = spawnProcessor(configPath);
    defer(() => stopChild(second));
    await second.address;
    const alertsTopic = (
      await collect(publisher, 'alerts', {
        until: coversAlerts(expected),
        timeoutMs: 45_000,
        settleMs: 1_000,
      })
    ).map(alertOf);
    const expectedIds = new Set(alertIdsOf(expected));
    expect(new Set(alertIdsOf(alertsTopic))).toEqual(expectedIds);

    let stored: Array<Pick<Alert, 'alertId' | 'ruleId'>> = [];
    await vi.waitFor(
      async () => {
        stored = await elasticsearchAlerts(client, indexPrefix);
        if (stored.length < expected.length) throw new Error(`${stored.length} of ${expected.length} in ES`);
      },
      { timeout: 30_000, interval: 250 },
    );
    expect(stored).toHaveLength(expected.length);
    expect(new Set(alertIdsOf(stored as Alert[]))).toEqual(expectedIds);
    expect(countByRule(stored)).toEqual(countByRule(expected));
    expect(await stopChild(second), second.output().slice(-2_000)).toBe(0);

    console.info(
      `[kill-restart] ${records.length} events, killed after ${processedAtKill} processed ` +
        `(${publishedAtKill} published); alerts topic: ${alertsTopic.length} records for ` +
        `${expected.length} alerts (${alertsTopic.length - expectedIds.size} republished duplicates)`,
    );
  });
});
