import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createEngine,
  DEFAULT_RECORD_LIMITS,
  type Envelope,
  EnvelopeSchema,
  parseRecord,
} from '../../engine/index.ts';
import { bundledRules } from '../engine/helpers.ts';
import { fileRead, iso, roundTrip, T0 } from './records-support.ts';

/**
 * Issue 13: "One record fails its siblings" (1e20, data 4,000 deep, data.type constructor made the collector
 * answer 500), "202, then loss" (8.64e15-range times and hushd action_type constructor/toString accepted,
 * then dead-lettered by the processor), "No size limits on fields", "data.__proto__ is stored as the key
 * [object Object]", and a 600-byte eventId that Elasticsearch refuses as _id. Each hostile record is either
 * refused with its own error or kept with a marker, never a throw; what parseRecord accepts, decodeEvent
 * decodes from the bytes as published, to the same envelope.
 */

const receivedAt = iso(T0);
const policy = (fields: Record<string, unknown>, data: Record<string, unknown> = {}) => ({
  eventId: 'e1',
  eventType: 'file_read',
  timestamp: iso(T0 - 1_000),
  sessionId: 'sess-1',
  agentId: 'agent-1',
  ...fields,
  data: { type: 'file', path: '/srv/a', operation: 'read', ...data },
});
const audit = (fields: Record<string, unknown>) => ({
  id: 'h1',
  timestamp: iso(T0 - 1_000),
  event_type: 'policy_check',
  action_type: 'file_access',
  target: '/etc/hosts',
  decision: 'allowed',
  session_id: 'sess-1',
  agent_id: 'agent-1',
  ...fields,
});

function nested(levels: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < levels; i++) value = { down: value };
  return value;
}

/** Levels of objects and arrays in `value`, the outermost counting 1. */
function depth(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let deepest = 0;
  for (const child of Object.values(value)) deepest = Math.max(deepest, depth(child));
  return deepest + 1;
}

const path4mb = `/srv/${'a'.repeat(4 * 1024 * 1024)}`;

type Expectation = { refused: { field: string; message: RegExp } } | { kept: (envelope: Envelope) => void };

