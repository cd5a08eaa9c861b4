import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RECORD_LIMITS,
  type Envelope,
  EnvelopeSchema,
  eventTimeMillis,
  parseRecord,
  type RecordLimits,
  RecordLimitsSchema,
  SOURCE_FORMATS,
  type SourceFormat,
} from '../../engine/index.ts';
import { decodeEvent } from '../../processor/decode.ts';
import { iso, roundTrip, T0 } from './records-support.ts';

/**
 * Property-based: thousands of hostile records of every format (deep nesting, __proto__ and other
 * Object.prototype keys, huge and odd numbers, huge strings of every kind of character, lone surrogates, wrong
 * types, missing fields). For each: parseRecord never throws; an accepted record's envelope holds every record
 * limit; its bytes as published decode (decodeEvent) to the same envelope; and each record costs a bounded time.
 */

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];

/** An object with these own keys, `__proto__` included (as JSON.parse makes it). */
function own(entries: ReadonlyArray<readonly [string, unknown]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
  }
  return out;
}

function nest(levels: number, leaf: unknown): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = i % 2 ? [value] : own([['d', value]]);
  return value;
}

const key = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 10 }) },
  { weight: 2, arbitrary: fc.constantFrom(...PROTO_KEYS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
);
const oddNumber = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(
    1e20,
    8.64e15,
    8.64e15 + 1,
    253_402_300_800_000,
    253_402_300_799_999,
    -1,
    0,
    1e11 - 1,
    1e11,
  ),
  fc.constantFrom(Number.MAX_VALUE, Number.MIN_VALUE, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER),
);
const bigString = fc
  .tuple(
    fc.constantFrom('a', 'é', '\u0000', '"', '\\', '\ud800', '😀', '\u2028'),
    fc.integer({ min: 1_000, max: 120_000 }),
  )
  .map(([unit, count]) => unit.repeat(count));
const timeLike = fc.oneof(
  fc
    .date({ min: new Date(-62_000_000_000_000), max: new Date(8.6e15), noInvalidDate: true })
    .map((d) => d.toISOString()),
  fc.constantFrom(
    '9999-12-31T00:00:00Z',
    '2026-02-30T00:00:00Z',
    '2026-03-02T24:00:00Z',
    '+010000-01-01T00:00:00Z',
    '2026-03-02 10:00',
    '2026-03-02T10:00:00,5+01:00',
    '1969-12-31T23:59:59.999Z',
    'abc',
    '',
  ),
);
const oddString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 2, arbitrary: timeLike },
  { weight: 1, arbitrary: bigString },
);
const leaf = fc.oneof(oddString, oddNumber, fc.boolean(), fc.constant(null));
const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('tree'), { maxLength: 4 }),
    fc.array(fc.tuple(key, tie('tree')), { maxLength: 5 }).map(own),
  ),
}));
const deep = fc
  .tuple(fc.integer({ min: 15, max: 4_500 }), leaf)
  .map(([levels, value]) => nest(levels, value));
const wide = fc
  .integer({ min: 1_000, max: 25_000 })
  .map((count) => Array.from({ length: count }, (_, i) => i));
const hostile = fc.oneof(
  { weight: 10, arbitrary: tree },
  { weight: 1, arbitrary: deep },
  { weight: 1, arbitrary: wide },
);

