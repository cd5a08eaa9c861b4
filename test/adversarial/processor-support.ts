/**
 * Runs of the real processor on a seeded simulated stream, with and without a fault injected into a real
 * broker or sink mid-run, and what each run delivered, counted by id: the alerts in the file sink and on the
 * alerts stream, and the response webhooks a local receiver accepted.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { expect, vi } from 'vitest';
import { RESPONSE_ACTIONS } from '../../core/response-actions.ts';
import { ATTACK_NAMES } from '../../simulator/index.ts';
import { generate } from '../../simulator/test-support.ts';
import { ID_HEADER } from '../../sinks/webhook/signature.ts';
import type { OutboundRecord, TransportConfig, TransportKind } from '../../transport/index.ts';
import { collect } from '../../transport/testing/index.ts';
import { type ScriptedHttpServer, ScriptedHttpServer as Server } from '../support/http-server.ts';
import {
  alertOf,
  eventRecords,
  fileSinkAlerts,
  fileSinkEventIds,
  metricValue,
  pipelineFixture,
  processorConfig,
  scrapeMetrics,
  startProcessor,
} from '../support/pipeline.ts';

/**
 * A fleet of 50 agents with every simulated attack, 120 s of its traffic by default (about 10,700 records,
 * 70 alerts, 140 response actions), dated just before now. One seed, one stream: the control and the drill get the
 * same events.
 */
export function simulatedStream(seed: number, durationMs = 120_000): OutboundRecord[] {
  const records = generate(
    { seed, agents: 50, attacks: ATTACK_NAMES, attackIntervalMs: 200 },
    80,
    durationMs,
    Date.now() - durationMs - 60_000,
  );
  return eventRecords(records.map(({ record }) => record));
}

/** What a run can break and mend, with the run's names and paths in hand. */
export interface Fault {
  /** Starts once this many records are published. */
  afterRecords: number;
  durationMs: number;
  start(run: RunContext): Promise<void>;
  end(run: RunContext): Promise<void>;
}

export interface RunContext {
  config: TransportConfig;
  receiver: ScriptedHttpServer;
  /** What the receiver answers now; a fault may swap it. */
  answer: { status: number };
  deadLetterPath: string;
}

export interface RunOutcome {
  /** Alert id → rule id, as the file sink holds them. */
  fileAlerts: Map<string, string>;
  /** Alert ids on the alerts stream. */
  streamAlerts: Set<string>;
  /** `alertId:action` of every webhook the receiver accepted. */
  webhooks: Set<string>;
  metrics: string;
}

export interface RunOptions {
  kind: TransportKind;
  label: string;
  records: readonly OutboundRecord[];
  fault?: Fault;
  processor?: Record<string, unknown>;
  transport?: Record<string, unknown>;
  /** Records per publish and the pause after each: the stream is paced so a fault lands mid-run. */
  chunk?: number;
  pauseMs?: number;
}

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