const hostile: Array<[string, unknown, Expectation]> = [
  [
    'timestamp 1e20',
    policy({ timestamp: 1e20 }),
    {
      kept: (e) =>
        expect(e.integrity).toEqual({ clock: 'future', claimedTimestamp: '100000000000000000000' }),
    },
  ],
  [
    'timestamp 253402300800000 ms (year 10000)',
    policy({ timestamp: 253_402_300_800_000 }),
    { kept: (e) => expect([e.timestamp, e.integrity?.clock]).toEqual([receivedAt, 'future']) },
  ],
  [
    'timestamp 8.64e15 ms',
    audit({ timestamp: 8.64e15 }),
    { kept: (e) => expect([e.timestamp, e.integrity?.clock]).toEqual([receivedAt, 'future']) },
  ],
  [
    'timestamp 8.64e15 + 1 ms (no Date holds it)',
    audit({ timestamp: 8.64e15 + 1 }),
    { kept: (e) => expect(e.integrity?.claimedTimestamp).toBe('8640000000000001') },
  ],
  [
    'data 4,000 deep',
    policy({}, { deep: nested(4_000) }),
    {
      kept: (e) => {
        expect(depth(e)).toBe(DEFAULT_RECORD_LIMITS.maxDepth);
        expect(e.integrity?.truncated).toEqual([`data.deep${'.down'.repeat(18)}`]);
      },
    },
  ],
  [
    'data.type constructor',
    policy({ eventType: 'custom' }, { type: 'constructor' }),
    { refused: { field: 'data.type', message: /must be "custom" for eventType custom/ } },
  ],
  [
    'data.type constructor on an unknown eventType',
    policy({ eventType: 'probe' }, { type: 'constructor' }),
    {
      kept: (e) =>
        expect([e.eventType, e.originalType, e.data.type]).toEqual(['custom', 'probe', 'constructor']),
    },
  ],
  [
    'data.type __proto__ and toString',
    { ...policy({ eventType: 'toString' }), data: { type: '__proto__' } },
    {
      kept: (e) =>
        expect([e.eventType, e.originalType, e.data.type]).toEqual(['custom', 'toString', '__proto__']),
    },
  ],
  [
    'eventType __proto__',
    { ...policy({ eventType: '__proto__' }), data: { type: 'x' } },
    { kept: (e) => expect(e.originalType).toBe('__proto__') },
  ],
  [
    'hushd action_type constructor',
    audit({ action_type: 'constructor' }),
    { kept: (e) => expect([e.eventType, e.originalType]).toEqual(['custom', 'constructor']) },
  ],
  [
    'hushd action_type toString',
    audit({ action_type: 'toString' }),
    { kept: (e) => expect([e.eventType, e.originalType]).toEqual(['custom', 'toString']) },
  ],
  [
    'SecurityEvent action __proto__',
    {
      schema_version: '1.0.0',
      event_id: 's1',
      event_type: 'policy_violation',
      timestamp: iso(T0 - 1_000),
      agent: { id: 'agent-1' },
      session: { id: 'sess-1' },
      outcome: 'failure',
      action: '__proto__',
      decision: { allowed: false },
      resource: { type: 'file', name: 'x', path: '/x' },
    },
    { kept: (e) => expect([e.eventType, e.originalType]).toEqual(['custom', '__proto__']) },
  ],
  [
    '600-byte eventId',
    policy({ eventId: 'x'.repeat(600) }),
    { refused: { field: 'eventId', message: /longer than limits\.record\.maxIdBytes \(256 UTF-8 bytes\)/ } },
  ],
  [
    '10 KB agentId',
    policy({ agentId: 'a'.repeat(10_240) }),
    { refused: { field: 'agentId', message: /longer than limits\.record\.maxIdBytes/ } },
  ],
  [
    '10 KB sessionId of a hushd record',
    audit({ session_id: 's'.repeat(10_240) }),
    { refused: { field: 'sessionId', message: /longer than limits\.record\.maxIdBytes/ } },
  ],
  [
    'eventId with a newline',
    policy({ eventId: 'a\nb' }),
    { refused: { field: 'eventId', message: /control character/ } },
  ],
  [
    '4 MB path',
    policy({}, { path: path4mb }),
    {
      kept: (e) => {
        const path = e.data.path as string;
        expect(Buffer.byteLength(path)).toBeLessThanOrEqual(DEFAULT_RECORD_LIMITS.maxStringBytes);
        expect(path.startsWith('/srv/aaaa')).toBe(true);
        expect(path.endsWith('…[truncated]')).toBe(true);
        expect(e.target).toBe(path);
        expect(e.integrity?.truncated).toEqual(['target', 'data.path']);
      },
    },
  ],
  [
    '4 MB hushd target',
    audit({ target: path4mb }),
    {
      kept: (e) =>
        expect(Buffer.byteLength(e.target)).toBeLessThanOrEqual(DEFAULT_RECORD_LIMITS.maxStringBytes),
    },
  ],
  [
    '40 tool parameters of 60 KB (2.4 MB in all)',
    {
      ...policy({ eventType: 'tool_call' }),
      data: {
        type: 'tool',
        toolName: 'run_python',
        parameters: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`p${i}`, 'v'.repeat(60_000)])),
      },
    },
    {
      kept: (e) => {
        expect(Buffer.byteLength(JSON.stringify(e))).toBeLessThanOrEqual(
          DEFAULT_RECORD_LIMITS.maxRecordBytes,
        );
        // The short fields stay whole: a rule on the tool name still fires.
        expect(e.target).toBe('run_python');
        expect(e.integrity?.truncated).toHaveLength(16);
      },
    },
  ],
  [
    '20,000 keys in metadata',
    { ...policy({}), metadata: Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i])) },
    {
      kept: (e) => {
        expect(Object.keys(e.metadata)).toHaveLength(DEFAULT_RECORD_LIMITS.maxFields - 3);
        expect(e.integrity?.truncated).toEqual(['metadata']);
      },
    },
  ],
];

