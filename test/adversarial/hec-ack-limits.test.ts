/**
 * The acknowledgement tables of HEC under a hostile sender: channel ids and ackIds are the sender's to
 * choose, so both tables are bounded, and one sender's flood costs only its own acknowledgements.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCollector } from '../../collector/index.ts';
import { collectorConfig, KEYS, samples } from '../../collector/test/support.ts';

const LIMITS = { maxChannels: 4, maxPendingPerChannel: 3, maxAckIdsPerQuery: 5 };

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildCollector(collectorConfig({ splunkHec: { ack: { enabled: true, ...LIMITS } } }));
});
afterAll(async () => {
  await app.close();
});

let sequence = 0;
async function sendOn(channel: string, key: string = KEYS.ingest): Promise<number> {
  const response = await app.inject({
    method: 'POST',
    url: '/services/collector/event',
    headers: { authorization: `Splunk ${key}`, 'x-splunk-request-channel': channel },
    payload: JSON.stringify({ event: samples.policyEvent(`ack-limit-${sequence++}`) }),
  });
  expect(response.statusCode, response.body).toBe(200);
  return (response.json() as { ackId: number }).ackId;
}

async function ask(channel: string, acks: unknown, key: string = KEYS.ingest) {
  const response = await app.inject({
    method: 'POST',
    url: '/services/collector/ack',
    headers: { authorization: `Splunk ${key}`, 'x-splunk-request-channel': channel },
    payload: JSON.stringify({ acks }),
  });
  return { status: response.statusCode, body: response.json() as Record<string, unknown> };
}

describe('HEC acknowledgements under a hostile sender', () => {
  it('a channel keeps its newest maxPendingPerChannel ackIds; older ones read false', async () => {
    const channel = randomUUID();
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await sendOn(channel));
    expect(ids).toEqual([0, 1, 2, 3, 4]);
    expect(await ask(channel, ids)).toEqual({
      status: 200,
      body: { acks: { 0: false, 1: false, 2: true, 3: true, 4: true } },
    });
  });

  it('a flood of new channels pushes out the least recently used, not the one in use', async () => {
    const kept = randomUUID();
    const keptAck = await sendOn(kept);
    for (let i = 0; i < LIMITS.maxChannels * 3; i++) {
      await sendOn(randomUUID());
      // The sender polling its channel keeps it recent, as a client waiting for its acks does.
      if (i % 2 === 0) expect((await ask(kept, [99])).status).toBe(200);
    }
    expect((await ask(kept, [keptAck])).body).toEqual({ acks: { [keptAck]: true } });
    const forgotten = randomUUID();
    const forgottenAck = await sendOn(forgotten);
    for (let i = 0; i < LIMITS.maxChannels; i++) await sendOn(randomUUID());
    expect((await ask(forgotten, [forgottenAck])).body).toEqual({ acks: { [forgottenAck]: false } });
  });

  it('asking about channels opens none: it cannot push out another sender’s', async () => {
    const channel = randomUUID();
    const ackId = await sendOn(channel);
    for (let i = 0; i < LIMITS.maxChannels * 10; i++) await ask(randomUUID(), [0], KEYS.admin);
    expect((await ask(channel, [ackId])).body).toEqual({ acks: { [ackId]: true } });
  });

  it('one /ack request asks about at most maxAckIdsPerQuery ackIds; more is code 6', async () => {
    const channel = randomUUID();
    const ackId = await sendOn(channel);
    expect(await ask(channel, [0, 1, 2, 3, 4, 5])).toEqual({
      status: 400,
      body: { text: 'Invalid data format', code: 6 },
    });
    for (const acks of [[-1], [1.5], ['0'], [2 ** 60]]) {
      expect((await ask(channel, acks)).body, JSON.stringify(acks)).toMatchObject({ code: 6 });
    }
    expect((await ask(channel, [ackId])).body).toEqual({ acks: { [ackId]: true } });
  });
});
