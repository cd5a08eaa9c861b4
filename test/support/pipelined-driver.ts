/**
 * The pipelined driver's end-to-end check on the real CLI, for any transport that defers commits: batches are
 * evaluated and written to the other sinks while a webhook receiver holds its requests; nothing is committed
 * past the held batch; a SIGKILL then makes the next processor deliver again exactly the records after the
 * watermark, and nothing before it.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { expect, vi } from 'vitest';
import type { Alert } from '../../engine/index.ts';
import { ID_HEADER } from '../../sinks/webhook/signature.ts';
import { createEndOffsetsReader, type TransportConfig, type TransportKind } from '../../transport/index.ts';
import { silentLogger } from '../../transport/testing/index.ts';
import { ScriptedHttpServer } from './http-server.ts';
import {
  eventRecords,
  eventsProcessed,
  fileSinkAlerts,
  fileSinkEventIds,
  metricValue,
  pipelineFixture,
  processorConfig,
  publishInChunks,
  scrapeMetrics,
  spawnProcessor,
  stopChild,
  writeConfigFile,
} from './pipeline.ts';
import { expectedAlerts, referenceScenario } from './scenarios.ts';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

/** Records of a fresh reference scenario (distinct sessions per label) and the alerts it must raise. */
function scenario(label: string) {
  const events = referenceScenario({
    runId: `${label}${randomUUID().slice(0, 6)}`,
    sessionsPerRule: 3,
    startMs: Date.now() - 10 * 60_000,
    benignPerSession: 10,
  });
  const ids = events.map((event) => String(event.eventId));
  return { records: eventRecords(events), ids, alerts: expectedAlerts(events) };
}

/**
 * Records of the events stream the group has not committed, as the broker tells: Kafka's end offsets minus
 * the committed ones (the topics are this test's alone), JetStream's count of what the durable has not
 * acknowledged.
 */
async function uncommittedRecords(transport: TransportConfig, group: string): Promise<number> {
  const reader = createEndOffsetsReader(transport, silentLogger)!;
  try {
    const positions = await reader.positions('events', group);
    return positions.reduce(
      (sum, { end, committed, unacknowledged }) => sum + (unacknowledged ?? end - (committed ?? 0)),
      0,
    );
  } finally {
    await reader.close();
  }
}

const count = (ids: readonly string[]) => {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
};

const webhookIdsOf = (alerts: readonly Alert[]) =>
  alerts.filter((alert) => alert.actions.includes('alert_soc')).map((alert) => `${alert.alertId}:alert_soc`);

