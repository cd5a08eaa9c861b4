import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../engine/model/index.ts';
import {
  deliver,
  goodRecord,
  type Harness,
  hostileRecord,
  ROUTES,
  send,
  startHarness,
  undecodable,
} from './collector-support.ts';

/**
 * One record fails its siblings (issue 13): each of these made the collector answer 500 for the whole
 * request, so the good records beside it were lost and the sender retried forever. Now each is refused as
 * that record, or kept under the record limits (time flagged as untrusted, strings cut), and decodes.
 */
/** What became of the hostile record: refused as record 1, or kept (flagged or cut) and decodable. */
type Fate = { refused: true } | { refused: false; check: (envelope: Envelope) => void };
const refused: Fate = { refused: true };
const kept = (check: (envelope: Envelope) => void): Fate => ({ refused: false, check });
const untrustedClock = kept((envelope) =>
  expect(envelope.integrity).toMatchObject({ clock: 'future', claimedTimestamp: expect.any(String) }),
);

const HOSTILE: readonly { name: string; part: { field: string; json: string }; fate: Fate }[] = [
  { name: 'timestamp 1e20', part: { field: 'timestamp', json: '1e20' }, fate: untrustedClock },
  {
    name: 'timestamp past year 9999 (ms)',
    part: { field: 'timestamp', json: '253402300800000' },
    fate: untrustedClock,
  },
  {
    name: 'data nested 4,000 deep',
    part: {
      field: 'data',
      json: `{"type":"file","path":"/x","operation":"read","deep":${'['.repeat(4_000)}${']'.repeat(4_000)}}`,
    },
    fate: refused,
  },
  { name: 'data.type "constructor"', part: { field: 'data.type', json: '"constructor"' }, fate: refused },
  {
    name: 'eventType "__proto__"',
    part: { field: 'eventType', json: '"__proto__"' },
    fate: kept((envelope) =>
      expect(envelope).toMatchObject({ eventType: 'custom', originalType: '__proto__' }),
    ),
  },
  { name: 'eventId an object', part: { field: 'eventId', json: '{"toString":1}' }, fate: refused },
  {
    name: 'a 2 MB path (over the broker record size)',
    part: { field: 'data.path', json: JSON.stringify(`/${'a'.repeat(2 * 1024 * 1024)}`) },
    fate: kept((envelope) => {
      expect(envelope.integrity?.truncated).toContain('data.path');
      expect(Buffer.byteLength(JSON.stringify(envelope))).toBeLessThanOrEqual(1_000_000);
    }),
  },
];

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness();
});
afterAll(async () => {
  await harness.close();
});

describe.each(ROUTES)('$name: a hostile record costs only itself', (route) => {
  it('control: three good records are all published', async () => {
    const ids = ['a', 'b', 'c'].map((suffix) =>
      `${route.name}-control-${suffix}`.replace(/[^A-Za-z0-9_.-]+/g, '-'),
    );
    const replies = await send(
      harness.app,
      route,
      ids.map((id) => goodRecord(id)),
    );
    expect(replies.map((reply) => reply.statusCode).every((status) => status < 300)).toBe(true);
    expect(route.refused(replies)).toEqual([]);
    await harness.waitForIds(ids);
  });

  it.each(HOSTILE)(
    '$name: costs only itself, its siblings published, never a 500',
    async ({ name, part, fate }) => {
      // Ids are plain printable text (no quotes): the case name is not.
      const tag = `${route.name}-${name}`.replace(/[^A-Za-z0-9_.-]+/g, '-');
      const before = `${tag}-before`;
      const after = `${tag}-after`;
      const hostile = `${tag}-hostile`;
      const { replies, refused } = await deliver(harness.app, route, [
        goodRecord(before),
        hostileRecord(hostile, part),
        goodRecord(after),
      ]);
      for (const reply of replies) expect(reply.statusCode, reply.body.slice(0, 300)).toBeLessThan(500);
      expect(refused).toEqual(fate.refused ? [1] : []);
      await harness.waitForIds(fate.refused ? [before, after] : [before, hostile, after]);
      const mine = harness.messages.filter((message) => message.headers['edr-event-id']?.startsWith(tag));
      // HEC: `after` was held back by the refusal and came with the resend, once.
      expect(mine.filter((message) => message.headers['edr-event-id'] === after)).toHaveLength(1);
      expect(undecodable(mine)).toEqual([]);
      const published = mine.find((message) => message.headers['edr-event-id'] === hostile);
      if (fate.refused) expect(published).toBeUndefined();
      else fate.check(JSON.parse(Buffer.from(published!.value).toString()) as Envelope);
    },
  );
});

describe('what a refusal says', () => {
  it('names the index, line and field of the record (NDJSON)', async () => {
    const replies = await send(harness.app, ROUTES[1]!, [
      goodRecord('say-1'),
      hostileRecord('say-2', { field: 'timestamp', json: '"2026-02-30T10:00:00Z"' }),
    ]);
    expect(JSON.parse(replies[0]!.body)).toMatchObject({
      accepted: 1,
      rejected: 1,
      errors: [{ index: 1, line: 2, field: 'timestamp', message: expect.any(String) }],
    });
  });

  it('OTLP: timeUnixNano "abc" is that log record\'s error; its siblings are published', async () => {
    const logRecord = (id: string, timeUnixNano: string) => ({
      timeUnixNano,
      attributes: [
        { key: 'hush.audit.id', value: { stringValue: id } },
        { key: 'hush.audit.event_type', value: { stringValue: 'check' } },
        { key: 'hush.audit.action_type', value: { stringValue: 'file_access' } },
        { key: 'hush.audit.target', value: { stringValue: '/etc/hosts' } },
        { key: 'hush.audit.decision', value: { stringValue: 'allowed' } },
      ],
    });
    const response = await harness.app.inject({
      method: 'POST',
      url: '/v1/logs',
      headers: { authorization: 'Bearer key-ingest', 'content-type': 'application/json' },
      payload: {
        resourceLogs: [
          {
            scopeLogs: [
              {
                logRecords: [
                  logRecord('otlp-nano-1', '1764583200000000000'),
                  logRecord('otlp-nano-2', 'abc'),
                  { attributes: 'not a list' },
                  logRecord('otlp-nano-4', '1764583200000000000'),
                ],
              },
            ],
          },
        ],
      },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      partialSuccess: {
        rejectedLogRecords: '2',
        errorMessage: expect.stringMatching(/^\[1\] timeUnixNano: .*; \[2\] attributes: /),
      },
    });
    await harness.waitForIds(['otlp-nano-1', 'otlp-nano-4']);
  });
});
