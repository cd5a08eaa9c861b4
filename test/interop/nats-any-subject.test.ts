import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it, vi } from 'vitest';
import type { Alert } from '../../engine/index.ts';
import { collect } from '../../transport/testing/index.ts';
import {
  alertOf,
  fileSinkAlerts,
  pipelineFixture,
  processorConfig,
  startProcessor,
  useCleanup,
} from '../support/pipeline.ts';
import { burstsOf, deniedSession, occurrencesById } from './session-support.ts';

/**
 * The NATS side of issue 14 item 4: a plain nats.js client publishing PolicyEvents under the events subjects,
 * each on a subject of its own choosing, reaches the one stream the processor reads with one durable, so the
 * session correlates with no repartition step.
 */
describe('records from any NATS publisher correlate', () => {
  const defer = useCleanup();

  it('fires DENIAL_BURST once for a session published on twelve different subjects', async () => {
    const { config, publisher, directory } = await pipelineFixture(defer, 'nats', 'interop-nats-subjects');
    const runId = randomUUID().slice(0, 8);
    const events = deniedSession(runId, 'subjects');
    const sessionId = String(events[0]!.sessionId);
    const processor = await startProcessor(
      processorConfig(config, { group: `interop-nats-${runId}`, directory }),
    );
    defer(() => processor.stop());

    const nc = await connect({ servers: config.nats.servers });
    defer(() => nc.close());
    const js = jetstream(nc);
    for (const [index, event] of events.entries()) {
      await js.publish(`${config.names.events}.other-client-${index}`, JSON.stringify(event));
    }

    const alerts = (
      await collect(publisher, 'alerts', {
        until: (messages) => burstsOf(messages.map(alertOf), sessionId).length > 0,
        timeoutMs: 30_000,
        settleMs: 1_000,
      })
    ).map(alertOf);
    const bursts = burstsOf(alerts, sessionId);
    expect(bursts).toHaveLength(1);
    let stored: Alert[] = [];
    await vi.waitFor(
      async () => {
        stored = burstsOf(await fileSinkAlerts(join(directory, 'sinks')), sessionId);
        if (stored.length === 0) throw new Error('no DENIAL_BURST in the sink yet');
      },
      { timeout: 15_000, interval: 200 },
    );
    expect(occurrencesById(stored)).toEqual(occurrencesById(bursts));
  });
});