describe('hostile records', () => {
  it.each(hostile)(
    '%s: refused with its own error or kept with a marker; what is kept decodes as published',
    (_, raw, expected) => {
      // As the collector sees it: JSON text parsed.
      const record = JSON.parse(JSON.stringify(raw)) as unknown;
      const parsed = parseRecord(record, { receivedAt });
      if ('refused' in expected) {
        expect(parsed.ok).toBe(false);
        if (parsed.ok) return;
        expect(parsed.error).toHaveLength(1);
        expect(parsed.error[0]!.field).toBe(expected.refused.field);
        expect(parsed.error[0]!.message).toMatch(expected.refused.message);
        return;
      }
      expect(parsed.ok ? 'kept' : parsed.error).toBe('kept');
      if (!parsed.ok) return;
      expected.kept(parsed.value);
      expect(EnvelopeSchema.safeParse(parsed.value).success).toBe(true);
      const decoded = roundTrip(parsed, T0 + 5);
      expect(decoded).toEqual({ ok: true, event: parsed.value });
    },
  );

  it('keeps __proto__, constructor and prototype keys as data, through the topic and into rules', () => {
    const text =
      '{"eventId":"p1","eventType":"tool_call","timestamp":"2026-03-02T09:59:59Z","agentId":"agent-1",' +
      '"data":{"type":"tool","toolName":"x","__proto__":{"polluted":1},"constructor":"c","prototype":"p",' +
      '"parameters":{"__proto__":"param","command":"ls"}},"metadata":{"__proto__":{"m":1},"toString":"t"},' +
      '"context":{"__proto__":"ctx"}}';
    const parsed = parseRecord(JSON.parse(text), { receivedAt });
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const { data, metadata } = parsed.value;
    for (const [object, key, value] of [
      [data, '__proto__', { polluted: 1 }],
      [data, 'constructor', 'c'],
      [data, 'prototype', 'p'],
      [data.parameters, '__proto__', 'param'],
      [metadata, '__proto__', { m: 1 }],
      [metadata, 'toString', 't'],
      [metadata.context, '__proto__', 'ctx'],
    ] as const) {
      expect([key, Object.hasOwn(object as object, key)]).toEqual([key, true]);
      expect(Object.getOwnPropertyDescriptor(object, key)?.value).toEqual(value);
    }
    // Not the key "[object Object]", and nothing reached Object.prototype.
    expect(Object.keys(data)).not.toContain('[object Object]');
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const decoded = roundTrip(parsed, T0);
    expect(decoded.ok && Object.hasOwn(decoded.event.data, '__proto__')).toBe(true);
    expect(decoded).toEqual({ ok: true, event: parsed.value });
    // snake_case aliases (renamed by hand) keep them too.
    const snake = parseRecord(
      JSON.parse(text.replace('"eventId"', '"event_id"').replace('"toolName"', '"tool_name"')),
      {
        receivedAt,
      },
    );
    expect(snake.ok && Object.getOwnPropertyDescriptor(snake.value.data, '__proto__')?.value).toEqual({
      polluted: 1,
    });
  });

  it('dedupes by (agentId, eventId): another agent reusing an id is not dropped', () => {
    const engine = createEngine({ rules: bundledRules(['CLOUD_CREDENTIAL_FILE_ACCESS']), clock: () => T0 });
    const event = (agentId: string) => {
      const parsed = parseRecord(
        fileRead('shared-id', agentId, iso(T0 - 1_000), '/home/u/.aws/credentials'),
        {
          receivedAt,
        },
      );
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
      return parsed.value;
    };
    const alerts = [event('agent-a'), event('agent-b'), event('agent-a')].flatMap((e) => engine.process(e));
    expect(alerts.map((alert) => alert.agentId)).toEqual(['agent-a', 'agent-b']);
    expect(engine.stats()).toMatchObject({ eventsProcessed: 2, duplicatesDropped: 1 });
    // The snapshot keeps the pair; a restored engine still drops agent-a's repeat and not agent-b's.
    const snapshot = engine.snapshot();
    expect(snapshot.dedupe.map(([agentId, eventId]) => [agentId, eventId])).toEqual([
      ['agent-a', 'shared-id'],
      ['agent-b', 'shared-id'],
    ]);
    const restored = createEngine({ rules: bundledRules(['CLOUD_CREDENTIAL_FILE_ACCESS']), clock: () => T0 });
    restored.restore(JSON.parse(JSON.stringify(snapshot)));
    restored.process(event('agent-a'));
    expect(restored.stats().duplicatesDropped).toBe(1);
    // A version 1 checkpoint (dedupe by id alone) is still read, without its dedupe entries.
    const v1 = { ...snapshot, version: 1, dedupe: [['shared-id', T0]] };
    expect(() => restored.restore(v1)).not.toThrow();
    expect(restored.stats().state.dedupeEntries).toBe(0);
  });
});

