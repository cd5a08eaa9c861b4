import { describe, expect, it } from 'vitest';
import { random } from '../../../test/engine/prng.ts';
import { readJsonLines, sharedPath } from '../../../test/support/shared.ts';
import { DATA_SCHEMAS, type KnownDataType, PolicyEventSchema } from './policy-event.ts';
import { readCommonPolicyEvent } from './policy-event-fast.ts';

/** zod's reading, as parseRecord's zod path does it: the event schema, then data through its type's schema. */
function viaZod(record: unknown): unknown {
  const parsed = PolicyEventSchema.safeParse(record);
  if (!parsed.success) return undefined;
  const type = parsed.data.data.type;
  if (!(type in DATA_SCHEMAS)) return parsed.data;
  const data = DATA_SCHEMAS[type as KnownDataType].safeParse(parsed.data.data);
  return data.success ? { ...parsed.data, data: data.data } : undefined;
}

/** Entries all the way down, so the comparison also sees key order and keys present as undefined. */
function layout(value: unknown): unknown {
  if (Array.isArray(value)) return ['array', value.map(layout)];
  if (typeof value === 'object' && value !== null) {
    return ['object', Object.getPrototypeOf(value), Object.entries(value).map(([k, v]) => [k, layout(v)])];
  }
  return value;
}

/** When the fast reader answers, it must answer exactly as zod; returns whether it answered. */
function agrees(record: Record<string, unknown>): boolean {
  const fast = readCommonPolicyEvent(record);
  if (fast === undefined) return false;
  const zod = viaZod(record);
  expect(zod, JSON.stringify(record)).toBeDefined();
  expect(layout(fast), JSON.stringify(record)).toStrictEqual(layout(zod));
  return true;
}

const fixtures = readJsonLines(sharedPath('fixtures/upstream/policy-events/events.jsonl')) as Array<
  Record<string, unknown>
>;

const DATA: ReadonlyArray<Record<string, unknown>> = [
  { type: 'file', path: '/srv/a.ts', operation: 'read' },
  { operation: 'write', type: 'file', path: '/srv/b', content: 'x', contentHash: `sha256:${'a'.repeat(64)}` },
  { type: 'file', path: '/srv/c', contentHash: 'sha256:short' },
  { type: 'file', path: '/srv/d', contentBase64: 'aGk=' },
  { type: 'file', path: '', operation: 'read' },
  { type: 'file', path: '/e', operation: 'delete' },
  { type: 'network', host: 'api.example', port: 443, url: 'https://api.example/x', extra: { n: 1 } },
  { type: 'network', host: 'api.example', port: 0 },
  { type: 'network', host: 'api.example', port: 443.5 },
  { type: 'network', host: 'api.example', port: '443' },
  { type: 'command', command: 'ls', args: ['-la', '/tmp'] },
  { type: 'command', command: 'ls', args: ['-la', 3] },
  { type: 'command', command: 'ls', args: null, workingDir: '/w' },
  { type: 'patch', filePath: 'src/x.rs', patchContent: '', patchHash: null },
  { type: 'patch', filePath: 'src/x.rs' },
  { type: 'tool', toolName: 'search', parameters: { q: 'x', n: 2 }, result: [1, 2] },
  { type: 'tool', toolName: 'search', parameters: ['q'] },
  { type: 'tool', toolName: 'search', parameters: null, result: undefined },
  { type: 'secret', secretName: 'db', scope: 'ci' },
  { type: 'secret', secretName: 'db', scope: '' },
  { type: 'custom', customType: 'note', text: 'hello' },
  { type: 'custom' },
  { type: 'mystery', anything: true },
  { type: 7 },
  JSON.parse('{"type":"custom","customType":"x","__proto__":{"polluted":true}}'),
];
const DECISIONS: readonly unknown[] = [
  undefined,
  null,
  { allowed: true },
  { reason: 'r', allowed: false, denied: true, guard: 'g', severity: 'high', message: 'm' },
  { allowed: true, warn: null },
  { allowed: 'yes' },
  { allowed: true, extra: 1 },
  { status: 'deny', guard: 'g' },
  { status: 'maybe' },
  { status: 'warn', details: { a: 1 }, extra: 2, severity: 'low' },
  { allowed: true, status: 'deny' },
  { allowed: 'x', status: 'deny' },
  { allowed: true, denied: 'x', status: 'deny', reason: 'r' },
  { status: 'allow', guard: 3 },
];
const METADATA: readonly unknown[] = [
  undefined,
  null,
  { source: 'cli', agentId: 'agent-1', note: 'n' },
  { trust: 'low', source: null, nested: { a: 1 } },
  { source: 5 },
  [],
];

function generated(seed: number): Record<string, unknown> {
  const r = random(seed);
  const record: Record<string, unknown> = {};
  // Mostly the first (valid) value, so that both the fast answers and the deferrals are well covered.
  const set = (key: string, values: readonly unknown[]) => {
    if (r.chance(0.95)) record[key] = r.chance(0.6) ? values[0] : r.pick(values);
  };
  // Keys in a random order: the output order must not depend on the input's.
  const fields: Array<[string, readonly unknown[]]> = [
    ['eventId', ['evt-1', 'evt-2', '', 12]],
    ['eventType', ['file_read', 'tool_call', 'custom', 'something_else', '']],
    ['timestamp', ['2026-03-02T00:00:00.000Z', '2026-03-02T00:00:00Z', 1_772_409_600, '', null]],
    ['sessionId', ['s-1', null, undefined, 3]],
    ['runId', ['run-1', null]],
    ['agentId', ['agent-1', null, undefined]],
    ['data', DATA],
    ['metadata', METADATA],
    ['context', [{ cwd: '/w' }, null, 'ctx']],
    ['decision', DECISIONS],
    ['policyHash', ['sha256:abc', null]],
    ['extra', [{ deep: [1, { x: 2 }] }, 'x']],
  ];
  for (let i = fields.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [fields[i], fields[j]] = [fields[j]!, fields[i]!];
  }
  for (const [key, values] of fields) set(key, values);
  return record;
}

describe('readCommonPolicyEvent', () => {
  it('reads the upstream fixtures exactly as zod does', () => {
    let read = 0;
    for (const record of fixtures) if (agrees(record)) read++;
    // The fixtures are the common shape: the fast reader must take most of them, not defer everything.
    expect(read).toBeGreaterThan(fixtures.length / 2);
  });

  it('answers exactly as zod on generated records, and defers when unsure', () => {
    let read = 0;
    for (let seed = 1; seed <= 5000; seed++) if (agrees(generated(seed))) read++;
    expect(read).toBeGreaterThan(500);
  });

  it('defers records carrying snake_case aliases where parseRecord renames them', () => {
    const [first] = fixtures as [Record<string, unknown>];
    const data = first.data as Record<string, unknown>;
    expect(readCommonPolicyEvent(first)).toBeDefined();
    expect(readCommonPolicyEvent({ ...first, session_id: 's' })).toBeUndefined();
    expect(readCommonPolicyEvent({ ...first, data: { ...data, file_path: 'x' } })).toBeUndefined();
    expect(readCommonPolicyEvent({ ...first, metadata: { agent_id: 'a' } })).toBeUndefined();
  });

  it('defers records whose prototype is not Object.prototype', () => {
    const record = Object.assign(Object.create(null), fixtures[0]);
    expect(readCommonPolicyEvent(record)).toBeUndefined();
  });
});
