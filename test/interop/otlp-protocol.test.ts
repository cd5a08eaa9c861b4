import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { OtlpMessages } from '../../collector/routes/otlp/index.ts';
import {
  decoded,
  expectOnceEach,
  kafkaCollectors,
  landed,
  type OtlpCollector,
  PROTOBUF,
  policyRecord,
  postLogs,
  request,
  samples,
} from './otlp-support.ts';

/*
 * OTLP/HTTP as the specification words it (content types, empty requests, partial success, a Status body
 * for failures), against a collector on the real Kafka. Hostile protobuf bodies:
 * test/adversarial/otlp-protobuf.test.ts.
 */

const { Status } = OtlpMessages;

describe('OTLP/HTTP logs on the wire', () => {
  const open = kafkaCollectors();
  let collector: OtlpCollector;
  beforeAll(async () => {
    collector = await open();
  });
  const post = (payload: Buffer | string, headers: Record<string, string>) =>
    postLogs(collector, payload, headers);

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
});
