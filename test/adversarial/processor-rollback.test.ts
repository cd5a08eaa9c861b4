/**
 * A batch that fails at any point before its commit leaves no trace in the engine: the redelivery yields the
 * alerts and webhooks of a control run on the same events. Each failure is a real refusal: a Kafka topic whose
 * max.message.bytes is lowered (dead letters of poison records, checkpoints), a webhook receiver answering 400
 * while the sink dead-letter file cannot be written (the route's delivery rejects: on Kafka, where sinks run
 * behind the engine, the batch is sent to that route again; elsewhere it fails), a NATS KV bucket refusing puts
 * (a checkpoint after every batch, as for the Kafka state topic).
 * The alerts topic refusing records is the drill in drill-alerts.test.ts.
 */
import { rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TransportConfig } from '../../transport/index.ts';
import { metricValue, useCleanup } from '../support/pipeline.ts';
import {
  expectSameDelivery,
  type Fault,
  interleave,
  poisonRecords,
  type RunOptions,
  type RunOutcome,
  refuseRecords,
  rollbacks,
  runPipeline,
  simulatedStream,
} from './processor-support.ts';

const records = interleave(simulatedStream(2024, 60_000), poisonRecords(40));
const paced = { records, chunk: 200, pauseMs: 100 } as const;
/** A checkpoint after every batch: a checkpoint that cannot be saved then fails the batch that needs it. */
const checkpointEveryBatch = { processor: { rollbackJournalBytes: 1 } };

/** The webhook receiver refuses (a permanent 400) and the dead letters that would keep those cannot be written. */
const deliveryRefused: Fault = {
  afterRecords: 1_000,
  durationMs: 6_000,
  async start({ answer, deadLetterPath }) {
    answer.status = 400;
    await writeFile(dirname(deadLetterPath), 'not a folder');
  },
  async end({ answer, deadLetterPath }) {
    answer.status = 204;
    await rm(dirname(deadLetterPath));
  },
};

async function setKvMaxMessageSize(config: TransportConfig, bytes: number): Promise<void> {
  const nc = await connect({ servers: config.nats.servers });
  try {
    await (await jetstreamManager(nc)).streams.update(`KV_${config.nats.stream}-checkpoints`, {
      max_msg_size: bytes,
    });
  } finally {
    await nc.close();
  }
}

const kvRefusesPuts: Fault = {
  afterRecords: 1_000,
  durationMs: 6_000,
  start: ({ config }) => setKvMaxMessageSize(config, 64),
  end: ({ config }) => setKvMaxMessageSize(config, -1),
};

describe('a batch failing before its commit is redelivered as if it never came (Kafka)', () => {
  const defer = useCleanup();
  let control: RunOutcome;
  beforeAll(async () => {
    control = await runPipeline(defer, { ...paced, kind: 'kafka', label: 'rollback-control' });
  }, 120_000);

  const drills: Array<
    [string, Partial<RunOptions>, 'before detection' | 'after detection' | 'after hand-on']
  > = [
    [
      'the dead-letter stream refuses poison records',
      { fault: refuseRecords('dlq', { afterRecords: 1_000, durationMs: 6_000 }) },
      'before detection',
    ],
    ['sink delivery rejects: dead letters cannot be written', { fault: deliveryRefused }, 'after hand-on'],
    [
      'the state topic refuses checkpoints',
      {
        ...checkpointEveryBatch,
        // The state topic is created with 64 MiB records; that is what comes back.
        fault: refuseRecords('state', {
          afterRecords: 1_000,
          durationMs: 6_000,
          restore: String(64 * 1024 * 1024),
        }),
      },
      'after detection',
    ],
  ];

  it.each(drills)('%s', { timeout: 120_000 }, async (label, options, stage) => {
    const drill = await runPipeline(defer, { ...paced, ...options, kind: 'kafka', label: 'rollback' });
    expectSameDelivery(drill, control);
    const { failed, rolledBack, rollbackFailed } = rollbacks(drill);
    const redelivered = metricValue(drill.metrics, 'edr_processor_sink_redeliveries_total');
    console.log(
      `[processor-rollback] ${label}: ${failed} batches failed, ${rolledBack} rolled back, ` +
        `${redelivered} sent to a sink again`,
    );
    if (stage === 'after hand-on') {
      // Handed to the sinks already: the engine keeps it, the route that rejected gets it again.
      expect(redelivered).toBeGreaterThan(0);
      expect(failed).toBe(0);
      return;
    }
    expect(failed).toBeGreaterThan(0);
    // A batch that failed before the engine ran it had nothing to undo.
    expect(rolledBack).toBe(stage === 'after detection' ? failed : 0);
    expect(rollbackFailed).toBe(0);
  });
});

describe('a batch whose checkpoint cannot be saved is redelivered as if it never came (NATS)', () => {
  const defer = useCleanup();

  it('the KV bucket refuses checkpoints for a while', { timeout: 180_000 }, async () => {
    const control = await runPipeline(defer, { ...paced, kind: 'nats', label: 'rollback-nats-control' });
    // Pipelined on NATS too: as on Kafka, only the checkpoint the journal bound requires fails a batch.
    const drill = await runPipeline(defer, {
      ...paced,
      ...checkpointEveryBatch,
      kind: 'nats',
      label: 'rollback-nats',
      fault: kvRefusesPuts,
    });
    expectSameDelivery(drill, control);
    const { failed, rolledBack, rollbackFailed } = rollbacks(drill);
    console.log(
      `[processor-rollback] NATS checkpoints refused: ${failed} batches failed, ${rolledBack} rolled back`,
    );
    expect(failed).toBeGreaterThan(0);
    expect(rolledBack).toBe(failed);
    expect(rollbackFailed).toBe(0);
  });
});