export async function runPipeline(
  defer: (cleanup: () => unknown) => void,
  options: RunOptions,
): Promise<RunOutcome> {
  const { config, publisher, directory } = await pipelineFixture(
    defer,
    options.kind,
    options.label,
    options.transport ?? {},
  );
  const answer = { status: 204 };
  const webhooks = new Set<string>();
  const receiver = await Server.start((request) => {
    const status = answer.status;
    if (status < 300) webhooks.add(String(request.headers[ID_HEADER]));
    return { status };
  });
  defer(() => receiver.close());
  const settings = processorConfig(config, {
    group: `${options.label}-${randomUUID()}`,
    directory,
    processor: { checkpointIntervalMs: 1_000, ...options.processor },
    sinks: [
      { type: 'file', directory: join(directory, 'sinks') },
      {
        type: 'webhook',
        name: 'respond',
        secret: SECRET,
        vars: { receiver: receiver.url },
        actions: Object.fromEntries(
          RESPONSE_ACTIONS.map((action) => [action, { url: `{receiver}/${action}` }]),
        ),
        circuitBreaker: { failureThreshold: 1_000_000 },
      },
    ],
  });
  // In a folder of its own, so a fault can make it unwritable (even for root) by putting a file there.
  settings.sinks.deadLetter.path = join(directory, 'dead-letters', 'sinks.jsonl');
  const context: RunContext = { config, receiver, answer, deadLetterPath: settings.sinks.deadLetter.path };
  const processor = await startProcessor(settings);
  let stopped = false;
  defer(() => (stopped ? undefined : processor.stop()));

  const producer = publisher.createProducer();
  const { chunk = 250, pauseMs = 0, fault } = options;
  let mended: Promise<void> | undefined;
  for (let start = 0; start < options.records.length; start += chunk) {
    if (fault && !mended && start >= fault.afterRecords) {
      await fault.start(context);
      mended = new Promise((resolve) => setTimeout(resolve, fault.durationMs)).then(() => fault.end(context));
    }
    await producer.publish(options.records.slice(start, start + chunk));
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  await mended;

  // Done once the file sink holds every event and no batch is left unfinished (in a sink's hands, or waiting
  // to be sent to a sink again after a failed delivery).
  const expected = new Set(options.records.flatMap(({ id }) => (id === undefined ? [] : [id]))).size;
  await vi.waitFor(
    async () => {
      const delivered = new Set(await fileSinkEventIds(join(directory, 'sinks')));
      if (delivered.size < expected) throw new Error(`${delivered.size} of ${expected} events delivered`);
      const metrics = await scrapeMetrics(processor.address);
      const pending = metricValue(metrics, 'edr_processor_sink_pending_items');
      if (pending > 0) throw new Error(`${pending} sink items pending`);
      const inFlight = metricValue(metrics, 'edr_processor_in_flight_records');
      if (inFlight > 0) throw new Error(`${inFlight} records not final`);
    },
    { timeout: 90_000, interval: 250 },
  );
  const metrics = await scrapeMetrics(processor.address);
  await processor.stop();
  stopped = true;

  const fileAlerts = new Map(
    (await fileSinkAlerts(join(directory, 'sinks'))).map((alert) => [alert.alertId, alert.ruleId]),
  );
  const streamAlerts = new Set(
    (
      await collect(publisher, 'alerts', {
        until: (messages) =>
          new Set(messages.map((message) => alertOf(message).alertId)).size >= fileAlerts.size,
        timeoutMs: 20_000,
      })
    ).map((message) => alertOf(message).alertId),
  );
  return { fileAlerts, streamAlerts, webhooks, metrics };
}

/** The drill's verdict: the same alerts in every sink and on the stream, and the same webhooks, as the control. */
export function expectSameDelivery(drill: RunOutcome, control: RunOutcome): void {
  expect(control.fileAlerts.size).toBeGreaterThan(0);
  expect(new Set(control.streamAlerts)).toEqual(new Set(control.fileAlerts.keys()));
  expect([...drill.fileAlerts].sort()).toEqual([...control.fileAlerts].sort());
  expect([...drill.streamAlerts].sort()).toEqual([...control.streamAlerts].sort());
  expect([...drill.webhooks].sort()).toEqual([...control.webhooks].sort());
}

/** Batches that failed and were rolled back in a run, from its metrics. */
export function rollbacks(outcome: RunOutcome): {
  failed: number;
  rolledBack: number;
  rollbackFailed: number;
} {
  return {
    failed: metricValue(outcome.metrics, 'edr_processor_batches_total', { result: 'failed' }),
    rolledBack: metricValue(outcome.metrics, 'edr_processor_rollbacks_total', { result: 'ok' }),
    rollbackFailed: metricValue(outcome.metrics, 'edr_processor_rollbacks_total', { result: 'failed' }),
  };
}

/** Records on the events stream that no decoder accepts: they go to the dead-letter stream. */
export function poisonRecords(count: number): OutboundRecord[] {
  return Array.from({ length: count }, (_, index) => ({
    stream: 'events',
    key: `poison-agent:s${index}`,
    token: 'poison-agent',
    value: Buffer.from(`{"eventId": "poison-${index}", "timestamp": "not a time"`),
  }));
}

/** `poison` spread evenly through `records`. */
export function interleave(
  records: readonly OutboundRecord[],
  poison: readonly OutboundRecord[],
): OutboundRecord[] {
  const out: OutboundRecord[] = [];
  const every = Math.ceil(records.length / (poison.length + 1));
  records.forEach((record, index) => {
    if (index > 0 && index % every === 0 && poison[index / every - 1]) out.push(poison[index / every - 1]!);
    out.push(record);
  });
  return out;
}

/** Kafka's default max.message.bytes, what a topic created without overrides has. */
export const KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

/** Sets one config entry of a stream's topic on the broker (a topic-level dynamic config). */
export async function setTopicConfig(
  config: TransportConfig,
  stream: keyof TransportConfig['names'],
  name: string,
  value: string,
): Promise<void> {
  const admin = new kafkajs.Kafka({
    brokers: config.kafka.brokers,
    logLevel: kafkajs.logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: kafkajs.ConfigResourceTypes.TOPIC,
          name: config.names[stream],
          configEntries: [{ name, value }],
        },
      ],
    });
  } finally {
    await admin.disconnect();
  }
}

/** The topic of `stream` refuses every record for the fault's duration: max.message.bytes lowered, restored. */
export function refuseRecords(
  stream: keyof TransportConfig['names'],
  options: { afterRecords: number; durationMs: number; restore?: string },
): Fault {
  return {
    ...options,
    start: ({ config }) => setTopicConfig(config, stream, 'max.message.bytes', '64'),
    end: ({ config }) =>
      setTopicConfig(
        config,
        stream,
        'max.message.bytes',
        options.restore ?? String(KAFKA_DEFAULT_MAX_MESSAGE_BYTES),
      ),
  };
}
