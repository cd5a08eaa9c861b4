import kafkajs from 'kafkajs';
import type { Alert } from '../../engine/index.ts';
import type { Message, TransportConfig } from '../../transport/index.ts';
import type { WireEvent } from '../support/scenarios.ts';

const { Kafka, Partitioners, logLevel } = kafkajs;

/**
 * Helpers for the interop tests of sessions written by other producers: a plain kafkajs producer, as any
 * third party would write PolicyEvents to the input topic, and readers of what landed.
 */

/** Denials per session in these tests: DENIAL_BURST wants 10 within 2 minutes. */
export const DENIALS = 12;

/**
 * DENIALS denied PolicyEvents of session `sess-<name>-<runId>` (agent `agent-<name>-<runId>`), 2 s apart,
 * the first a minute ago.
 */
export function deniedSession(runId: string, name: string): WireEvent[] {
  const sessionId = `sess-${name}-${runId}`;
  const startMs = Date.now() - 60_000;
  return Array.from({ length: DENIALS }, (_, index) => ({
    eventId: `evt-${runId}-${sessionId}-${index}`,
    eventType: 'file_write',
    timestamp: new Date(startMs + index * 2_000).toISOString(),
    sessionId,
    data: { type: 'file', path: `/etc/cron.d/job-${index}`, operation: 'write' },
    decision: { status: 'deny', guard: 'forbidden_path', severity: 'medium' },
    metadata: { source: 'interop', agentId: `agent-${name}-${runId}` },
  }));
}

/**
 * Writes raw PolicyEvents to the events topic with kafkajs' own producer and its default partitioner, one
 * record per event, keyed by `key` (undefined: no key, spread round-robin over the partitions).
 */
export async function produceWithKafkajs(
  config: TransportConfig,
  events: readonly WireEvent[],
  key: (event: WireEvent) => string | undefined,
): Promise<void> {
  const kafka = new Kafka({
    clientId: 'interop-plain-producer',
    brokers: config.kafka.brokers,
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.send({
      topic: config.names.events,
      acks: -1,
      messages: events.map((event) => ({ key: key(event) ?? null, value: JSON.stringify(event) })),
    });
  } finally {
    await producer.disconnect();
  }
}

export function sessionOf(message: Message): string {
  return (JSON.parse(Buffer.from(message.value).toString('utf8')) as { sessionId: string }).sessionId;
}

/** The partitions a session's records landed on. */
export function partitionsOf(messages: readonly Message[], sessionId: string): Set<string> {
  return new Set(messages.filter((message) => sessionOf(message) === sessionId).map((m) => m.partition));
}

/** How many times each alert id occurs. */
export function occurrencesById(alerts: readonly Pick<Alert, 'alertId'>[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { alertId } of alerts) counts.set(alertId, (counts.get(alertId) ?? 0) + 1);
  return counts;
}

export const burstsOf = (alerts: readonly Alert[], sessionId: string): Alert[] =>
  alerts.filter((alert) => alert.ruleId === 'DENIAL_BURST' && alert.sessionId === sessionId);
