import { describe, expect, it } from 'vitest';
import { random } from '../../../test/engine/prng.ts';
import { AuditEventSchema } from './hushd-audit.ts';
import { readCommonAuditEvent, readCommonSecurityEvent } from './hushd-fast.ts';
import { SecurityEventSchema } from './hushd-security.ts';

/** Entries all the way down, so the comparison also sees key order and keys present as undefined. */
function layout(value: unknown): unknown {
  if (Array.isArray(value)) return ['array', value.map(layout)];
  if (typeof value === 'object' && value !== null) {
    return ['object', Object.getPrototypeOf(value), Object.entries(value).map(([k, v]) => [k, layout(v)])];
  }
  return value;
}

type Variants = ReadonlyArray<readonly [string, readonly unknown[]]>;

/**
 * A record with, per key, mostly the first (valid) value, sometimes another one or none, keys in a random
 * order (the output order must not depend on the input's) and sometimes an undeclared key.
 */
function generate(
  r: ReturnType<typeof random>,
  variants: Variants,
  firstShare = 0.7,
): Record<string, unknown> {
  const fields = [...variants, ['extra', [{ deep: [1, { x: 2 }] }, 'x']] as const];
  for (let i = fields.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [fields[i], fields[j]] = [fields[j]!, fields[i]!];
  }
  const record: Record<string, unknown> = {};
  for (const [key, values] of fields) {
    if (key === 'extra' && r.chance(0.7)) continue;
    // SecurityEvents have many fields, each able to spoil the record: their variants are rarer.
    if (r.chance(0.97)) record[key] = r.chance(firstShare) ? values[0] : r.pick(values);
  }
  return record;
}

const TEXT = ['x', null, undefined, '', 3];
const FREE = [{ a: 1, b: { c: 2 } }, null, undefined, [], 'x', JSON.parse('{"__proto__":{"p":1}}')];

const AUDIT: Variants = [
  ['id', ['a-1', '', 7]],
  ['timestamp', ['2026-03-02T00:00:00.000Z', '2026-03-02T00:00:00Z', 1_772_409_600, '', null]],
  ['event_type', ['violation', '']],
  ['action_type', ['file_access', ...TEXT]],
  ['target', ['/etc/passwd', ...TEXT]],
  ['decision', ['blocked', 'allowed', 'maybe', null]],
  ['guard', ['forbidden_path', ...TEXT]],
  ['severity', ['Error', ...TEXT]],
  ['message', ['m', ...TEXT]],
  ['session_id', ['s-1', ...TEXT]],
  ['agent_id', ['agent-1', ...TEXT]],
  ['metadata', FREE],
];

function nested(r: ReturnType<typeof random>, variants: Variants): unknown {
  return r.chance(0.97) ? generate(r, variants, 0.9) : r.pick([null, 'x', []]);
}

