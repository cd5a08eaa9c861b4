import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { describe, expect, it, vi } from 'vitest';
import { createElasticsearchClient, ElasticsearchSinkConfigSchema } from '../../sinks/index.ts';
import { collect } from '../../transport/testing/index.ts';
import { elasticsearchUrl } from '../harness/env.ts';
import { dropIndexPrefix, uniqueIndexPrefix } from '../support/elasticsearch.ts';
import {
  alertOf,
  eventRecords,
  fileSinkAlerts,
  metricValue,
  pipelineFixture,
  processorConfig,
  QUICK_REJOIN,
  scrapeMetrics,
  spawnProcessor,
  stopChild,
  useCleanup,
  waitForEventsProcessed,
  writeConfigFile,
} from '../support/pipeline.ts';
import type { WireEvent } from '../support/scenarios.ts';
import { burstsOf, DENIALS, deniedSession, produceWithKafkajs } from './session-support.ts';

async function storedBursts(client: Client, prefix: string, sessionId: string): Promise<string[]> {
  const index = `${prefix}-alerts-*`;
  await client.indices.refresh({ index, allow_no_indices: true });
  const response = await client.search({
    index,
    allow_no_indices: true,
    size: 100,
    query: {
      bool: { filter: [{ term: { 'rule.id': 'DENIAL_BURST' } }, { term: { 'session.id': sessionId } }] },
    },
  });
  return response.hits.hits.map((hit) => hit._id!);
}

/**
 * The window the repartition step opens: an events record re-keyed and acknowledged by the repartition topic,
 * its events offset not yet committed. SIGKILLed there (no checkpoint ever ran: the interval is longer than
 * the test), the next processor re-keys the same records again; the repartition topic then holds every one
 * twice, and the engine's (agentId, eventId) dedupe must drop the second copies: no second alert.
 */
describe('processor SIGKILLed between re-keying and committing (Kafka, child process)', () => {
  const defer = useCleanup();

  it('re-produces the re-keyed records, drops the copies, and raises the alert once', async () => {
    const { config, publisher, directory } = await pipelineFixture(
      defer,
      'kafka',
      'interop-rekey-kill',
      QUICK_REJOIN,
    );
    const node = elasticsearchUrl();
    const indexPrefix = uniqueIndexPrefix('rekey-kill');
    const client = createElasticsearchClient(
      ElasticsearchSinkConfigSchema.parse({ type: 'elasticsearch', node, indexPrefix }),
    );
    defer(() => client.close());
    defer(() => dropIndexPrefix(client, indexPrefix));
    const runId = randomUUID().slice(0, 8);
    const events = deniedSession(runId, 'kill');
    const sessionId = String(events[0]!.sessionId);
    const configPath = await writeConfigFile(
      directory,
      'processor.yaml',
      processorConfig(config, {
        group: `rekey-kill-${runId}`,
        directory,
        processor: { logLevel: 'info', checkpointIntervalMs: 600_000 },
        sinks: [
          { type: 'elasticsearch', node, indexPrefix, kinds: ['alert'], templates: { replicas: 0 } },
          { type: 'file', directory: join(directory, 'sinks'), kinds: ['alert'] },
        ],
      }),
    );

    const first = spawnProcessor(configPath);
    defer(() => stopChild(first));
    const firstAddress = await first.address;
    // The first batch is checkpointed at once (no checkpoint yet); let that be another session's record, so
    // none runs while the denials are re-keyed.
    const warmUp: WireEvent = {
      ...events[0]!,
      eventId: `evt-${runId}-warm-up`,
      sessionId: `sess-warm-${runId}`,
    };
    delete warmUp.decision;
    await publisher.createProducer().publish(eventRecords([warmUp]));
    await waitForEventsProcessed(firstAddress, 1);
    await produceWithKafkajs(config, events, () => undefined);
    let firstBurst: string[] = [];
    await vi.waitFor(
      async () => {
        firstBurst = await storedBursts(client, indexPrefix, sessionId);
        if (firstBurst.length === 0) throw new Error('no DENIAL_BURST in Elasticsearch yet');
      },
      { timeout: 30_000, interval: 250 },
    );
    const before = await scrapeMetrics(firstAddress);
    expect(metricValue(before, 'edr_processor_rekeyed_records_total', { reason: 'missing_key' })).toBe(
      DENIALS,
    );
    expect(metricValue(before, 'edr_processor_checkpoint_seconds_count'), 'the warm-up checkpoint only').toBe(
      1,
    );
    first.child.kill('SIGKILL');
    expect(await first.exited).toBeNull();

    const second = spawnProcessor(configPath);
    defer(() => stopChild(second));
    const secondAddress = await second.address;
    // Nothing was committed: the events come again and are re-keyed again, so every one is there twice.
    const repartitioned = await collect(publisher, 'repartition', {
      count: 2 * DENIALS,
      timeoutMs: 45_000,
      settleMs: 500,
    });
    expect(repartitioned).toHaveLength(2 * DENIALS);
    await vi.waitFor(
      async () => {
        const processed = metricValue(await scrapeMetrics(secondAddress), 'edr_processor_events_total');
        if (processed < 2 * DENIALS) throw new Error(`processed ${processed} of ${2 * DENIALS}`);
      },
      { timeout: 30_000, interval: 200 },
    );
    const after = await scrapeMetrics(secondAddress);
    expect(metricValue(after, 'edr_processor_rekeyed_records_total', { reason: 'missing_key' })).toBe(
      DENIALS,
    );
    // The second copies were dropped by the repartition engines' (agentId, eventId) dedupe, not evaluated
    // again (the warm-up record, its offset never committed, is dropped likewise by the events engine).
    const droppedOnRepartition = Array.from({ length: config.kafka.partitions }, (_, index) =>
      metricValue(after, 'edr_processor_state_evictions_total', {
        kind: 'duplicatesDropped',
        partition: `${config.names.repartition}/${index}`,
      }),
    );
    expect(droppedOnRepartition.reduce((sum, count) => sum + count)).toBe(DENIALS);
    expect(metricValue(after, 'edr_processor_alerts_total', { rule: 'DENIAL_BURST' })).toBe(1);
    expect(await stopChild(second), second.output().slice(-2_000)).toBe(0);

    // One alert, by id: Elasticsearch holds it once; the alerts topic may hold the first processor's
    // publish again (the documented republish after a kill), never a second id.
    expect(await storedBursts(client, indexPrefix, sessionId)).toEqual(firstBurst);
    const topic = burstsOf(
      (await collect(publisher, 'alerts', { count: 1, settleMs: 1_000 })).map(alertOf),
      sessionId,
    );
    expect(new Set(topic.map((alert) => alert.alertId))).toEqual(new Set(firstBurst));
    const sink = burstsOf(await fileSinkAlerts(join(directory, 'sinks')), sessionId);
    expect(new Set(sink.map((alert) => alert.alertId))).toEqual(new Set(firstBurst));
  });
});
