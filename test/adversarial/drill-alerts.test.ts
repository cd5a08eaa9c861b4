/**
 * Drill (real Kafka): the broker refuses alert records for a while during a run (the alerts topic's
 * max.message.bytes lowered with the admin client, then restored). The alerts stream is one of a handed-on
 * batch's destinations: a refused publish is sent again with backoff, the engine keeps the batch, and its
 * position waits, so every alert of the control run on the same events reaches the alerts stream, the file
 * sink and the response webhooks. (When a refused publish failed its batch, before the rollback existed, the
 * redelivered events were duplicates to the engine: 33 of 83 alerts were lost.)
 */
import { describe, expect, it } from 'vitest';
import { metricValue, useCleanup } from '../support/pipeline.ts';
import {
  expectSameDelivery,
  refuseRecords,
  rollbacks,
  runPipeline,
  simulatedStream,
} from './processor-support.ts';

describe('drill: the alerts topic refuses records mid-run (Kafka)', () => {
  const defer = useCleanup();

  it('delivers every alert and webhook of the control run to every sink, counted by id', {
    timeout: 240_000,
  }, async () => {
    const records = simulatedStream(1313);
    const paced = { kind: 'kafka', records, chunk: 250, pauseMs: 150 } as const;
    const control = await runPipeline(defer, { ...paced, label: 'drill-control' });
    const drill = await runPipeline(defer, {
      ...paced,
      label: 'drill-refused',
      fault: refuseRecords('alerts', { afterRecords: 2_000, durationMs: 8_000 }),
    });

    expect(control.fileAlerts.size).toBeGreaterThanOrEqual(60);
    expect(control.webhooks.size).toBeGreaterThanOrEqual(100);
    const { failed } = rollbacks(drill);
    const republished = metricValue(drill.metrics, 'edr_processor_sink_redeliveries_total', {
      sink: 'alerts stream',
    });
    console.log(
      `[drill-alerts] control ${control.fileAlerts.size} alerts, ${control.webhooks.size} webhooks; ` +
        `refused ${drill.fileAlerts.size} alerts, ${drill.webhooks.size} webhooks; ${republished} alert publishes sent again, ${failed} batches failed`,
    );
    expectSameDelivery(drill, control);
    // The refusal did hit batches with alerts; each was published again, and none failed.
    expect(republished).toBeGreaterThan(0);
    expect(failed).toBe(0);
    expect(rollbacks(control).failed).toBe(0);
  });
});
