import { gzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { OtlpMessages } from '../../collector/routes/otlp/index.ts';
import { random } from '../engine/prng.ts';
import {
  expectOnceEach,
  KEYS,
  kafkaCollectors,
  landed,
  type OtlpCollector,
  samples,
} from './otlp-support.ts';

/*
 * OTLP/HTTP as the specification words it (content types, empty requests, partial success, a Status body
 * for failures), and hostile protobuf bodies: each refused on its own or as a request, quickly, while the
 * records beside it land on the real Kafka topic.
 */

const PROTOBUF = 'application/x-protobuf';
const MB = 1024 * 1024;
const { ExportLogsServiceResponse, LogRecord, Status } = OtlpMessages;

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
const shell = (name: string, value: Record<string, unknown>): Uint8Array => {
  const type = shells.lookupType(name);
  return type.encode(type.fromObject(value)).finish();
};

/** One request of one resource and one scope holding these encoded log records. */
const request = (...records: Uint8Array[]): Buffer =>
  Buffer.from(
    shell('Request', {
      resourceLogs: [shell('ResourceLogs', { scopeLogs: [shell('ScopeLogs', { logRecords: records })] })],
    }),
  );

/** A log record with a PolicyEvent as its body (JSON text), encoded by the collector's own types. */
const policyRecord = (id: string): Uint8Array =>
  LogRecord.encode(
    LogRecord.fromObject({ body: { stringValue: JSON.stringify(samples.policyEvent(id, 'agent-proto')) } }),
  ).finish();

/** A log record whose body is a map in a map … `levels` deep (three messages a level). */
function deepRecord(levels: number): Uint8Array {
  let value = shell('AnyValue', {});
  for (let level = 0; level < levels; level++) {
    const pair = shell('KeyValue', { key: 'k', value });
    value = shell('AnyValue', { kvlistValue: shell('KeyValueList', { values: [pair] }) });
  }
  return shell('LogRecord', { body: value });
}

/** `unit` repeated to about `bytes`: repeated fields of a message concatenate. */
const repeated = (unit: Uint8Array, bytes: number): Buffer =>
  Buffer.alloc(Math.floor(bytes / unit.length) * unit.length, unit);

describe('OTLP/HTTP logs on the wire', () => {
  const open = kafkaCollectors();
  let collector: OtlpCollector;
  beforeAll(async () => {
    collector = await open();
  });
  const post = (payload: Buffer | string, headers: Record<string, string>) =>
    collector.inject({
      method: 'POST',
      url: '/v1/logs',
      payload,
      headers: { authorization: `Bearer ${KEYS.ingest}`, ...headers },
    });
  const decoded = (type: protobuf.Type, body: Buffer) =>
    type.toObject(type.decode(body), { longs: Number, defaults: false });

  it('an empty request succeeds with an empty response, in either encoding', async () => {
    for (const payload of ['', '{}', '{"resourceLogs":[]}', '{"resourceLogs":[{"scopeLogs":[{}]}]}']) {
      const reply = await post(payload, { 'content-type': 'application/json' });
      expect([reply.statusCode, reply.json()], payload).toEqual([200, {}]);
    }
    for (const payload of [Buffer.alloc(0), gzipSync(Buffer.alloc(0)), request()]) {
      const reply = await post(payload, {
        'content-type': PROTOBUF,
        ...(payload.length > 2 && payload[0] === 0x1f ? { 'content-encoding': 'gzip' } : {}),
      });
      expect(reply.statusCode).toBe(200);
      expect(reply.headers['content-type']).toBe(PROTOBUF);
      expect(reply.rawPayload).toHaveLength(0);
    }
  });

  it('a failure answers a protobuf request with a protobuf google.rpc.Status, a JSON one with JSON', async () => {
    const unauthorized = await collector.inject({
      method: 'POST',
      url: '/v1/logs',
      payload: request(policyRecord('proto-unauthorized')),
      headers: { 'content-type': PROTOBUF },
    });
    expect(unauthorized.statusCode).toBe(401);
    expect(unauthorized.headers['content-type']).toBe(PROTOBUF);
    expect(decoded(Status, unauthorized.rawPayload)).toMatchObject({ code: 16, message: expect.any(String) });

    const truncated = request(policyRecord('proto-truncated')).subarray(0, -1);
    const bad = await post(truncated, { 'content-type': PROTOBUF });
    expect(bad.statusCode).toBe(400);
    expect(decoded(Status, bad.rawPayload)).toEqual({
      code: 3,
      message: expect.stringMatching(/: not an OTLP logs request: /),
    });

    const json = await post('{"resourceLogs":{}}', { 'content-type': 'application/json' });
    expect([json.statusCode, json.json()]).toEqual([
      400,
      { code: 3, message: 'malformed request: not an OTLP logs request: resourceLogs: expected an array' },
    ]);
    const unsupported = await post('x', { 'content-type': 'text/plain' });
    expect(unsupported.statusCode).toBe(415);
    expect(unsupported.json()).toMatchObject({ code: 3 });
  });

  it('a partial success says how many records were refused (an int64: a string in JSON) and which', async () => {
    const logs = {
      resourceLogs: [
        {
          scopeLogs: [
            {
              logRecords: [
                { body: { stringValue: JSON.stringify(samples.policyEvent('json-partial-1')) } },
                { body: { kvlistValue: { values: [{ key: 'eventId', value: { boolValue: true } }] } } },
                { body: { kvlistValue: { values: [{ key: 'x', value: { intValue: 'twelve' } }] } } },
              ],
            },
          ],
        },
      ],
    };
    const reply = await post(JSON.stringify(logs), { 'content-type': 'application/json' });
    expect(reply.statusCode).toBe(200);
    expect(reply.json()).toEqual({
      partialSuccess: {
        rejectedLogRecords: '2',
        errorMessage: expect.stringMatching(
          /^\[1\] eventId: .*; \[2\] body\.kvlistValue\.values\.0\.value\.intValue: expected an integer/,
        ),
      },
    });
    expectOnceEach(await landed(collector.transport, 'json-partial-', ['json-partial-1']), [
      'json-partial-1',
    ]);
  });

  it.each([
    ['91 levels (over ingest.maxJsonDepth, under the library limit of 100)', 30],
    ['3,000 levels', 1_000],
  ])('a log record nested %s is refused on its own, and its siblings land', async (_name, levels) => {
    const prefix = `proto-deep-${levels}-`;
    const body = request(policyRecord(`${prefix}1`), deepRecord(levels), policyRecord(`${prefix}3`));
    const started = performance.now();
    const reply = await post(body, { 'content-type': PROTOBUF });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(reply.statusCode).toBe(200);
    expect(decoded(ExportLogsServiceResponse, reply.rawPayload)).toEqual({
      partialSuccess: {
        rejectedLogRecords: 1,
        errorMessage: '[1] (logRecord): nested deeper than 64 messages',
      },
    });
    const ids = [`${prefix}1`, `${prefix}3`];
    expectOnceEach(await landed(collector.transport, prefix, ids), ids);
  });

  it('a log record that is not one is refused on its own, and its siblings land', async () => {
    const garbage = Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    const body = request(policyRecord('proto-garbage-1'), garbage, policyRecord('proto-garbage-3'));
    const reply = await post(body, { 'content-type': PROTOBUF });
    expect(decoded(ExportLogsServiceResponse, reply.rawPayload)).toEqual({
      partialSuccess: {
        rejectedLogRecords: 1,
        errorMessage: expect.stringMatching(/^\[1\] \(logRecord\): not a LogRecord: /),
      },
    });
    const ids = ['proto-garbage-1', 'proto-garbage-3'];
    expectOnceEach(await landed(collector.transport, 'proto-garbage-', ids), ids);
  });

  it('300 requests with bytes flipped: each answered 200 or 4xx in its encoding, no record unreadable', async () => {
    const rng = random(14);
    const valid = request(...['a', 'b', 'c'].map((name) => policyRecord(`proto-fuzz-${name}`)));
    const statuses = new Map<number, number>();
    for (let round = 0; round < 300; round++) {
      const mutated = Buffer.from(valid);
      for (let flips = 1 + rng.int(4); flips > 0; flips--) mutated[rng.int(mutated.length)] = rng.int(256);
      const reply = await post(mutated, { 'content-type': PROTOBUF });
      statuses.set(reply.statusCode, (statuses.get(reply.statusCode) ?? 0) + 1);
      expect(reply.headers['content-type']).toBe(PROTOBUF);
      if (reply.statusCode === 200) {
        const { partialSuccess } = decoded(ExportLogsServiceResponse, reply.rawPayload) as {
          partialSuccess?: { errorMessage?: string };
        };
        // An exception while reading a record would say so (`could not be read`, reason internal).
        expect(partialSuccess?.errorMessage ?? '').not.toMatch(/could not be read/);
      } else {
        expect([400, 413]).toContain(reply.statusCode);
        expect(decoded(Status, reply.rawPayload)).toMatchObject({ code: expect.any(Number) });
      }
    }
    expect(statuses.get(200)).toBeGreaterThan(0);
    expect(statuses.get(400)).toBeGreaterThan(0);
  });

  it.each([
    {
      name: '9 MB of empty attributes in one record (4.7 M messages)',
      body: () => request(repeated(shell('LogRecord', { attributes: [new Uint8Array()] }), 9 * MB)),
      status: 400,
      message: /: more than 1280000 messages$/,
    },
    {
      name: '9 MB of empty scopeLogs',
      body: () =>
        Buffer.from(
          shell('Request', {
            resourceLogs: [repeated(shell('ResourceLogs', { scopeLogs: [new Uint8Array()] }), 9 * MB)],
          }),
        ),
      status: 413,
      message: /: more than 10000$/,
    },
    {
      name: '9 MB of empty log records',
      body: () =>
        Buffer.from(
          shell('Request', {
            resourceLogs: [
              shell('ResourceLogs', {
                scopeLogs: [repeated(shell('ScopeLogs', { logRecords: [new Uint8Array()] }), 9 * MB)],
              }),
            ],
          }),
        ),
      status: 413,
      message: /: more than 10000$/,
    },
    {
      name: 'a gzip bomb (100 MB of zeros in 100 kB)',
      body: () => gzipSync(Buffer.alloc(100 * MB)),
      gzip: true,
      status: 413,
      message: /once decoded$/,
    },
  ])('$name: refused as a request ($status) within 2 s, without decoding it', async (test) => {
    const payload = test.body();
    const started = performance.now();
    const reply = await post(payload, {
      'content-type': PROTOBUF,
      ...(test.gzip ? { 'content-encoding': 'gzip' } : {}),
    });
    const elapsedMs = performance.now() - started;
    expect(reply.statusCode, String(decoded(Status, reply.rawPayload).message)).toBe(test.status);
    expect(decoded(Status, reply.rawPayload).message).toMatch(test.message);
    // Counting the 9 MB of attributes takes about 75 ms; decoding them would take 5 s and 475 MB of heap.
    expect(elapsedMs).toBeLessThan(2_000);
  });
});