/** `overrides`: transport settings of this broker (shorter session timeout, ack_wait) for a quick restart. */
export async function checkPipelinedDriver(
  defer: (cleanup: () => unknown) => void,
  kind: TransportKind,
  overrides: Record<string, unknown>,
): Promise<void> {
  const {
    config: transport,
    publisher,
    directory,
  } = await pipelineFixture(defer, kind, 'pipeline', overrides);
  // The receiver answers at once, or holds every request until released (those never count as answered:
  // the processor that sent them is killed meanwhile).
  let release: () => void = () => {};
  let held: Promise<void> | undefined;
  const answered: string[] = [];
  const receiver = await ScriptedHttpServer.start(async (request) => {
    const gate = held;
    if (gate) await gate;
    else answered.push(String(request.headers[ID_HEADER]));
    return { status: 204 };
  });
  defer(() => receiver.close());
  const hold = () => {
    held = new Promise((resolve) => {
      release = resolve;
    });
  };
  defer(() => release());

  const group = `pipeline-${randomUUID()}`;
  const sinkDirectory = join(directory, 'sinks');
  const config = processorConfig(transport, {
    group,
    directory,
    processor: { logLevel: 'info', checkpointIntervalMs: 300 },
    sinks: [
      { type: 'file', directory: sinkDirectory },
      {
        type: 'webhook',
        name: 'respond',
        secret: SECRET,
        timeoutMs: 120_000,
        actions: { alert_soc: { url: `${receiver.url}/soc` } },
      },
    ],
  });
  const configPath = await writeConfigFile(directory, 'processor.yaml', config);
  const producer = publisher.createProducer();
  const [before, heldBatch, after] = [scenario('b0'), scenario('b1'), scenario('b2')];
  const total = before.records.length + heldBatch.records.length + after.records.length;
  const uncommitted = () => uncommittedRecords(transport, group);

  const first = spawnProcessor(configPath);
  defer(() => stopChild(first));
  const address = await first.address;

  // Batch 0 goes through every sink and is committed.
  await publishInChunks(producer, before.records);
  await vi.waitFor(
    async () => {
      if ((await eventsProcessed(address)) < before.records.length) throw new Error('batch 0 not processed');
      const left = await uncommitted();
      if (left > 0) throw new Error(`${left} not committed`);
    },
    { timeout: 30_000, interval: 200 },
  );
  const webhooksBefore = receiver.requests.length;
  expect(answered.sort()).toEqual(webhookIdsOf(before.alerts).sort());

  // Batch 1: its webhooks are held. Batch 2 is published once batch 1 was evaluated and a request is held.
  hold();
  await publishInChunks(producer, heldBatch.records);
  await vi.waitFor(
    async () => {
      const processed = await eventsProcessed(address);
      if (processed < before.records.length + heldBatch.records.length) throw new Error(`${processed}`);
      if (receiver.requests.length === webhooksBefore) throw new Error('no webhook request held yet');
    },
    { timeout: 30_000, interval: 100 },
  );
  await publishInChunks(producer, after.records);
  await vi.waitFor(
    async () => {
      const processed = await eventsProcessed(address);
      if (processed < total) throw new Error(`processed ${processed} of ${total}`);
      const written = new Set(await fileSinkEventIds(sinkDirectory));
      const missing = after.ids.filter((id) => !written.has(id)).length;
      if (missing > 0) throw new Error(`${missing} events of batch 2 not in the file sink`);
    },
    { timeout: 30_000, interval: 100 },
  );
  // Batch 2 was evaluated and written while batch 1's webhooks are still held: the pipeline overlaps, and
  // the file sink was not held behind the webhook. Nothing past batch 0 is committed meanwhile.
  const metrics = await scrapeMetrics(address);
  expect(metricValue(metrics, 'edr_sink_pending_items', { sink: 'respond.alert_soc' })).toBeGreaterThan(0);
  expect(metricValue(metrics, 'edr_processor_in_flight_records')).toBeGreaterThan(0);
  await new Promise((resolve) => setTimeout(resolve, 1_500)); // five checkpoint intervals
  expect(await uncommitted()).toBe(total - before.records.length);

  first.child.kill('SIGKILL');
  expect(await first.exited).toBeNull();
  release();
  held = undefined;

  const second = spawnProcessor(configPath);
  defer(() => stopChild(second));
  await second.address;
  const allAlerts = [...before.alerts, ...heldBatch.alerts, ...after.alerts];
  const allWebhooks = webhookIdsOf(allAlerts);
  await vi.waitFor(
    async () => {
      const accepted = new Set(answered);
      const missing = allWebhooks.filter((id) => !accepted.has(id)).length;
      if (missing > 0) throw new Error(`${missing} webhooks missing`);
      if ((await uncommitted()) > 0) throw new Error('not all committed');
    },
    { timeout: 60_000, interval: 250 },
  );
  expect(await stopChild(second), second.output().slice(-2_000)).toBe(0);

  // Counted by id. Batch 0 was final and committed: delivered once. Batches 1 and 2 were after the
  // watermark when the processor died: delivered again by the next one, each exactly twice in the file.
  const fileEvents = count(await fileSinkEventIds(sinkDirectory));
  for (const id of before.ids) expect(fileEvents.get(id), id).toBe(1);
  for (const id of [...heldBatch.ids, ...after.ids]) expect(fileEvents.get(id), id).toBe(2);
  expect(fileEvents.size).toBe(total);
  const webhooks = count(answered);
  // The held requests were never answered; the next processor sent each of them once.
  for (const id of allWebhooks) expect(webhooks.get(id), id).toBe(1);
  expect(webhooks.size).toBe(allWebhooks.length);
  const alertIds = new Set((await fileSinkAlerts(sinkDirectory)).map((alert) => alert.alertId));
  expect(alertIds).toEqual(new Set(allAlerts.map((alert) => alert.alertId)));
  console.info(
    `[pipeline ${kind}] ${total} events (${before.records.length} committed before the hold); ` +
      `${allWebhooks.length} webhooks answered once each, ${receiver.requests.length} requests in all`,
  );
}
