import { describe, expect, it } from 'vitest';
import { BROKERS, brokerCollectors, envelopeOf } from '../../collector/test/brokers.ts';
import { bearer } from '../../collector/test/support.ts';
import { brokerAddress, collect } from '../../transport/testing/index.ts';
import { goodRecord, hostileRecord } from './collector-support.ts';

/**
 * The collector's 10 MB body limit is larger than the brokers' 1 MB default record size (Kafka's
 * max.message.bytes, NATS' max_payload), and what happened to a 2 MB record was untested. Against the real
 * brokers: a record too large is cut to fit (limits.record.maxRecordBytes) or refused as that record, and
 * neither it nor a request of several large records makes the broker refuse the publish.
 */
const MB = 1024 * 1024;
const bigPath = (bytes: number) => JSON.stringify(`/${'p'.repeat(bytes)}`);

describe.each(BROKERS)('record size against %s', (kind) => {
  brokerAddress(kind);
  const open = brokerCollectors();

  const post = async (app: Awaited<ReturnType<typeof open>>['app'], records: string[]) =>
    app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...bearer(), 'content-type': 'application/x-ndjson' },
      payload: records.join('\n'),
    });

  // Strings may be as long as a record (not cut at 64 KB first): the envelope itself must be cut to fit.
  const longStrings = { limits: { record: { maxStringBytes: 1_000_000 } } };

  it('a 2 MB record is cut to fit and published beside its siblings; it fits the broker', async () => {
    const { app, transport } = await open(kind, longStrings);
    const response = await post(app, [
      goodRecord('size-1'),
      hostileRecord('size-2mb', { field: 'data.path', json: bigPath(2 * MB) }),
      goodRecord('size-3'),
    ]);
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ accepted: 3, rejected: 0, errors: [] });
    const messages = await collect(transport, 'events', { count: 3 });
    expect(messages.map((message) => envelopeOf(message).eventId).sort()).toEqual([
      'size-1',
      'size-2mb',
      'size-3',
    ]);
    const big = messages.find((message) => envelopeOf(message).eventId === 'size-2mb')!;
    expect(big.value.byteLength).toBeGreaterThan(900_000);
    expect(big.value.byteLength).toBeLessThanOrEqual(1_000_000);
    expect(envelopeOf(big).integrity?.truncated).toContain('data.path');
  });

  it('a request of four records of about 1 MB each is published whole', async () => {
    const { app, transport } = await open(kind, longStrings);
    const ids = ['large-1', 'large-2', 'large-3', 'large-4'];
    const response = await post(
      app,
      ids.map((id) => hostileRecord(id, { field: 'data.path', json: bigPath(900 * 1024) })),
    );
    expect(response.json()).toMatchObject({ accepted: 4, rejected: 0 });
    const messages = await collect(transport, 'events', { count: 4 });
    for (const message of messages) expect(message.value.byteLength).toBeGreaterThan(900_000);
    expect(messages.map((message) => envelopeOf(message).eventId).sort()).toEqual(ids);
  });

  it('a record that cannot be cut to fit is refused as that record; its siblings are published', async () => {
    const { app, transport } = await open(kind, { limits: { record: { maxRecordBytes: 65_536 } } });
    const fields = Object.fromEntries(Array.from({ length: 9_000 }, (_, i) => [`k${i}`, i]));
    const wide = hostileRecord('size-wide', {
      field: 'data',
      json: JSON.stringify({ type: 'file', path: '/x', operation: 'read', ...fields }),
    });
    const response = await post(app, [goodRecord('wide-1'), wide, goodRecord('wide-3')]);
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({
      accepted: 2,
      rejected: 1,
      errors: [
        {
          index: 1,
          line: 2,
          field: '(record)',
          message: expect.stringContaining('limits.record.maxRecordBytes'),
        },
      ],
    });
    const messages = await collect(transport, 'events', { count: 2 });
    expect(messages.map((message) => envelopeOf(message).eventId).sort()).toEqual(['wide-1', 'wide-3']);
  });
});