function securityEvent(r: ReturnType<typeof random>): Record<string, unknown> {
  return generate(
    r,
    [
      ['schema_version', ['1.0.0', '2.0.0']],
      ['event_id', ['e-1', '']],
      ['event_type', ['policy_violation', '']],
      ['event_category', ['file', ...TEXT]],
      ['timestamp', ['2026-03-02T00:00:00.000Z', 1_772_409_600, '']],
      ['ingested_at', ['2026-03-02T00:00:01.000Z', ...TEXT]],
      [
        'agent',
        [
          nested(r, [
            ['id', ['agent-1', '']],
            ['name', ['n', ...TEXT]],
            ['version', ['1', ...TEXT]],
            ['type', ['t', ...TEXT]],
          ]),
        ],
      ],
      [
        'session',
        [
          nested(r, [
            ['id', ['s-1', '']],
            ['user_id', ['u', ...TEXT]],
            ['tenant_id', ['t', ...TEXT]],
            ['environment', ['prod', ...TEXT]],
          ]),
        ],
      ],
      ['outcome', ['failure', 'success', 'unknown', 'other']],
      ['action', ['file_read', '']],
      [
        'threat',
        [
          nested(r, [
            [
              'indicator',
              [
                nested(r, [
                  ['type', ['domain', 3]],
                  ['value', ['evil.example', null]],
                ]),
                null,
              ],
            ],
            ['tactic', ['TA0010', ...TEXT]],
            ['technique', ['T1041', ...TEXT]],
          ]),
          null,
          undefined,
        ],
      ],
      [
        'decision',
        [
          nested(r, [
            ['allowed', [false, true, 'no']],
            ['guard', ['g', ...TEXT]],
            ['severity', ['high', ...TEXT]],
            ['reason', ['r', ...TEXT]],
            ['policy_hash', ['0xab', ...TEXT]],
            ['ruleset', ['default', ...TEXT]],
          ]),
        ],
      ],
      [
        'resource',
        [
          nested(r, [
            ['type', ['file', '']],
            ['name', ['/etc/passwd', 3]],
            ['path', ['/etc/passwd', ...TEXT]],
            ['host', ['h', ...TEXT]],
            ['port', [443, 0, 65535, 65536, -1, 1.5, null, '443']],
          ]),
        ],
      ],
      ['metadata', FREE],
      ['labels', FREE],
    ],
    0.9,
  );
}

/** When the fast reader answers, it must answer exactly as zod; returns whether it answered. */
function agrees(fast: unknown, zod: { success: boolean; data?: unknown }, record: unknown): boolean {
  if (fast === undefined) return false;
  expect(zod.success, JSON.stringify(record)).toBe(true);
  expect(layout(fast), JSON.stringify(record)).toStrictEqual(layout(zod.data));
  return true;
}

describe('hushd fast readers', () => {
  it('read AuditEvents exactly as AuditEventSchema, and defer when unsure', () => {
    const r = random(21);
    let read = 0;
    for (let i = 0; i < 5000; i++) {
      const record = generate(r, AUDIT);
      if (agrees(readCommonAuditEvent(record), AuditEventSchema.safeParse(record), record)) read++;
    }
    expect(read).toBeGreaterThan(500);
  });

  it('read SecurityEvents exactly as SecurityEventSchema, and defer when unsure', () => {
    const r = random(22);
    let read = 0;
    for (let i = 0; i < 5000; i++) {
      const record = securityEvent(r);
      if (agrees(readCommonSecurityEvent(record), SecurityEventSchema.safeParse(record), record)) read++;
    }
    expect(read).toBeGreaterThan(500);
  });

  it('take the common shape, as hushd writes it, without deferring', () => {
    const first = (variants: Variants) =>
      Object.fromEntries(variants.map(([key, values]) => [key, values[0]]));
    const audit = first(AUDIT);
    expect(agrees(readCommonAuditEvent(audit), AuditEventSchema.safeParse(audit), audit)).toBe(true);
    const security = {
      schema_version: '1.0.0',
      event_id: 'e-1',
      event_type: 'policy_violation',
      timestamp: '2026-03-02T00:00:00.000Z',
      agent: { id: 'agent-1', name: 'n' },
      session: { id: 's-1' },
      outcome: 'failure',
      action: 'file_read',
      threat: null,
      decision: { allowed: false, guard: 'forbidden_path', severity: 'high' },
      resource: { type: 'file', name: '/etc/passwd', path: '/etc/passwd' },
      metadata: {},
      labels: {},
    };
    expect(agrees(readCommonSecurityEvent(security), SecurityEventSchema.safeParse(security), security)).toBe(
      true,
    );
  });

  it('defer records whose prototype is not Object.prototype', () => {
    const record = Object.assign(Object.create(null), {
      id: 'a',
      timestamp: 't',
      event_type: 'x',
      decision: 'allowed',
    });
    expect(readCommonAuditEvent(record)).toBeUndefined();
    expect(AuditEventSchema.safeParse({ ...record }).success).toBe(true);
  });
});
