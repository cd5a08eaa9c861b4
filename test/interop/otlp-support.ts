import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs';
import { expect } from 'vitest';
import { OtlpMessages } from '../../collector/routes/otlp/index.ts';
import { BROKERS, brokerCollectors, envelopeOf } from '../../collector/test/brokers.ts';
import { KEYS, samples } from '../../collector/test/support.ts';
import type { Message, Transport } from '../../transport/index.ts';
import { brokerAddress, collect } from '../../transport/testing/index.ts';

export { KEYS, samples };

const [KAFKA] = BROKERS;

/** A collector listening on a port of its own and publishing to its own Kafka topics. */
export interface OtlpCollector {
  /** Where an OTLP/HTTP exporter sends logs. */
  logsUrl: string;
  inject: Awaited<ReturnType<ReturnType<typeof brokerCollectors>>>['app']['inject'];
  transport: Transport;
}

/** Opens collectors on the real Kafka transport; closed, and their topics deleted, after the file. */
export function kafkaCollectors(): (
  overrides?: Parameters<ReturnType<typeof brokerCollectors>>[1],
) => Promise<OtlpCollector> {
  brokerAddress(KAFKA);
  const open = brokerCollectors();
  return async (overrides) => {
    const { app, transport } = await open(KAFKA, overrides);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    return { logsUrl: `http://127.0.0.1:${port}/v1/logs`, inject: app.inject.bind(app), transport };
  };
}

/**
 * How many times each event id landed on `events`, among the ids starting with `prefix`, once every one of
 * `expected` is there (then a little longer, so that a duplicate or a stray record would show).
 */
export async function landed(
  transport: Transport,
  prefix: string,
  expected: readonly string[],
): Promise<Map<string, number>> {
  const ours = (messages: readonly Message[]) =>
    messages.map((message) => envelopeOf(message).eventId).filter((id) => id.startsWith(prefix));
  const messages = await collect(transport, 'events', {
    until: (so) => {
      const ids = new Set(ours(so));
      return expected.every((id) => ids.has(id));
    },
    settleMs: 1_000,
  });
  const counts = new Map<string, number>();
  for (const id of ours(messages)) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

/** Every id exactly once, and nothing else. */
export function expectOnceEach(counts: Map<string, number>, ids: readonly string[]): void {
  expect(Object.fromEntries(counts)).toEqual(Object.fromEntries(ids.map((id) => [id, 1])));
}

export const PROTOBUF = 'application/x-protobuf';

/** POST /v1/logs with the ingest key. */
export const postLogs = (
  collector: OtlpCollector,
  payload: Buffer | string,
  headers: Record<string, string>,
) =>
  collector.inject({
    method: 'POST',
    url: '/v1/logs',
    payload,
    headers: { authorization: `Bearer ${KEYS.ingest}`, ...headers },
  });

/** A protobuf reply decoded as `type`, 64-bit integers as numbers, defaults left out. */
export const decoded = (type: protobuf.Type, body: Buffer) =>
  type.toObject(type.decode(body), { longs: Number, defaults: false });

/**
 * The OTLP messages with their embedded messages as bytes (the same wire format): a test builds a body no
 * sender would, level by level, without recursing through it.
 */
const shells = protobuf.Root.fromJSON({
  nested: {
    Request: { fields: { resourceLogs: { rule: 'repeated', type: 'bytes', id: 1 } } },
    ResourceLogs: { fields: { scopeLogs: { rule: 'repeated', type: 'bytes', id: 2 } } },
    ScopeLogs: { fields: { logRecords: { rule: 'repeated', type: 'bytes', id: 2 } } },
    LogRecord: {
      fields: {
        body: { type: 'bytes', id: 5 },
        attributes: { rule: 'repeated', type: 'bytes', id: 6 },
      },
    },
    AnyValue: { fields: { kvlistValue: { type: 'bytes', id: 6 } } },
    KeyValueList: { fields: { values: { rule: 'repeated', type: 'bytes', id: 1 } } },
    KeyValue: { fields: { key: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
  },
});
export const shell = (name: string, value: Record<string, unknown>): Uint8Array => {
  const type = shells.lookupType(name);
  return type.encode(type.fromObject(value)).finish();
};

/** One request of one resource and one scope holding these encoded log records. */
export const request = (...records: Uint8Array[]): Buffer =>
  Buffer.from(
    shell('Request', {
      resourceLogs: [shell('ResourceLogs', { scopeLogs: [shell('ScopeLogs', { logRecords: records })] })],
    }),
  );

/** A log record with a PolicyEvent as its body (JSON text), encoded by the collector's own types. */
export const policyRecord = (id: string): Uint8Array =>
  OtlpMessages.LogRecord.encode(
    OtlpMessages.LogRecord.fromObject({
      body: { stringValue: JSON.stringify(samples.policyEvent(id, 'agent-proto')) },
    }),
  ).finish();

/** A log record whose body is a map in a map … `levels` deep (three messages a level). */
export function deepRecord(levels: number): Uint8Array {
  let value = shell('AnyValue', {});
  for (let level = 0; level < levels; level++) {
    const pair = shell('KeyValue', { key: 'k', value });
    value = shell('AnyValue', { kvlistValue: shell('KeyValueList', { values: [pair] }) });
  }
  return shell('LogRecord', { body: value });
}

/** `unit` repeated to about `bytes`: repeated fields of a message concatenate. */
export const repeated = (unit: Uint8Array, bytes: number): Buffer =>
  Buffer.alloc(Math.floor(bytes / unit.length) * unit.length, unit);
