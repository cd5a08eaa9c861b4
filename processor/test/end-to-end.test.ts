import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BROKERS, brokerCollectors } from '../../collector/test/brokers.ts';
import { bearer, NDJSON_TYPE, ndjson } from '../../collector/test/support.ts';
import {
  alertIdsOf,
  alertOf,
  countByRule,
  coversAlerts,
  fileSinkAlerts,
  processorConfig,
  removeDir,
  startProcessor,
  tempDir,
  useCleanup,
  waitForEventsProcessed,
} from '../../test/support/pipeline.ts';
import { expectedAlerts, REFERENCE_RULES, referenceScenario } from '../../test/support/scenarios.ts';
import { brokerAddress, collect } from '../../transport/testing/index.ts';

describe.each(BROKERS)('collector → %s → processor → alerts', (kind) => {
  brokerAddress(kind);
  const openCollector = brokerCollectors();
  const defer = useCleanup();

  it('alerts exactly the expected set for the four reference rules, on the alerts stream and in the file sink', async () => {
    const { app, transport, config } = await openCollector(kind);
    const directory = await tempDir('e2e');
    defer(() => removeDir(directory));
    const processor = await startProcessor(
      processorConfig(config, { group: `e2e-${randomUUID()}`, directory }),
    );
    defer(() => processor.stop());

    const events = referenceScenario({
      runId: randomUUID().slice(0, 8),
      sessionsPerRule: 2,
      startMs: Date.now() - 10 * 60_000,
    });
    const expected = expectedAlerts(events);
    for (const rule of REFERENCE_RULES) expect(expected.map((alert) => alert.ruleId)).toContain(rule);

    const response = await app.inject({
      method: 'POST',
      url: '/v1/events',
      payload: ndjson(events),
      headers: { ...bearer(), ...NDJSON_TYPE },
    });
    expect(response.statusCode, response.body).toBe(202);
    expect(response.json()).toMatchObject({ accepted: events.length, rejected: 0 });

    // Everything processed means every batch's sink delivery finished too (commit follows delivery).
    await waitForEventsProcessed(processor.address, events.length);
    const published = (await collect(transport, 'alerts', { until: coversAlerts(expected) })).map(alertOf);
    const written = await fileSinkAlerts(join(directory, 'sinks'));

    const expectedIds = new Set(alertIdsOf(expected));
    expect(new Set(alertIdsOf(published))).toEqual(expectedIds);
    expect(published).toHaveLength(expected.length);
    expect(new Set(alertIdsOf(written))).toEqual(expectedIds);
    expect(countByRule(written)).toEqual(countByRule(expected));
  });
});
