/**
 * Issue 13, drill: SIGKILL Elasticsearch mid-stream and start it again. Before, the sink spent its 6 attempts
 * while the node was down or recovering and dead-lettered what it held (3,351 acknowledged events and 20
 * alerts in a 30k-event run). Now the outage is backpressure: the processor waits, /readyz says why, and once
 * the node is back every acknowledged event and every alert is in Elasticsearch exactly once, nothing in the
 * dead letters. The node is this test's own (test/harness startOwnElasticsearch), never the shared one.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProcessor } from '../../cli/commands/processor.ts';
import type { Processor } from '../../processor/index.ts';
import { createElasticsearchClient, ElasticsearchSinkConfigSchema } from '../../sinks/index.ts';
import { type OwnElasticsearch, startOwnElasticsearch } from '../harness/services.ts';
import { uniqueIndexPrefix } from '../support/elasticsearch.ts';
import {
  capturingLogger,
  eventRecords,
  eventsProcessed,
  metricValue,
  pipelineFixture,
  processorConfig,
  publishInChunks,
  scrapeMetrics,
  useCleanup,
  waitForEventsProcessed,
} from '../support/pipeline.ts';
import { expectedAlerts, referenceScenario } from '../support/scenarios.ts';
import { countsById, notExactlyOnce } from './sinks-support.ts';

interface Readiness {
  ready: boolean;
  sinks: Array<{ name: string; ready: boolean; reason?: string }>;
}

describe('drill: Elasticsearch killed (SIGKILL) mid-stream and restarted', () => {
  const defer = useCleanup();
  let es: OwnElasticsearch;
  let client: Client;

  beforeAll(async () => {
    es = await startOwnElasticsearch();
    client = createElasticsearchClient(
      ElasticsearchSinkConfigSchema.parse({ type: 'elasticsearch', node: es.url }),
    );
  });

  afterAll(async () => {
    await client?.close();
    await es?.stop();
  });

  it('every acknowledged event and every alert lands exactly once; nothing is dead-lettered', {
    timeout: 240_000,
  }, async () => {
    const { config, publisher, directory } = await pipelineFixture(defer, 'kafka', 'drill-es');
    const prefix = uniqueIndexPrefix('drill-es');
    const { log, lines } = capturingLogger('info');
    const processor: Processor = createProcessor(
      processorConfig(config, {
        group: `drill-es-${randomUUID()}`,
        directory,
        processor: { logLevel: 'info', checkpointIntervalMs: 1_000 },
        sinks: [
          {
            type: 'elasticsearch',
            node: es.url,
            indexPrefix: prefix,
            templates: { replicas: 0 },
            requestTimeoutMs: 5_000,
            delivery: {
              batchSize: 250,
              retry: { initialDelayMs: 100, maxDelayMs: 1_000 },
              notReadyAfterMs: 2_000,
              probeIntervalMs: 500,
            },
          },
        ],
      }),
      log,
    );
    await processor.start();
    defer(() => processor.stop());

    const events = referenceScenario({
      runId: randomUUID().slice(0, 8),
      sessionsPerRule: 10,
      startMs: Date.now() - 20 * 60_000,
      benignPerSession: 100,
    });
    const expected = expectedAlerts(events);
    const records = eventRecords(events);
    expect(records.length).toBeGreaterThan(5_000);
    expect(expected.length).toBeGreaterThanOrEqual(40);

    // Paced, so that the node dies with part of the stream processed and part still to come.
    const publishing = publishInChunks(publisher.createProducer(), records, { chunk: 100, pauseMs: 60 });
    await waitForEventsProcessed(processor.address, Math.floor(records.length / 4), 60_000);
    await es.kill();
    const killedAt = await eventsProcessed(processor.address);
    expect(killedAt).toBeLessThan(records.length);

    // While the node is gone: /readyz names the sink, and the stream keeps being acknowledged by Kafka.
    await expect
      .poll(async () => (await fetch(`${processor.address}/readyz`)).status, {
        timeout: 20_000,
        interval: 250,
      })
      .toBe(503);
    const readiness = (await (await fetch(`${processor.address}/readyz`)).json()) as Readiness;
    expect(readiness.sinks).toMatchObject([{ name: 'elasticsearch', ready: false }]);
    expect(readiness.sinks[0]!.reason).toMatch(/failing for \d+ s: ConnectionError/);
    await publishing;

    await es.restart();
    const eventIds = events.map((event) => String(event.eventId));
    await expect
      .poll(
        async () => {
          await client.indices.refresh({ index: `${prefix}-*`, allow_no_indices: true });
          const [stored, alerts] = await Promise.all([
            client.count({ index: `${prefix}-events-*`, allow_no_indices: true }),
            client.count({ index: `${prefix}-alerts-*`, allow_no_indices: true }),
          ]);
          return stored.count + alerts.count;
        },
        { timeout: 120_000, interval: 1_000 },
      )
      .toBe(records.length + expected.length);

    expect(notExactlyOnce(await countsById(client, `${prefix}-events-*`, 'event.id', eventIds))).toEqual([]);
    expect(
      notExactlyOnce(
        await countsById(
          client,
          `${prefix}-alerts-*`,
          'event.id',
          expected.map((alert) => alert.alertId),
        ),
      ),
    ).toEqual([]);
    const deadLetters = await readFile(join(directory, 'sink-dead-letters.jsonl'), 'utf8').catch(() => '');
    expect(deadLetters).toBe('');
    expect(lines.filter((line) => line.msg === 'item dead-lettered')).toEqual([]);
    expect(lines.filter((line) => line.sink === 'elasticsearch').map((line) => line.msg)).toEqual(
      expect.arrayContaining(['sink failing; its items wait and are retried', 'sink recovered']),
    );
    await expect
      .poll(async () => (await fetch(`${processor.address}/readyz`)).status, { timeout: 10_000 })
      .toBe(200);
    // /metrics: the outage was retried, nothing dead-lettered; a bulk cut off by the kill came back as 409s.
    const metrics = await scrapeMetrics(processor.address);
    const sink = { sink: 'elasticsearch' };
    expect(metricValue(metrics, 'edr_sink_retries_total', sink)).toBeGreaterThan(0);
    expect(metricValue(metrics, 'edr_sink_dead_letters_total')).toBe(0);
    expect(
      metricValue(metrics, 'edr_sink_items_written_total', sink) +
        metricValue(metrics, 'edr_sink_items_duplicate_total', sink),
    ).toBe(records.length + expected.length);
    expect(metricValue(metrics, 'edr_sink_ready', sink)).toBe(1);
  });
});