describe('replay through the CLI', () => {
  const CLI = new URL('../../cli/main.ts', import.meta.url).pathname;
  const run = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8' });

  it('names file:line of each bad line and reads on: the burst after them still raises its alerts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'replay-hostile-'));
    const file = join(dir, 'events.jsonl');
    const base = Date.parse('2026-03-02T10:00:00.000Z');
    const reads = (from: number, count: number, prefix: string) =>
      Array.from({ length: count }, (_, i) =>
        JSON.stringify(
          fileRead(`${prefix}${i}`, 'agent-1', iso(base + (from + i) * 100), `/srv/${prefix}${i}`),
        ),
      );
    const lines = [
      ...reads(0, 60, 'a'),
      '{"eventId":"bad-json",',
      JSON.stringify(fileRead('feb30', 'agent-1', '2026-02-30T10:00:00Z', '/x')),
      JSON.stringify(policy({ eventId: 'x'.repeat(600) })),
      JSON.stringify(policy({ eventId: 'deep', timestamp: iso(base + 6_000) }, { deep: nested(4_000) })),
      JSON.stringify(fileRead('future', 'agent-1', '9999-12-31T00:00:00Z', '/srv/future')),
      JSON.stringify(fileRead('huge', 'agent-1', 1e20, '/srv/huge')),
      ...reads(60, 60, 'b'),
    ];
    writeFileSync(file, `${lines.join('\n')}\n`);
    const result = run(['replay', '--rules', new URL('../../rules/', import.meta.url).pathname, file]);
    expect(result.status).toBe(0);
    expect(result.stderr).toContain(`${file}:61: invalid JSON`);
    expect(result.stderr).toContain(`${file}:62: timestamp: "2026-02-30T10:00:00Z" is not a time`);
    expect(result.stderr).toContain(`${file}:63: eventId: is longer than limits.record.maxIdBytes`);
    expect(result.stderr).toContain('3 bad lines');
    const alerts = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { ruleId: string; eventCount: number; eventIds: string[] });
    // The 120 reads around the bad lines (and the deep, future and huge ones kept) make one burst.
    const burst = alerts.filter((alert) => alert.ruleId === 'RAPID_FILE_ENUMERATION');
    expect(burst).toHaveLength(1);
    expect(burst[0]!.eventCount).toBeGreaterThan(100);
    expect(burst[0]!.eventIds).toContain('b0');
    // The two forged times are findings of their own, one alert per session within 10 minutes.
    expect(
      alerts.filter((alert) => alert.ruleId === 'TELEMETRY_CLOCK_TAMPERING').map((a) => a.eventIds),
    ).toEqual([['future']]);
  });

  it('applies the limits section of --config (the same keys as the collector and processor)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'replay-limits-'));
    const file = join(dir, 'events.jsonl');
    const lines = [
      fileRead('short-id', 'agent-1', iso(T0), '/srv/a'),
      fileRead('an-id-longer-than-sixteen', 'agent-1', iso(T0), '/srv/b'),
    ];
    writeFileSync(file, `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`);
    const config = join(dir, 'config.yaml');
    writeFileSync(config, 'limits:\n  record:\n    maxIdBytes: 16\n');
    const result = run(['replay', '--config', config, file]);
    expect(result.status).toBe(0);
    expect(result.stderr).toContain(
      `${file}:2: eventId: is longer than limits.record.maxIdBytes (16 UTF-8 bytes)`,
    );
    expect(result.stderr).toContain('1 events, 1 bad lines');
    // A value out of range is a config error naming the key.
    writeFileSync(config, 'limits:\n  record:\n    maxIdBytes: 4096\n');
    const refused = run(['replay', '--config', config, file]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('limits.record.maxIdBytes');
  });
});
