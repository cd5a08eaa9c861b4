import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BROKERS } from '../../collector/test/brokers.ts';
import {
  alertIdsOf,
  alertOf,
  coversAlerts,
  eventRecords,
  pipelineFixture,
  processorConfig,
  startProcessor,
  useCleanup,
  waitForEventsProcessed,
} from '../../test/support/pipeline.ts';
import { expectedAlerts, referenceScenario } from '../../test/support/scenarios.ts';
import type { OutboundRecord } from '../../transport/index.ts';
import { collect } from '../../transport/testing/index.ts';
import { DLQ_HEADERS } from '../index.ts';

describe.each(BROKERS)('poison records on %s', (kind) => {
  const defer = useCleanup();

  it('go to the DLQ with their original bytes and error, and the partition keeps moving', async () => {
    const { config, publisher, directory } = await pipelineFixture(defer, kind, 'dlq');
    const processor = await startProcessor(
      processorConfig(config, { group: `dlq-${randomUUID()}`, directory }),
    );
    defer(() => processor.stop());

    const events = referenceScenario({
      runId: randomUUID().slice(0, 8),
      sessionsPerRule: 1,
      startMs: Date.now() - 10 * 60_000,
      benignPerSession: 0,
    }).filter((event) => String(event.sessionId).includes('credential_exfiltration'));
    const expected = expectedAlerts(events);
    const records = eventRecords(events);
    // Same key as the session, so on Kafka the poison sits in the very partition the attack goes through.
    const poison = (value: string): OutboundRecord => ({
      ...records[0]!,
      id: undefined,
      value: Buffer.from(value),
    });
    const notJson = poison('{"eventId": "truncated');
    const notAnEvent = poison(JSON.stringify({ hello: 'world' }));
    await publisher.createProducer().publish([records[0]!, notJson, notAnEvent, ...records.slice(1)]);

    await waitForEventsProcessed(processor.address, records.length);
    const alerts = (await collect(publisher, 'alerts', { until: coversAlerts(expected) })).map(alertOf);
    expect(alertIdsOf(alerts)).toEqual(alertIdsOf(expected));

    const dead = await collect(publisher, 'dlq', { count: 2 });
    expect(dead.map((message) => Buffer.from(message.value).toString())).toEqual([
      Buffer.from(notJson.value).toString(),
      Buffer.from(notAnEvent.value).toString(),
    ]);
    for (const message of dead) {
      const errors = JSON.parse(message.headers[DLQ_HEADERS.error] ?? '[]') as Array<{ message: string }>;
      expect(errors.length, 'each dead letter says why').toBeGreaterThan(0);
    }
    expect(dead[0]!.headers[DLQ_HEADERS.error]).toContain('not UTF-8 JSON');
  });
});