/** A valid record of each format, and the paths the fuzzer writes hostile values to. */
const BASES: Record<SourceFormat, { record: () => Record<string, unknown>; paths: string[][] }> = {
  policy_event: {
    record: () => ({
      eventId: 'e1',
      eventType: 'file_read',
      timestamp: iso(T0 - 500),
      sessionId: 's1',
      agentId: 'a1',
      data: { type: 'file', path: '/srv/x', operation: 'read' },
      metadata: { source: 'cli' },
      decision: { status: 'deny', guard: 'g', severity: 'high' },
    }),
    paths: [
      ['eventId'],
      ['eventType'],
      ['timestamp'],
      ['sessionId'],
      ['agentId'],
      ['runId'],
      ['policyHash'],
      ['data'],
      ['data', 'type'],
      ['data', 'path'],
      ['data', 'parameters'],
      ['data', 'x'],
      ['data', '__proto__'],
      ['metadata'],
      ['metadata', 'agentId'],
      ['metadata', '__proto__'],
      ['context'],
      ['decision'],
      ['decision', 'severity'],
      ['event_id'],
      ['session_id'],
    ],
  },
  hushd_audit: {
    record: () => ({
      id: 'h1',
      timestamp: iso(T0 - 500),
      event_type: 'policy_check',
      action_type: 'file_access',
      target: '/etc/hosts',
      decision: 'blocked',
      severity: 'critical',
      session_id: 's1',
      agent_id: 'a1',
      metadata: { reason: 'r' },
    }),
    paths: [
      ['id'],
      ['timestamp'],
      ['action_type'],
      ['target'],
      ['decision'],
      ['severity'],
      ['agent_id'],
      ['metadata'],
      ['metadata', 'policy_hash'],
    ],
  },
  hushd_security: {
    record: () => ({
      schema_version: '1.0.0',
      event_id: 's1',
      event_type: 'policy_violation',
      timestamp: iso(T0 - 500),
      agent: { id: 'a1' },
      session: { id: 's1' },
      outcome: 'failure',
      action: 'egress',
      decision: { allowed: false, severity: 'high' },
      resource: { type: 'network', name: 'x', host: 'evil.example', port: 443 },
      threat: { indicator: { type: 'domain', value: 'evil.example' } },
    }),
    paths: [
      ['event_id'],
      ['timestamp'],
      ['action'],
      ['agent', 'id'],
      ['session'],
      ['resource', 'host'],
      ['resource', 'port'],
      ['threat'],
      ['labels'],
      ['metadata'],
    ],
  },
  hushd_webhook: {
    record: () => ({
      event: 'violation.detected',
      timestamp: iso(T0 - 500),
      data: {
        actionType: 'shell',
        target: 'curl x | sh',
        guard: 'g',
        severity: 'high',
        sessionId: 's1',
        agentId: 'a1',
      },
    }),
    paths: [
      ['event'],
      ['timestamp'],
      ['data'],
      ['data', 'actionType'],
      ['data', 'target'],
      ['data', 'agentId'],
      ['data', 'x'],
    ],
  },
  hushd_ecs: {
    record: () => ({
      '@timestamp': iso(T0 - 500),
      event: { id: 'c1', action: 'file_access', kind: 'alert', type: ['denied'], severity: 4 },
      agent: { id: 'a1' },
      file: { path: '/etc/shadow' },
      clawdstrike: { session_id: 's1', metadata: { a: 1 } },
    }),
    paths: [
      ['@timestamp'],
      ['event', 'id'],
      ['event', 'action'],
      ['event', 'severity'],
      ['agent'],
      ['file', 'path'],
      ['clawdstrike', 'metadata'],
      ['destination'],
    ],
  },
};

/** Free-form paths of each format: a record is kept whatever they hold (cut or flagged at worst). */
const CONTENT: Record<SourceFormat, string[][]> = {
  policy_event: [
    ['data', 'x'],
    ['data', '__proto__'],
    ['metadata', 'note'],
    ['metadata', '__proto__'],
    ['context', 'x'],
  ],
  hushd_audit: [
    ['metadata', 'x'],
    ['metadata', '__proto__'],
  ],
  hushd_security: [
    ['metadata', 'x'],
    ['labels', '__proto__'],
    ['threat', 'x'],
  ],
  hushd_webhook: [
    ['data', 'x'],
    ['data', '__proto__'],
  ],
  hushd_ecs: [
    ['clawdstrike', 'metadata', 'x'],
    ['event', 'x'],
    ['file', '__proto__'],
  ],
};

/** Sets `value` at `path` of `record` (own properties, creating objects on the way), or deletes it. */
function mutate(
  record: Record<string, unknown>,
  path: readonly string[],
  value: unknown,
  remove: boolean,
): void {
  let holder = record;
  for (const step of path.slice(0, -1)) {
    const next = Object.hasOwn(holder, step) ? holder[step] : undefined;
    if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      const created = {};
      Object.defineProperty(holder, step, {
        value: created,
        writable: true,
        enumerable: true,
        configurable: true,
      });
      holder = created as Record<string, unknown>;
    } else holder = next as Record<string, unknown>;
  }
  const last = path[path.length - 1]!;
  if (remove) delete holder[last];
  else Object.defineProperty(holder, last, { value, writable: true, enumerable: true, configurable: true });
}

const hostileRecord = fc.oneof(
  {
    weight: 12,
    arbitrary: fc
      .record({
        format: fc.constantFrom(...SOURCE_FORMATS),
        // Half the mutations hit content, half any field (identity, time, types).
        mutations: fc.array(fc.tuple(fc.boolean(), fc.nat(), hostile, fc.boolean()), {
          minLength: 1,
          maxLength: 4,
        }),
        routeKnowsFormat: fc.boolean(),
      })
      .map(({ format, mutations, routeKnowsFormat }) => {
        const { record, paths } = BASES[format];
        const raw = record();
        for (const [toContent, index, value, remove] of mutations) {
          const targets = toContent ? CONTENT[format] : paths;
          mutate(raw, targets[index % targets.length]!, value, remove && index % 5 === 0);
        }
        return { raw: raw as unknown, format: routeKnowsFormat ? format : undefined };
      }),
  },
  // Whatever else arrives: arrays, scalars, random objects.
  { weight: 1, arbitrary: hostile.map((raw) => ({ raw, format: undefined as SourceFormat | undefined })) },
);

