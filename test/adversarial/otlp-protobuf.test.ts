import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { OtlpMessages } from '../../collector/routes/otlp/index.ts';
import { random } from '../engine/prng.ts';
import {
  decoded,
  deepRecord,
  expectOnceEach,
  kafkaCollectors,
  landed,
  type OtlpCollector,
  PROTOBUF,
  policyRecord,
  postLogs,
  repeated,
  request,
  shell,
} from '../interop/otlp-support.ts';

/*
 * Hostile OTLP protobuf bodies (issue 14): records nested past the depth limit, records that are not records,
 * bytes flipped at random, bodies of millions of empty messages and a gzip bomb. Each is refused on its own or
 * as a request, quickly and without decoding it whole, while the records beside it land on the real Kafka
 * topic.
 */

const MB = 1024 * 1024;
const { ExportLogsServiceResponse, Status } = OtlpMessages;

describe('hostile OTLP protobuf bodies', () => {
  const open = kafkaCollectors();
  let collector: OtlpCollector;
  beforeAll(async () => {
    collector = await open();
  });
  const post = (payload: Buffer | string, headers: Record<string, string>) =>
    postLogs(collector, payload, headers);

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
