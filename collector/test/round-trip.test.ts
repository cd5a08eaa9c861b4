import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseRecord } from '../../engine/model/index.ts';
import { brokerAddress, collect } from '../../transport/testing/index.ts';
import { BROKERS, brokerCollectors, envelopeOf, eventIds } from './brokers.ts';
import { bearer, JSON_TYPE, KEYS, NDJSON_TYPE, ndjson, samples } from './support.ts';

const otlp = (...logRecords: unknown[]) =>
  JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords }] }] });
const attribute = (key: string, value: string) => ({ key, value: { stringValue: value } });

describe.each(BROKERS)('collector → %s round trip', (kind) => {
  brokerAddress(kind);
  const open = brokerCollectors();

  it('publishes every input format from every endpoint, and the broker holds the normalized envelopes', async () => {
    const { app, transport } = await open(kind);
    const post = async (url: string, payload: string | Buffer, headers: Record<string, string> = {}) => {
      const response = await app.inject({
        method: 'POST',
        url,
        payload,
        headers: { ...bearer(), ...JSON_TYPE, ...headers },
      });
      expect(response.statusCode, `${url}: ${response.body}`).toBeLessThan(300);
      return response.json();
    };
    // What was sent, by the eventId the collector gives it, in the shape parseRecord reads.
    const sent = new Map<string, { record: unknown; format?: 'hushd_audit' }>();
    const send = (...records: unknown[]) => {
      for (const record of records) {
        const parsed = parseRecord(record);
        if (!parsed.ok) throw new Error(`bad sample: ${JSON.stringify(parsed.error)}`);
        sent.set(parsed.value.eventId, { record });
      }
    };

    const policy = samples.policyEvent(`${kind}-policy`, 'agent-a', {
      decision: { status: 'deny', guard: 'forbidden_path' },
    });
    send(policy);
    expect(await post('/v1/events', JSON.stringify(policy))).toEqual({
      accepted: 1,
      rejected: 0,
      errors: [],
    });

    const array = [
      samples.auditEvent(`${kind}-audit-1`),
      samples.securityEvent(`${kind}-security-1`, 'agent-b'),
    ];
    send(...array);
    expect(await post('/v1/events', JSON.stringify(array))).toMatchObject({ accepted: 2 });

    const lines = [
      samples.webhook(`${kind}-curl evil.example`),
      samples.ecsDocument(`${kind}-ecs-1`, 'agent-c'),
    ];
    send(...lines);
    const gzipped = gzipSync(ndjson(lines));
    expect(await post('/v1/events', gzipped, { ...NDJSON_TYPE, 'content-encoding': 'gzip' })).toMatchObject({
      accepted: 2,
    });

    const hushd = samples.auditEvent(`${kind}-audit-2`, 'agent-d');
    send(hushd);
    expect(await post('/ingest/hushd', JSON.stringify(hushd))).toMatchObject({ accepted: 1 });

    const hec = [samples.securityEvent(`${kind}-security-2`), samples.auditEvent(`${kind}-audit-3`)];
    send(...hec);
    const hecBody = gzipSync(
      hec.map((event) => JSON.stringify({ time: 1, sourcetype: 'hushd', event })).join('\n'),
    );
    expect(
      await post('/services/collector/event', hecBody, {
        authorization: `Splunk ${KEYS.ingest}`,
        'content-encoding': 'gzip',
      }),
    ).toEqual({ text: 'Success', code: 0 });

    const rawAudit = samples.auditEvent(`${kind}-audit-4`);
    send(rawAudit);
    // Without raw_json the AuditEvent is rebuilt from the hush.audit.* attributes.
    const rebuilt = {
      id: `${kind}-audit-5`,
      event_type: 'check',
      action_type: 'egress',
      decision: 'allowed',
      target: 'api.example:443',
      timestamp: 1_795_628_461_870,
    };
    sent.set(rebuilt.id, { record: rebuilt, format: 'hushd_audit' });
    const otlpBody = otlp(
      { attributes: [attribute('hush.audit.raw_json', JSON.stringify(rawAudit))] },
      {
        timeUnixNano: '1795628461870636096',
        attributes: Object.entries(rebuilt)
          .filter(([key]) => key !== 'timestamp')
          .map(([key, value]) => attribute(`hush.audit.${key}`, String(value))),
      },
    );
    expect(await post('/v1/logs', otlpBody)).toEqual({});

    const doc = samples.auditEvent(`${kind}-audit-6`);
    send(doc);
    expect(
      await post('/hushd-audit/_doc', JSON.stringify(doc), { authorization: `ApiKey ${KEYS.ingest}` }),
    ).toMatchObject({
      result: 'created',
      _id: `${kind}-audit-6`,
    });

    const bulkDocs = [samples.ecsDocument(`${kind}-ecs-2`), samples.ecsDocument(`${kind}-ecs-3`)];
    send(...bulkDocs);
    const bulk = bulkDocs.flatMap((document) => [
      JSON.stringify({ index: { _index: 'sec' } }),
      JSON.stringify(document),
    ]);
    const bulkReply = await post('/_bulk', `${bulk.join('\n')}\n`, NDJSON_TYPE);
    expect(bulkReply).toMatchObject({
      errors: false,
      items: [{ index: { status: 201 } }, { index: { status: 201 } }],
    });

    const messages = await collect(transport, 'events', { count: sent.size });
    expect(new Set(eventIds(messages))).toEqual(new Set(sent.keys()));
    for (const message of messages) {
      const envelope = envelopeOf(message);
      const original = sent.get(envelope.eventId)!;
      const expected = parseRecord(original.record, { receivedAt: envelope.receivedAt, ...original });
      expect(expected.ok && expected.value, envelope.eventId).toEqual(envelope);
      expect(message.key).toBe(envelope.agentId);
      expect(message.headers).toMatchObject({
        'edr-event-id': envelope.eventId,
        'edr-source-format': envelope.source.format,
      });
    }
    const audit = await collect(transport, 'audit', { count: 6 });
    expect(audit.every((message) => envelopeOf(message).source.format === 'hushd_audit')).toBe(true);
  });

  it('publishes the valid part of a partial batch and reports the rest', async () => {
    const { app, transport } = await open(kind);
    const response = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...bearer(), ...JSON_TYPE },
      payload: JSON.stringify([
        samples.policyEvent('ok-1'),
        { eventType: 'file_read' },
        samples.auditEvent('ok-2'),
        { ...samples.securityEvent('bad-1'), outcome: 'maybe' },
      ]),
    });
    expect(response.json()).toMatchObject({
      accepted: 2,
      rejected: 2,
      errors: [
        { index: 1, field: 'eventId', message: 'is required' },
        { index: 1, field: 'timestamp' },
        { index: 1, field: 'data' },
        { index: 3, field: 'outcome' },
      ],
    });
    expect(eventIds(await collect(transport, 'events', { count: 2, settleMs: 1_000 })).sort()).toEqual([
      'ok-1',
      'ok-2',
    ]);
  });

  it('reports a malformed line of a 1,000-line NDJSON batch by its line number and publishes the other 999', async () => {
    const { app, transport } = await open(kind);
    const lines = Array.from({ length: 1_000 }, (_, i) =>
      JSON.stringify(samples.policyEvent(`bulk-${i}`, `agent-${i % 7}`)),
    );
    lines[499] = '{"eventId":"bulk-499",';
    const response = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...bearer(), ...NDJSON_TYPE },
      payload: lines.join('\n'),
    });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({
      accepted: 999,
      rejected: 1,
      errors: [{ index: 499, line: 500, field: '(line)', message: expect.stringMatching(/^invalid JSON/) }],
    });
    const ids = eventIds(await collect(transport, 'events', { count: 999, settleMs: 1_000 }));
    expect(ids).toHaveLength(999);
    expect(new Set(ids).size).toBe(999);
    expect(ids).not.toContain('bulk-499');
  });
});
