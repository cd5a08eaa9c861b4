/**
 * /readyz tells the truth about what the processor cannot do: a sink route that cannot work (here a folder
 * where its alerts file should be) and a checkpoint that cannot be saved (here the Kafka state topic refusing
 * records) each answer 503 with the reason, and 200 again once mended. Before, /readyz looked only at the
 * broker: a dead sink or a partition that could never checkpoint (so never commit) stayed "ready".
 */

import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createProcessor } from '../../cli/commands/processor.ts';
import { createTransport } from '../../transport/index.ts';
import { isolatedTransportConfig, silentLogger } from '../../transport/testing/index.ts';
import {
  eventRecords,
  metricValue,
  pipelineFixture,
  processorConfig,
  quietLogger,
  removeDir,
  scrapeMetrics,
  startProcessor,
  tempDir,
  useCleanup,
} from '../support/pipeline.ts';
import { referenceScenario } from '../support/scenarios.ts';
import { setTopicConfig } from './processor-support.ts';

interface Readiness {
  ready: boolean;
  broker: boolean;
  sinks: Array<{ name: string; ready: boolean; reason?: string }>;
  checkpoints: Array<{ stage: string; partition?: string; reason: string }>;
}

async function readyz(address: string): Promise<{ status: number; body: Readiness }> {
  const response = await fetch(`${address}/readyz`);
  return { status: response.status, body: (await response.json()) as Readiness };
}

describe('/readyz reflects the sinks and the checkpoints', () => {
  const defer = useCleanup();

  it('is 503 naming the route while a file sink cannot write, 200 once its folder is fixed', async () => {
    const directory = await tempDir('readyz-sink');
    defer(() => removeDir(directory));
    const start = async (label: string) => {
      const sinkDirectory = join(directory, label);
      const transport = createTransport(isolatedTransportConfig('memory'), { logger: silentLogger });
      const config = processorConfig(isolatedTransportConfig('memory'), {
        group: `readyz-${label}`,
        directory,
        sinks: [
          { type: 'file', name: 'files', directory: sinkDirectory, delivery: { probeIntervalMs: 200 } },
        ],
      });
      const processor = createProcessor(config, quietLogger(), transport);
      await processor.start();
      defer(() => processor.stop());
      return processor;
    };

    // Control: a working folder.
    const healthy = await start('healthy');
    expect(await readyz(healthy.address)).toMatchObject({
      status: 200,
      body: { ready: true, broker: true, sinks: [{ name: 'files', ready: true }], checkpoints: [] },
    });

    // A folder where alerts.jsonl should be: the route can never write alerts.
    const sinkDirectory = join(directory, 'broken');
    await mkdir(join(sinkDirectory, 'alerts.jsonl'), { recursive: true });
    const broken = await start('broken');
    const { status, body } = await readyz(broken.address);
    expect(status).toBe(503);
    expect(body.broker).toBe(true);
    expect(body.sinks[0]).toMatchObject({ name: 'files', ready: false });
    expect(body.sinks[0]!.reason).toContain(join(sinkDirectory, 'alerts.jsonl'));

    await rm(join(sinkDirectory, 'alerts.jsonl'), { recursive: true });
    await expect.poll(async () => (await readyz(broken.address)).status, { timeout: 10_000 }).toBe(200);
  });

  it('is 503 while checkpoints cannot be saved (counted), 200 once one is', { timeout: 60_000 }, async () => {
    const { config, publisher, directory } = await pipelineFixture(defer, 'kafka', 'readyz-checkpoint');
    const processor = await startProcessor(
      processorConfig(config, {
        group: `readyz-${randomUUID()}`,
        directory,
        processor: { checkpointIntervalMs: 300 },
      }),
    );
    defer(() => processor.stop());
    const events = () =>
      eventRecords(
        referenceScenario({
          runId: randomUUID().slice(0, 8),
          sessionsPerRule: 2,
          startMs: Date.now() - 60_000,
          benignPerSession: 2,
        }),
      );
    await publisher.createProducer().publish(events());
    await expect.poll(async () => (await readyz(processor.address)).status, { timeout: 20_000 }).toBe(200);

    await setTopicConfig(config, 'state', 'max.message.bytes', '64');
    await publisher.createProducer().publish(events());
    await expect
      .poll(async () => (await readyz(processor.address)).body.checkpoints.length, { timeout: 20_000 })
      .toBeGreaterThan(0);
    const refused = await readyz(processor.address);
    expect(refused.status).toBe(503);
    expect(refused.body.checkpoints[0]).toMatchObject({ stage: 'save' });
    expect(refused.body.checkpoints[0]!.partition).toContain(config.names.events);
    expect(refused.body.checkpoints[0]!.reason).toMatch(/checkpoint not saved/);
    expect(
      metricValue(await scrapeMetrics(processor.address), 'edr_processor_checkpoint_failures_total', {
        stage: 'save',
      }),
    ).toBeGreaterThan(0);

    await setTopicConfig(config, 'state', 'max.message.bytes', String(64 * 1024 * 1024));
    await expect.poll(async () => (await readyz(processor.address)).status, { timeout: 20_000 }).toBe(200);
  });
});
