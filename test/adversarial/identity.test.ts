import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { agentBinding } from '../../collector/plugins/auth/index.ts';
import { bearer, sha256Hex } from '../../collector/test/support.ts';
import { goodRecord, type Harness, startHarness } from './collector-support.ts';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const KEY = { attacker: 'key-attacker', victim: 'key-victim', bound: 'key-bound' } as const;
const keys = [
  { id: 'attacker', sha256: sha256Hex(KEY.attacker), scopes: ['ingest'] },
  { id: 'victim', sha256: sha256Hex(KEY.victim), scopes: ['ingest'] },
  { id: 'bound', sha256: sha256Hex(KEY.bound), scopes: ['ingest'], agents: ['team-a-*', 'build-??'] },
];

let now = Date.parse('2026-12-01T10:00:00Z');
const clock = () => now;

async function start(overrides: Parameters<typeof startHarness>[0] = {}) {
  harness = await startHarness({ auth: { keys }, ...overrides }, { clock });
  return harness;
}

const post = (key: string, records: readonly string[]) =>
  harness!.app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { ...bearer(key), 'content-type': 'application/x-ndjson' },
    payload: records.join('\n'),
  });

describe('a key bound to agent ids', () => {
  it('control: an unbound key may send for any agent', async () => {
    await start();
    const response = await post(KEY.attacker, [goodRecord('free-1', 'victim-agent')]);
    expect(response.json()).toMatchObject({ accepted: 1, rejected: 0 });
  });

  it('refuses, per record, records for agents outside its patterns; its own agents pass beside them', async () => {
    await start();
    const response = await post(KEY.bound, [
      goodRecord('bound-1', 'team-a-laptop'),
      goodRecord('bound-2', 'victim-agent'),
      goodRecord('bound-3', 'build-07'),
      goodRecord('bound-4', 'build-007'),
    ]);
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({
      accepted: 2,
      rejected: 2,
      errors: [
        {
          index: 1,
          line: 2,
          field: 'agentId',
          message: 'key:bound may not send records for agent "victim-agent"',
        },
        {
          index: 3,
          line: 4,
          field: 'agentId',
          message: 'key:bound may not send records for agent "build-007"',
        },
      ],
    });
    await harness!.waitForIds(['bound-1', 'bound-3']);
    expect(harness!.publishedIds().has('bound-2')).toBe(false);
    const metrics = (await harness!.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain(
      'edr_collector_records_rejected_total{protocol="events",reason="forbidden_agent"} 2',
    );
  });

  it('matches as a full-string regex with * as .* and ? as . would (property)', () => {
    const asRegex = (pattern: string) =>
      new RegExp(
        `^${pattern
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replaceAll('*', '.*')
          .replaceAll('?', '.')}$`,
        's',
      );
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: fc.constantFrom('a', 'b', '*', '?', '.', '/'), maxLength: 8 }), {
          minLength: 1,
          maxLength: 3,
        }),
        fc.string({ unit: fc.constantFrom('a', 'b', '.', '/'), maxLength: 12 }),
        (patterns, id) => {
          expect(agentBinding(patterns)!(id)).toBe(patterns.some((pattern) => asRegex(pattern).test(id)));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('matches patterns in time linear in the id (no backtracking on many stars)', () => {
    const matches = agentBinding(['*a*a*a*a*a*a*a*a*b'])!;
    const id = 'a'.repeat(100_000);
    const started = performance.now();
    expect(matches(id)).toBe(false);
    expect(performance.now() - started).toBeLessThan(50);
    expect(matches(`${id}b`)).toBe(true);
  });
});

describe('rate limits per (key, agent) and per key', () => {
  const limits = {
    rateLimit: {
      enabled: true,
      perKey: { ratePerSecond: 1_000, burst: 1_000 },
      perAgent: { ratePerSecond: 10, burst: 100 },
      perKeyRecords: { ratePerSecond: 50, burst: 500 },
    },
  };
  const batch = (prefix: string, count: number, agentId: (i: number) => string) =>
    Array.from({ length: count }, (_, i) => goodRecord(`${prefix}-${i}`, agentId(i)));

  it("a flood as victim-agent by one key leaves the victim's own key unlimited", async () => {
    await start(limits);
    // 10k records as the victim, in 100-record requests: the first passes, then its bucket is empty.
    let limited = 0;
    for (let request = 0; request < 100; request++) {
      const response = await post(
        KEY.attacker,
        batch(`flood-${request}`, 100, () => 'victim-agent'),
      );
      if (response.statusCode === 429) limited++;
    }
    expect(limited).toBeGreaterThanOrEqual(98);
    const victim = await post(
      KEY.victim,
      batch('real', 50, () => 'victim-agent'),
    );
    expect(victim.statusCode).toBe(202);
    expect(victim.json()).toMatchObject({ accepted: 50, rejected: 0 });
    await harness!.waitForIds(Array.from({ length: 50 }, (_, i) => `real-${i}`));
  });

  it("reports a limited agent the protocol's retryable way: _bulk items 429, HEC busy (429)", async () => {
    await start(limits);
    expect(
      (
        await post(
          KEY.attacker,
          batch('fill', 100, () => 'noisy'),
        )
      ).statusCode,
    ).toBe(202);
    const records = [goodRecord('bulk-noisy', 'noisy'), goodRecord('bulk-quiet', 'quiet')];
    const bulk = await harness!.app.inject({
      method: 'POST',
      url: '/_bulk',
      headers: { ...bearer(KEY.attacker), 'content-type': 'application/x-ndjson' },
      payload: `${records.map((record) => `{"create":{}}\n${record}`).join('\n')}\n`,
    });
    expect(bulk.statusCode).toBe(200);
    expect(bulk.json()).toMatchObject({
      errors: true,
      items: [
        { create: { status: 429, error: { type: 'es_rejected_execution_exception' } } },
        { create: { status: 201, _id: 'bulk-quiet' } },
      ],
    });
    const hec = await harness!.app.inject({
      method: 'POST',
      url: '/services/collector/event',
      headers: { authorization: `Splunk ${KEY.attacker}` },
      payload: records.map((record) => `{"event":${record}}`).join('\n'),
    });
    // HEC refuses the whole batch (nothing of it published): its sender resends all of it, which would
    // duplicate any event taken from it now.
    expect(hec.statusCode).toBe(429);
    expect(hec.json()).toEqual({ text: 'Server is busy', code: 9 });
  });

  it('control: the same flood by the victim key itself limits the victim, as it should', async () => {
    await start(limits);
    expect(
      (
        await post(
          KEY.victim,
          batch('self-a', 100, () => 'victim-agent'),
        )
      ).statusCode,
    ).toBe(202);
    expect(
      (
        await post(
          KEY.victim,
          batch('self-b', 10, () => 'victim-agent'),
        )
      ).statusCode,
    ).toBe(429);
  });

  it('a key spreading its flood over many agent ids is stopped by its record budget; other keys are not', async () => {
    await start(limits);
    const spread = (prefix: string) => batch(prefix, 100, (i) => `${prefix}-agent-${i}`);
    const statuses: number[] = [];
    for (let request = 0; request < 8; request++) {
      statuses.push((await post(KEY.attacker, spread(`spread-${request}`))).statusCode);
    }
    // 500 records of budget: five requests pass (the fifth overdraws it once), then 429.
    expect(statuses).toEqual([202, 202, 202, 202, 202, 429, 429, 429]);
    const other = await post(KEY.victim, spread('other'));
    expect(other.json()).toMatchObject({ accepted: 100, rejected: 0 });
    now += 10_000; // 500 records refilled
    expect((await post(KEY.attacker, spread('later'))).statusCode).toBe(202);
  });
});

describe('deduplication within a request, by (agentId, eventId)', () => {
  it('counts a repeat with the same content as a duplicate, published once', async () => {
    await start();
    const response = await post(KEY.victim, [goodRecord('dup-1'), goodRecord('dup-1')]);
    expect(response.json()).toEqual({ accepted: 2, rejected: 0, errors: [] });
    await harness!.waitForIds(['dup-1']);
    expect(harness!.messages.filter((message) => message.headers['edr-event-id'] === 'dup-1')).toHaveLength(
      1,
    );
  });

  it("reports a repeated id with different content as that record's error", async () => {
    await start();
    const changed = goodRecord('dup-2').replace('/srv/project/README.md', '/etc/shadow');
    const response = await post(KEY.victim, [goodRecord('dup-2'), changed]);
    expect(response.json()).toEqual({
      accepted: 1,
      rejected: 1,
      errors: [
        {
          index: 1,
          line: 2,
          field: 'eventId',
          message: 'repeats the eventId of record 0 (same agent) with different content',
        },
      ],
    });
  });

  it('publishes a repeat with other content that comes in a later request: only one request is compared', async () => {
    // The processor's engine drops the copy and Elasticsearch keeps the first (409): docs/scaling.md.
    await start();
    const changed = goodRecord('dup-3').replace('/srv/project/README.md', '/etc/shadow');
    expect((await post(KEY.victim, [goodRecord('dup-3')])).json()).toMatchObject({
      accepted: 1,
      rejected: 0,
    });
    expect((await post(KEY.victim, [changed])).json()).toMatchObject({ accepted: 1, rejected: 0 });
    await vi.waitFor(() =>
      expect(harness!.messages.filter((message) => message.headers['edr-event-id'] === 'dup-3')).toHaveLength(
        2,
      ),
    );
  });

  it('keeps the same eventId from two agents: both are published', async () => {
    await start();
    const response = await post(KEY.victim, [
      goodRecord('shared-id', 'agent-1'),
      goodRecord('shared-id', 'agent-2'),
    ]);
    expect(response.json()).toMatchObject({ accepted: 2, rejected: 0 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const copies = harness!.messages.filter((message) => message.headers['edr-event-id'] === 'shared-id');
    expect(copies.map((message) => JSON.parse(Buffer.from(message.value).toString()).agentId).sort()).toEqual(
      ['agent-1', 'agent-2'],
    );
  });
});

describe('HMAC-signed sources: replay protection', () => {
  const SECRET = 'whsec-replay';
  const webhook = (target: string, timestamp: string) =>
    JSON.stringify({
      event: 'violation.detected',
      timestamp,
      data: {
        actionType: 'shell',
        target,
        guard: 'forbidden_path',
        severity: 'critical',
        agentId: 'agent-9',
      },
    });
  const sendSigned = (payload: string) =>
    harness!.app.inject({
      method: 'POST',
      url: '/ingest/hushd-cert',
      headers: {
        'content-type': 'application/json',
        'x-clawdstrike-event': 'violation.detected',
        'x-clawdstrike-signature': `sha256=${createHmac('sha256', SECRET).update(payload).digest('hex')}`,
      },
      payload,
    });
  const signedSource = (replay: Record<string, unknown> = {}) => ({
    sources: { 'hushd-cert': { hmacSecret: SECRET, replay: { windowSeconds: 300, ...replay } } },
  });

  it('accepts a signed body once; the same body again is refused (409), even much later', async () => {
    await start(signedSource());
    const body = webhook('rm -rf /', new Date(now).toISOString());
    const first = await sendSigned(body);
    expect(first.statusCode).toBe(202);
    expect(first.json()).toMatchObject({ accepted: 1 });
    const replay = await sendSigned(body);
    expect(replay.statusCode).toBe(409);
    expect(replay.json()).toMatchObject({ error: { code: 'EDR_ERR_REPLAYED' } });
    // Past the window the signature is forgotten, and the body's own time refuses it instead.
    now += 301_000;
    const late = await sendSigned(body);
    expect(late.json()).toMatchObject({
      accepted: 0,
      rejected: 1,
      errors: [{ index: 0, field: 'timestamp', message: expect.stringContaining('replay window') }],
    });
  });

  it('refuses a signed record dated outside the window (an old capture), accepts a fresh one', async () => {
    await start(signedSource());
    const old = await sendSigned(webhook('old', new Date(now - 3_600_000).toISOString()));
    expect(old.json()).toMatchObject({ accepted: 0, rejected: 1 });
    const fresh = await sendSigned(webhook('fresh', new Date(now - 60_000).toISOString()));
    expect(fresh.json()).toMatchObject({ accepted: 1, rejected: 0 });
  });

  it('forgets the signature of a request that was not accepted, so its retry is not a replay', async () => {
    await start({
      ...signedSource(),
      rateLimit: { enabled: true, perKey: { ratePerSecond: 1, burst: 1 } },
    });
    expect((await sendSigned(webhook('one', new Date(now).toISOString()))).statusCode).toBe(202);
    const body = webhook('two', new Date(now).toISOString());
    expect((await sendSigned(body)).statusCode).toBe(429);
    now += 1_000;
    expect((await sendSigned(body)).statusCode).toBe(202);
  });

  it('keeps at most maxTracked signatures: when all are within the window, new ones wait (429)', async () => {
    await start(signedSource({ maxTracked: 2 }));
    const at = new Date(now).toISOString();
    expect((await sendSigned(webhook('a', at))).statusCode).toBe(202);
    expect((await sendSigned(webhook('b', at))).statusCode).toBe(202);
    const full = await sendSigned(webhook('c', at));
    expect(full.statusCode).toBe(429);
    expect(Number(full.headers['retry-after'])).toBeGreaterThan(0);
  });
});
