/**
 * The HEC endpoints as Splunk documents them, against a collector publishing to the real Kafka: every
 * payload form of /services/collector[/event[/1.0]], /raw with its channel, /ack, health, the token
 * forms, Splunk's codes and `invalid-event-number`. What a request carried is counted by eventId in the
 * topic.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { loggableUrl } from '../../collector/plugins/auth/index.ts';
import { type BrokerCollector, brokerCollectors } from '../../collector/test/brokers.ts';
import { KEYS, samples } from '../../collector/test/support.ts';
import { brokerAddress } from '../../transport/testing/index.ts';
import { landedCounts, once } from './hec-support.ts';

const SPLUNK = { authorization: `Splunk ${KEYS.ingest}` };
const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});
const SUCCESS = { text: 'Success', code: 0 };

/** A HEC event object around a PolicyEvent with this id, with every metadata field Splunk documents. */
const hecEvent = (id: string, extra: Record<string, unknown> = {}) => ({
  time: 1_764_583_200.123,
  host: 'build-7',
  source: 'agent',
  sourcetype: '_json',
  index: 'main',
  fields: { team: 'red', tags: ['a', 'b'], attempt: 1 },
  event: samples.policyEvent(id),
  ...extra,
});

describe('Splunk HEC endpoints → Kafka', () => {
  brokerAddress('kafka');
  const open = brokerCollectors();
  let collector: BrokerCollector;
  const post = async (url: string, payload: string, headers: Record<string, string> = SPLUNK) => {
    const response = await collector.app.inject({ method: 'POST', url, payload, headers });
    return { status: response.statusCode, body: response.json() as Record<string, unknown> };
  };

  beforeAll(async () => {
    collector = await open('kafka');
  });

  it('every documented payload form lands once, on every event path', async () => {
    const ids: string[] = [];
    const id = (tag: string) => {
      ids.push(`hp-${tag}`);
      return `hp-${tag}`;
    };
    for (const [path, name] of [
      ['/services/collector', 'root'],
      ['/services/collector/event', 'event'],
      ['/services/collector/event/1.0', 'event10'],
    ] as const) {
      const single = JSON.stringify(hecEvent(id(`${name}-single`)));
      const concatenated = [hecEvent(id(`${name}-cat-1`)), hecEvent(id(`${name}-cat-2`))]
        .map((event) => JSON.stringify(event))
        .join('');
      const lines = [hecEvent(id(`${name}-line-1`)), hecEvent(id(`${name}-line-2`))]
        .map((event) => JSON.stringify(event))
        .join('\n');
      const array = JSON.stringify([hecEvent(id(`${name}-array-1`)), hecEvent(id(`${name}-array-2`))]);
      const eventAsText = JSON.stringify({
        time: '1764583200.5',
        event: JSON.stringify(samples.auditEvent(id(`${name}-text`))),
      });
      const bare = JSON.stringify({ event: samples.securityEvent(id(`${name}-bare`)) });
      for (const body of [single, concatenated, lines, array, eventAsText, bare]) {
        expect(await post(path, body), `${path} ${body.slice(0, 80)}`).toEqual({
          status: 200,
          body: SUCCESS,
        });
      }
    }
    expect(await landedCounts(collector, ids)).toEqual(once(ids));
  });

  it('takes the token as Splunk does: "Splunk <token>" and Basic with the token as password', async () => {
    const ids = ['hp-token-splunk', 'hp-token-basic', 'hp-token-basic-no-user'];
    expect(await post('/services/collector/event', JSON.stringify(hecEvent(ids[0]!)))).toEqual({
      status: 200,
      body: SUCCESS,
    });
    for (const [id, headers] of [
      [ids[1]!, basic('x', KEYS.ingest)],
      [ids[2]!, basic('', KEYS.ingest)],
    ] as const) {
      expect(await post('/services/collector/event', JSON.stringify(hecEvent(id)), headers)).toEqual({
        status: 200,
        body: SUCCESS,
      });
    }
    expect(await landedCounts(collector, ids)).toEqual(once(ids));
  });

  it.each([
    ['no token', '/services/collector/event', {}, 'x', 401, { text: 'Token is required', code: 2 }],
    [
      'not a Splunk header',
      '/services/collector/event',
      { authorization: 'Token x' },
      'x',
      401,
      { text: 'Invalid authorization', code: 3 },
    ],
    [
      'unknown token',
      '/services/collector/event',
      { authorization: 'Splunk guess' },
      'x',
      403,
      { text: 'Invalid token', code: 4 },
    ],
    [
      'Basic, unknown token',
      '/services/collector/event',
      basic('x', 'guess'),
      'x',
      403,
      { text: 'Invalid token', code: 4 },
    ],
    ['no data', '/services/collector/event', SPLUNK, '', 400, { text: 'No data', code: 5 }],
    [
      'not JSON',
      '/services/collector/event',
      SPLUNK,
      'hello',
      400,
      { text: 'Invalid data format', code: 6, 'invalid-event-number': 0 },
    ],
    [
      'a text event that holds no record',
      '/services/collector/event',
      SPLUNK,
      '{"event":"user logged in"}',
      400,
      { text: 'Invalid data format', code: 6, 'invalid-event-number': 0 },
    ],
    [
      'time not epoch seconds',
      '/services/collector/event',
      SPLUNK,
      JSON.stringify(hecEvent('hp-bad-time', { time: 'yesterday' })),
      400,
      { text: 'Invalid data format', code: 6, 'invalid-event-number': 0 },
    ],
    [
      'no event field (second event)',
      '/services/collector/event',
      SPLUNK,
      `${JSON.stringify(hecEvent('hp-before-missing'))}{"time":1}`,
      400,
      { text: 'Event field is required', code: 12, 'invalid-event-number': 1 },
    ],
    [
      'blank event',
      '/services/collector/event',
      SPLUNK,
      '{"event":""}',
      400,
      { text: 'Event field cannot be blank', code: 13, 'invalid-event-number': 0 },
    ],
    [
      'nested indexed fields',
      '/services/collector/event',
      SPLUNK,
      JSON.stringify(hecEvent('hp-nested-fields', { fields: { team: { name: 'red' } } })),
      400,
      { text: 'Error in handling indexed fields', code: 15, 'invalid-event-number': 0 },
    ],
    [
      '/raw without a channel',
      '/services/collector/raw',
      SPLUNK,
      JSON.stringify(samples.policyEvent('hp-raw-no-channel')),
      400,
      { text: 'Data channel is missing', code: 10 },
    ],
    [
      '/raw with a channel that is no GUID',
      '/services/collector/raw?channel=abc',
      SPLUNK,
      JSON.stringify(samples.policyEvent('hp-raw-bad-channel')),
      400,
      { text: 'Invalid data channel', code: 11 },
    ],
    ['/ack without a channel', '/services/collector/ack', SPLUNK, '{"acks":[0]}', 400, { code: 10 }],
    [
      '/ack with a body that is no ack query',
      `/services/collector/ack?channel=${randomUUID()}`,
      SPLUNK,
      '{"acks":"all"}',
      400,
      { text: 'Invalid data format', code: 6 },
    ],
  ])('%s: %s answers as Splunk does', async (_name, url, headers, payload, status, body) => {
    const reply = await post(url, payload, headers);
    expect(reply.status).toBe(status);
    expect(reply.body).toEqual(expect.objectContaining(body));
  });

  it('an invalid event in a batch: those before it land, it and those after do not; the resend lands them once', async () => {
    const before = ['hp-batch-0', 'hp-batch-1'];
    const after = ['hp-batch-3', 'hp-batch-4'];
    const body = [
      ...before.map((id) => hecEvent(id)),
      { event: { not: 'a record' } },
      ...after.map((id) => hecEvent(id)),
    ]
      .map((event) => JSON.stringify(event))
      .join('\n');
    expect(await post('/services/collector/event', body)).toEqual({
      status: 400,
      body: { text: 'Invalid data format', code: 6, 'invalid-event-number': 2 },
    });
    // Before the resend: the two before it are on the topic, the two after it are not.
    expect(await landedCounts(collector, [...before, ...after], { timeoutMs: 3_000 })).toEqual({
      ...once(before),
      'hp-batch-3': 0,
      'hp-batch-4': 0,
    });
    const resend = after.map((id) => JSON.stringify(hecEvent(id))).join('\n');
    expect(await post('/services/collector/event', resend)).toEqual({ status: 200, body: SUCCESS });
    expect(await landedCounts(collector, [...before, ...after])).toEqual(once([...before, ...after]));
  });

  it('/raw and /ack: one record a line, ackIds counted per channel, each true once and only to its sender', async () => {
    const channel = randomUUID();
    const ids = ['hp-raw-1', 'hp-raw-2', 'hp-raw-3', 'hp-raw-event'];
    const raw = (...records: string[]) =>
      records.map((id) => JSON.stringify(samples.policyEvent(id))).join('\n');
    const inHeader = { ...SPLUNK, 'x-splunk-request-channel': channel };
    expect(await post('/services/collector/raw', raw(ids[0]!, ids[1]!), inHeader)).toEqual({
      status: 200,
      body: { ...SUCCESS, ackId: 0 },
    });
    expect(await post(`/services/collector/raw/1.0?channel=${channel}`, raw(ids[2]!))).toEqual({
      status: 200,
      body: { ...SUCCESS, ackId: 1 },
    });
    expect(await post('/services/collector/event', JSON.stringify(hecEvent(ids[3]!)), inHeader)).toEqual({
      status: 200,
      body: { ...SUCCESS, ackId: 2 },
    });
    // Another sender on the same channel id reads nothing of this one's.
    const admin = { authorization: `Splunk ${KEYS.admin}`, 'x-splunk-request-channel': channel };
    expect(await post('/services/collector/ack', '{"acks":[0,1,2]}', admin)).toEqual({
      status: 200,
      body: { acks: { 0: false, 1: false, 2: false } },
    });
    expect(await post('/services/collector/ack', '{"acks":[0,1,2,3]}', inHeader)).toEqual({
      status: 200,
      body: { acks: { 0: true, 1: true, 2: true, 3: false } },
    });
    expect(await post('/services/collector/ack', '{"acks":[0,1,2]}', inHeader)).toEqual({
      status: 200,
      body: { acks: { 0: false, 1: false, 2: false } },
    });
    expect(await landedCounts(collector, ids)).toEqual(once(ids));
  });

  it('/ack with indexer acknowledgement off is code 14, and no ackId is issued', async () => {
    const { app } = await open('kafka', { splunkHec: { ack: { enabled: false } } });
    const channel = { ...SPLUNK, 'x-splunk-request-channel': randomUUID() };
    const ack = await app.inject({
      method: 'POST',
      url: '/services/collector/ack',
      headers: channel,
      payload: '{"acks":[0]}',
    });
    expect([ack.statusCode, ack.json()]).toEqual([400, { text: 'ACK is disabled', code: 14 }]);
    const event = await app.inject({
      method: 'POST',
      url: '/services/collector/event',
      headers: channel,
      payload: JSON.stringify(hecEvent('hp-no-ack')),
    });
    expect([event.statusCode, event.json()]).toEqual([200, SUCCESS]);
  });

  it('a key in the URL (?token=) is checked first, then refused unless splunkHec.allowQueryStringAuth', async () => {
    const url = (token: string) => `/services/collector/event?token=${token}`;
    const record = (id: string) => JSON.stringify(hecEvent(id));
    expect(await post(url(KEYS.ingest), record('hp-query-off'), {})).toEqual({
      status: 400,
      body: { text: 'Query string authorization is not enabled', code: 16 },
    });
    expect(await post(url('guess'), record('hp-query-guess'), {})).toEqual({
      status: 403,
      body: { text: 'Invalid token', code: 4 },
    });
    const allowing = await open('kafka', { splunkHec: { allowQueryStringAuth: true } });
    const taken = await allowing.app.inject({
      method: 'POST',
      url: url(KEYS.ingest),
      payload: record('hp-query-on'),
    });
    expect([taken.statusCode, taken.json()]).toEqual([200, SUCCESS]);
    expect(await landedCounts(allowing, ['hp-query-on'])).toEqual(once(['hp-query-on']));
    // Logged URLs carry no key.
    expect(loggableUrl(`/services/collector/raw?channel=c&token=${KEYS.ingest}&x=1`)).toBe(
      '/services/collector/raw?channel=c&token=[redacted]&x=1',
    );
  });

  it.each(['/services/collector/health', '/services/collector/health/1.0'])(
    'GET %s without a token: HEC is healthy (17) while the broker answers',
    async (url) => {
      const response = await collector.app.inject({ method: 'GET', url });
      expect([response.statusCode, response.json()]).toEqual([200, { text: 'HEC is healthy', code: 17 }]);
    },
  );
});
