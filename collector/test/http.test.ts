import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { EdrError } from '../../core/errors.ts';
import {
  createTransport,
  type Message,
  type Producer,
  type Transport,
  TransportConfigSchema,
} from '../../transport/index.ts';
import { collect, silentLogger } from '../../transport/testing/index.ts';
import { buildCollector } from '../index.ts';
import { bearer, collectorConfig, JSON_TYPE, NDJSON_TYPE, ndjson, samples } from './support.ts';

let app: FastifyInstance;
let transport: Transport;

async function start(overrides: Parameters<typeof collectorConfig>[0] = {}) {
  transport = createTransport(TransportConfigSchema.parse({ kind: 'memory' }), { logger: silentLogger });
  app = await buildCollector(collectorConfig(overrides), { transport });
  return app;
}

afterEach(async () => {
  await app?.close();
  await transport?.close();
});

const post = (url: string, payload: string | Buffer, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, payload, headers: { ...bearer(), ...JSON_TYPE, ...headers } });

describe('POST /v1/events', () => {
  it('accepts an object, an array, NDJSON and gzip, every wire format mixed', async () => {
    await start();
    const mixed = [
      samples.policyEvent('p-1'),
      samples.auditEvent('a-1'),
      samples.securityEvent('s-1'),
      samples.webhook('rm -rf /'),
      samples.ecsDocument('e-1'),
    ];
    expect((await post('/v1/events', JSON.stringify(mixed[0]))).json()).toEqual({
      accepted: 1,
      rejected: 0,
      errors: [],
    });
    expect((await post('/v1/events', JSON.stringify(mixed))).json()).toMatchObject({ accepted: 5 });
    expect((await post('/v1/events', ndjson(mixed), NDJSON_TYPE)).json()).toMatchObject({ accepted: 5 });
    const gzipped = await post('/v1/events', gzipSync(ndjson(mixed)), {
      ...NDJSON_TYPE,
      'content-encoding': 'gzip',
    });
    expect(gzipped.statusCode).toBe(202);
    expect(gzipped.json()).toMatchObject({ accepted: 5 });
  });

  it('reports each bad record with its index, line, field and reason; the rest is published', async () => {
    await start();
    const response = await post(
      '/v1/events',
      [
        JSON.stringify(samples.policyEvent('ok-1')),
        '{"eventId": ',
        JSON.stringify({ ...samples.policyEvent('bad-ts'), timestamp: 'yesterday' }),
        JSON.stringify(samples.policyEvent('ok-2')),
      ].join('\n'),
      NDJSON_TYPE,
    );
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({
      accepted: 2,
      rejected: 2,
      errors: [
        { index: 1, line: 2, field: '(line)', message: expect.stringMatching(/^invalid JSON/) },
        { index: 2, line: 3, field: 'timestamp', message: expect.stringMatching(/RFC 3339/) },
      ],
    });
    const events = await collect(transport, 'events', { count: 2 });
    expect(events.map((message) => message.headers['edr-event-id'])).toEqual(['ok-1', 'ok-2']);
  });

  it('publishes an eventId repeated in one request once', async () => {
    await start();
    const record = samples.policyEvent('same');
    const response = await post('/v1/events', JSON.stringify([record, record, record]));
    expect(response.json()).toEqual({ accepted: 3, rejected: 0, errors: [] });
    expect(await collect(transport, 'events', { count: 1, settleMs: 100 })).toHaveLength(1);
  });

  it('routes deny/warn to violations and hushd audit records to audit, keyed by agentId', async () => {
    await start();
    const allowed = samples.policyEvent('allow-1', 'agent-9', { decision: { status: 'allow' } });
    const warned = samples.policyEvent('warn-1', 'agent-9', { decision: { status: 'warn' } });
    await post('/v1/events', JSON.stringify([allowed, warned, samples.auditEvent('audit-1', 'agent-9')]));
    const read = (stream: 'events' | 'violations' | 'audit', count: number) =>
      collect(transport, stream, { count, settleMs: 100 });
    const ids = (messages: Message[]) => messages.map((message) => message.headers['edr-event-id']);
    expect(ids(await read('events', 3))).toEqual(['allow-1', 'warn-1', 'audit-1']);
    expect(ids(await read('violations', 2))).toEqual(['warn-1', 'audit-1']);
    const [message, ...rest] = await read('audit', 1);
    expect(rest).toEqual([]);
    expect(message?.headers['edr-event-id']).toBe('audit-1');
    expect(message?.key).toBe('agent-9');
    expect(message?.headers).toMatchObject({ 'edr-source-format': 'hushd_audit', 'edr-schema-version': '1' });
    expect(JSON.parse(Buffer.from(message!.value).toString())).toMatchObject({
      eventId: 'audit-1',
      eventType: 'file_read',
      decision: { outcome: 'deny', severity: 'critical', guard: 'forbidden_path' },
    });
  });
});