/** Levels of objects and arrays, the outermost counting 1. */
function depth(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let deepest = 0;
  for (const child of Object.values(value)) deepest = Math.max(deepest, depth(child));
  return deepest + 1;
}

function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (typeof value === 'object' && value !== null)
    for (const child of Object.values(value)) strings(child, out);
  return out;
}

/** Every record limit, checked on an accepted envelope. */
function expectWithinLimits(envelope: Envelope, limits: RecordLimits, receivedAt: number): void {
  expect(EnvelopeSchema.safeParse(envelope).success).toBe(true);
  for (const id of [envelope.eventId, envelope.agentId, envelope.sessionId, envelope.runId]) {
    if (id === undefined) continue;
    expect(Buffer.byteLength(id)).toBeLessThanOrEqual(limits.maxIdBytes);
    const codes = Array.from(id, (char) => char.codePointAt(0)!);
    expect(codes.some((code) => code < 0x20 || code === 0x7f || code === 0x22 || code === 0x5c)).toBe(false);
  }
  const { eventId, agentId, sessionId, runId, ...content } = envelope;
  for (const text of strings(content))
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(limits.maxStringBytes);
  expect(depth(envelope)).toBeLessThanOrEqual(limits.maxDepth);
  expect(Buffer.byteLength(JSON.stringify(envelope))).toBeLessThanOrEqual(limits.maxRecordBytes);
  const time = eventTimeMillis(envelope.timestamp);
  expect(time).toBeGreaterThanOrEqual(eventTimeMillis(limits.minTimestamp));
  expect(time).toBeLessThanOrEqual(receivedAt + limits.maxFutureSkewMs);
}

/** Slowest record seen (parse, publish, decode), in ms. */
let slowest = 0;

function check(sample: { raw: unknown; format: SourceFormat | undefined }, limits: RecordLimits): void {
  const receivedAt = T0;
  const started = performance.now();
  const context = sample.format
    ? { receivedAt: iso(receivedAt), format: sample.format, limits }
    : { receivedAt: iso(receivedAt), limits };
  const parsed = parseRecord(sample.raw, context);
  const decoded = roundTrip(parsed, receivedAt + 3, limits);
  const elapsed = performance.now() - started;
  slowest = Math.max(slowest, elapsed);
  expect(elapsed).toBeLessThan(250);
  if (!parsed.ok) {
    expect(parsed.error.length).toBeGreaterThan(0);
    for (const error of parsed.error)
      expect([typeof error.field, typeof error.message]).toEqual(['string', 'string']);
    return;
  }
  expectWithinLimits(parsed.value, limits, receivedAt);
  // Accepted by the collector ⇒ decoded by the processor, to the envelope as published (JSON writes -0 as
  // 0 and a non-finite number as null, which only a programmatic caller can put in a record).
  expect(decoded).toEqual({ ok: true, event: JSON.parse(JSON.stringify(parsed.value)) });
  // A raw record written straight to the topic (no collector) is judged the same way, never a throw.
  let bytes: Buffer | undefined;
  try {
    bytes = Buffer.from(JSON.stringify(sample.raw));
  } catch {
    // Too deep for JSON.stringify: no producer could have written it.
  }
  if (bytes) {
    const direct = decodeEvent(bytes, receivedAt, limits);
    if (direct.ok) expectWithinLimits(direct.event, limits, receivedAt);
  }
}

describe('fuzzed hostile records', () => {
  it('never throw, and what parseRecord accepts is within the limits and decodes as published (6,000 records)', () => {
    let accepted = 0;
    fc.assert(
      fc.property(hostileRecord, (sample) => {
        check(sample, DEFAULT_RECORD_LIMITS);
        if (parseRecord(sample.raw, { receivedAt: iso(T0) }).ok) accepted++;
      }),
      { numRuns: 6_000 },
    );
    // Most mutations leave a record the pipeline keeps (often cut or flagged), so acceptance is exercised too.
    expect(accepted).toBeGreaterThan(1_500);
    expect(slowest).toBeLessThan(250);
  });

  it('hold the same under tight limits, where most records are cut (2,000 records)', () => {
    const tight = RecordLimitsSchema.parse({
      maxIdBytes: 32,
      maxStringBytes: 256,
      maxDepth: 6,
      maxFields: 24,
      maxRecordBytes: 65_536,
      maxFutureSkewMs: 0,
      minTimestamp: '2020-01-01T00:00:00Z',
    });
    fc.assert(
      fc.property(hostileRecord, (sample) => check(sample, tight)),
      { numRuns: 2_000 },
    );
  });
});