describe('whole-request failures', () => {
  const post1k =
    (body: string | Buffer, headers: Record<string, string> = {}) =>
    () =>
      post('/v1/events', body, headers);
  it.each([
    {
      name: 'a body over the limit',
      send: post1k('x'.repeat(2_048)),
      status: 413,
      code: 'EDR_ERR_BODY_TOO_LARGE',
    },
    {
      name: 'a gzip body over the limit once decoded',
      send: post1k(gzipSync(' '.repeat(100_000)), { 'content-encoding': 'gzip' }),
      status: 413,
      code: 'EDR_ERR_BODY_TOO_LARGE',
    },
    {
      name: 'more records than allowed',
      send: post1k('[1,2,3,4]'),
      status: 413,
      code: 'EDR_ERR_TOO_MANY_RECORDS',
    },
    {
      name: 'a media type we do not read',
      send: post1k('<x/>', { 'content-type': 'application/xml' }),
      status: 415,
      code: 'EDR_ERR_UNSUPPORTED_MEDIA',
    },
    {
      name: 'an unknown content-encoding',
      send: post1k('{}', { 'content-encoding': 'br' }),
      status: 415,
      code: 'EDR_ERR_UNSUPPORTED_MEDIA',
    },
    {
      name: 'broken gzip',
      send: post1k('not gzip', { 'content-encoding': 'gzip' }),
      status: 400,
      code: 'EDR_ERR_BAD_ENCODING',
    },
    { name: 'an empty body', send: post1k(''), status: 400, code: 'EDR_ERR_NO_RECORDS' },
  ])('$name → $status $code', async ({ send, status, code }) => {
    await start({ ingest: { maxBodyBytes: 1_024, maxRecordsPerRequest: 3 } });
    const response = await send();
    expect(response.statusCode).toBe(status);
    expect(response.json()).toMatchObject({ error: { code } });
  });

  it('answers 404 in the same error shape', async () => {
    await start();
    const response = await app.inject({ method: 'GET', url: '/v2/nothing' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ error: { code: 'EDR_ERR_NOT_FOUND' } });
  });
});

describe('broker trouble', () => {
  const failing = (code: 'EDR_ERR_BROKER_TIMEOUT' | 'EDR_ERR_BROKER_UNAVAILABLE'): Producer => ({
    connect: async () => {},
    publish: async () => {
      throw new EdrError(code);
    },
    ready: async () => false,
    close: async () => {},
  });

  it.each([
    ['/v1/events', JSON.stringify(samples.policyEvent('x')), { error: { code: 'EDR_ERR_BROKER_TIMEOUT' } }],
    [
      '/services/collector/event',
      JSON.stringify({ event: samples.policyEvent('x') }),
      { text: 'Server is busy', code: 9 },
    ],
    [
      '/v1/logs',
      JSON.stringify({
        resourceLogs: [
          {
            scopeLogs: [
              {
                logRecords: [
                  {
                    attributes: [
                      {
                        key: 'hush.audit.raw_json',
                        value: { stringValue: JSON.stringify(samples.auditEvent('x')) },
                      },
                    ],
                  },
                ],
              },
            ],
          },
        ],
      }),
      { code: 14 },
    ],
    [
      '/_bulk',
      `{"index":{}}\n${JSON.stringify(samples.ecsDocument('x'))}\n`,
      { status: 503, error: { type: 'unavailable_shards_exception' } },
    ],
  ])(
    '%s answers 503 with Retry-After, never 2xx, when the broker does not acknowledge',
    async (url, body, expected) => {
      app = await buildCollector(collectorConfig({ ingest: { retryAfterSeconds: 7 } }), {
        producer: failing('EDR_ERR_BROKER_TIMEOUT'),
      });
      const response = await post(url, body);
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toBe('7');
      expect(response.json()).toMatchObject(expected);
      expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    },
  );
});

describe('graceful shutdown', () => {
  it('lets a request in flight finish with its 202 before the producer is closed', async () => {
    const events: string[] = [];
    const slow: Producer = {
      connect: async () => {},
      publish: async () => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        events.push('acked');
      },
      ready: async () => true,
      close: async () => {
        events.push('producer closed');
      },
    };
    const transport = createTransport(TransportConfigSchema.parse({ kind: 'memory' }), {
      logger: silentLogger,
    });
    app = await buildCollector(collectorConfig(), {
      transport: { ...transport, createProducer: () => slow },
    });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const inFlight = fetch(`${address}/v1/events`, {
      method: 'POST',
      headers: { ...bearer(), ...JSON_TYPE },
      body: JSON.stringify(samples.policyEvent('late-1')),
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closed = app.close().then(() => events.push('app closed'));
    expect((await inFlight).status).toBe(202);
    await closed;
    expect(events).toEqual(['acked', 'producer closed', 'app closed']);
  });
});

describe('operations endpoints', () => {
  it('serves /healthz, /readyz and Prometheus metrics', async () => {
    await start();
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    await post(
      '/v1/events',
      ndjson([samples.policyEvent('m-1'), samples.policyEvent('m-1'), { nope: true }]),
      NDJSON_TYPE,
    );
    await post('/v1/events', '{}', { authorization: 'Bearer wrong' });
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    for (const line of [
      'edr_collector_records_received_total{protocol="events"} 3',
      'edr_collector_records_accepted_total{protocol="events"} 2',
      'edr_collector_records_rejected_total{protocol="events",reason="invalid"} 1',
      'edr_collector_records_deduplicated_total{protocol="events"} 1',
      'edr_collector_records_published_total{stream="events"} 1',
      'edr_collector_requests_rejected_total{protocol="events",code="EDR_ERR_UNAUTHORIZED"} 1',
      'edr_collector_publish_duration_seconds_count{outcome="ok"} 1',
      'edr_collector_requests_in_flight',
    ]) {
      expect(metrics).toContain(line);
    }
  });
});
