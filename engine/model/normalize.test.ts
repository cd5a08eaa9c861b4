import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readJsonLines, sharedPath } from '../../test/support/shared.ts';
import { type Envelope, EnvelopeSchema, type ParseResult, parseRecord } from './index.ts';

function parsed(result: ParseResult): Envelope {
  if (!result.ok) throw new Error(`expected a parse, got ${JSON.stringify(result.error)}`);
  expect(EnvelopeSchema.parse(result.value)).toEqual(result.value);
  return result.value;
}

function errorsOf(result: ParseResult) {
  if (result.ok) throw new Error(`expected errors, got ${JSON.stringify(result.value)}`);
  return result.error;
}

const base = {
  eventId: 'evt-1',
  eventType: 'file_read',
  timestamp: '2026-02-03T00:00:00Z',
  sessionId: 'sess-1',
  data: { type: 'file', path: '/etc/passwd', operation: 'read' },
  metadata: { agentId: 'agent-1', source: 'cli' },
};

describe('upstream PolicyEvent fixtures', () => {
  const files = ['upstream/policy-events/events.jsonl', 'upstream/threat-intel/events.jsonl'];
  for (const file of files) {
    it(`parses and normalizes every event in ${file}`, () => {
      const records = readJsonLines(sharedPath('fixtures', file));
      expect(records.length).toBeGreaterThan(0);
      for (const record of records) {
        const envelope = parsed(parseRecord(record));
        const raw = record as { eventId: string; eventType: string };
        expect(envelope.eventId).toBe(raw.eventId);
        expect(envelope.eventType).toBe(raw.eventType);
        expect(envelope.agentId).toBe('agent-0001');
        expect(envelope.source.format).toBe('policy_event');
        expect(envelope.target).not.toBe('');
      }
    });
  }

  it('derives the target per event type', () => {
    const byId = new Map(
      readJsonLines(sharedPath('fixtures/upstream/policy-events/events.jsonl')).map((record) => {
        const envelope = parsed(parseRecord(record));
        return [envelope.eventId, envelope] as const;
      }),
    );
    expect(byId.get('evt-0001')?.target).toBe('/home/alice/.ssh/id_rsa');
    expect(byId.get('evt-0003')?.target).toBe('api.openai.com');
    expect(byId.get('evt-0004')?.target).toBe('src/main.rs');
    expect(byId.get('evt-0005')?.target).toBe('mcp__blender__execute_blender_code');
    expect(byId.get('evt-0006')?.target).toBe('untrusted_text');
  });

  it('normalizes every decision shape in the expected decisions file', () => {
    const expected = JSON.parse(
      readFileSync(sharedPath('fixtures/upstream/policy-events/expected/default.decisions.json'), 'utf8'),
    ) as { results: Array<{ eventId: string; outcome: string; decision: Record<string, unknown> }> };
    const events = new Map(
      readJsonLines(sharedPath('fixtures/upstream/policy-events/events.jsonl')).map((record) => [
        (record as { eventId: string }).eventId,
        record as Record<string, unknown>,
      ]),
    );
    expect(expected.results).toHaveLength(12);
    for (const result of expected.results) {
      const envelope = parsed(parseRecord({ ...events.get(result.eventId), decision: result.decision }));
      const outcome = result.outcome === 'blocked' ? 'deny' : result.outcome === 'warn' ? 'warn' : 'allow';
      expect(envelope.decision.outcome).toBe(outcome);
      if (typeof result.decision.guard === 'string')
        expect(envelope.decision.guard).toBe(result.decision.guard);
      if (outcome === 'allow') expect(envelope.decision.severity).toBe('info');
    }
  });
});

describe('PolicyEvent decisions and aliases', () => {
  it('reads the status decision shape', () => {
    const envelope = parsed(
      parseRecord({
        ...base,
        decision: { status: 'warn', guard: 'secret_leak', severity: 'high', details: {} },
      }),
    );
    expect(envelope.decision).toEqual({ outcome: 'warn', guard: 'secret_leak', severity: 'high' });
  });

  it('reads the boolean decision shape, warn meaning allowed with a warning', () => {
    const warn = parsed(parseRecord({ ...base, decision: { allowed: true, denied: false, warn: true } }));
    expect(warn.decision).toEqual({ outcome: 'warn', severity: 'low' });
    const deny = parsed(
      parseRecord({ ...base, decision: { allowed: false, denied: true, warn: false, severity: 'Error' } }),
    );
    expect(deny.decision).toEqual({ outcome: 'deny', severity: 'high' });
  });

  it('leaves the records it reads untouched: metadata is extended on a copy', () => {
    const records: Array<Record<string, unknown>> = [
      { ...base, context: { cwd: '/srv' } },
      { ...base, session_id: 'sess-2', context: { cwd: '/srv' } },
      {
        schema_version: '1.0.0',
        event_id: 'sec-1',
        event_type: 'egress_blocked',
        event_category: 'network',
        timestamp: '2026-11-25T17:41:01.903Z',
        agent: { id: 'agent-drive', name: 'hushd', version: '0.1.0', type: 'clawdstrike' },
        session: { id: 'sess-9', tenant_id: 'tenant-1' },
        outcome: 'failure',
        action: 'egress',
        decision: { allowed: false, guard: 'egress_allowlist', severity: 'high' },
        resource: { type: 'network', name: 'evil.example', host: 'evil.example', port: 443 },
        metadata: { origin: 'test' },
        labels: { team: 'sec' },
      },
    ];
    for (const record of records) {
      const before = structuredClone(record);
      const first = parsed(parseRecord(record));
      const second = parsed(parseRecord(record));
      expect(record).toStrictEqual(before);
      expect(first.metadata).not.toBe(second.metadata);
      expect(first.metadata).not.toBe(record.metadata);
      expect(Object.keys(first.metadata).length).toBeGreaterThan(
        Object.keys(record.metadata as object).length,
      );
    }
  });

  it('takes only severity words it knows, never a name inherited by every object', () => {
    for (const severity of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const denied = parsed(parseRecord({ ...base, decision: { status: 'deny', severity } }));
      expect(denied.decision).toEqual({ outcome: 'deny', severity: 'medium' });
    }
    const padded = parsed(parseRecord({ ...base, decision: { status: 'warn', severity: ' Critical ' } }));
    expect(padded.decision.severity).toBe('critical');
  });

  it('accepts snake_case aliases at the top level and inside data', () => {
    const envelope = parsed(
      parseRecord({
        event_id: 'evt-2',
        event_type: 'patch_apply',
        timestamp: '2026-02-03T00:00:00Z',
        session_id: 'sess-2',
        data: { type: 'patch', file_path: 'src/a.ts', patch_content: '+x', patch_hash: null },
        metadata: { agent_id: 'agent-2' },
      }),
    );
    expect(envelope).toMatchObject({
      eventId: 'evt-2',
      sessionId: 'sess-2',
      agentId: 'agent-2',
      target: 'src/a.ts',
    });
  });

  it('treats null like absent and applies the documented defaults', () => {
    const envelope = parsed(parseRecord({ ...base, sessionId: null, metadata: null }));
    expect(envelope.sessionId).toBe('no-session');
    expect(envelope.agentId).toBe('unknown');
    expect(envelope.decision).toEqual({ outcome: 'allow', severity: 'info' });
  });

  it('keeps an unknown eventType as custom with the original type', () => {
    const envelope = parsed(
      parseRecord({
        ...base,
        eventType: 'browser_navigate',
        data: { type: 'browser', url: 'https://x.test' },
      }),
    );
    expect(envelope.eventType).toBe('custom');
    expect(envelope.originalType).toBe('browser_navigate');
    expect(envelope.data).toEqual({ type: 'browser', url: 'https://x.test' });
  });

  it('normalizes timestamps to UTC: offsets, nanoseconds, naive, epoch milliseconds and seconds', () => {
    const at = (timestamp: unknown) => parsed(parseRecord({ ...base, timestamp })).timestamp;
    expect(at('2026-02-03T02:00:00+02:00')).toBe('2026-02-03T00:00:00.000Z');
    expect(at('2026-11-25T17:40:59.867627577Z')).toBe('2026-11-25T17:40:59.867Z');
    expect(at('2026-02-03T00:00:00')).toBe('2026-02-03T00:00:00.000Z');
    expect(at(1770076800000)).toBe('2026-02-03T00:00:00.000Z');
    expect(at(1770076800)).toBe('2026-02-03T00:00:00.000Z');
  });
});

describe('hushd records', () => {
  const audit = {
    id: '01a213cb-ef2e-7561-bcbd-25981b6828a8',
    timestamp: '2026-11-25T17:41:01.870636096Z',
    event_type: 'violation',
    action_type: 'egress',
    target: 'evil.example:443',
    decision: 'blocked',
    guard: 'egress_allowlist',
    severity: 'Error',
    message: 'Egress blocked',
    agent_id: 'agent-drive',
    metadata: { policy_hash: '989be150824a9c37647fbf29d2231d25ddf40a83e686f930de2a466d36b17f73' },
  };

  it('maps an AuditEvent: action type, host:port target, capitalized severity', () => {
    const envelope = parsed(parseRecord(audit));
    expect(envelope).toMatchObject({
      eventId: audit.id,
      eventType: 'network_egress',
      target: 'evil.example:443',
      data: { type: 'network', host: 'evil.example', port: 443 },
      agentId: 'agent-drive',
      sessionId: 'no-session',
      decision: { outcome: 'deny', guard: 'egress_allowlist', severity: 'high' },
      source: { format: 'hushd_audit', kind: 'violation' },
      policyHash: audit.metadata.policy_hash,
    });
  });

  it.each([
    ['file_access', 'file_read', { path: '/etc/passwd' }],
    ['shell', 'command_exec', { command: '/etc/passwd' }],
    ['mcp_tool', 'tool_call', { toolName: '/etc/passwd' }],
    ['patch', 'patch_apply', { filePath: '/etc/passwd' }],
  ])('maps action_type %s to %s', (action, eventType, data) => {
    const envelope = parsed(parseRecord({ ...audit, action_type: action, target: '/etc/passwd' }));
    expect(envelope.eventType).toBe(eventType);
    expect(envelope.data).toMatchObject(data);
  });

  it('reads an allowed check with severity Warning as warn, and Info as info', () => {
    const warn = parsed(parseRecord({ ...audit, decision: 'allowed', severity: 'Warning' }));
    expect(warn.decision).toMatchObject({ outcome: 'warn', severity: 'medium' });
    const info = parsed(parseRecord({ ...audit, decision: 'allowed', severity: 'Info' }));
    expect(info.decision).toMatchObject({ outcome: 'allow', severity: 'info' });
  });

  it('keeps a session record as custom, agent defaulting to hushd', () => {
    const envelope = parsed(
      parseRecord({
        id: '01a213cb-e75b-75c2-bce1-d4e621063805',
        timestamp: '2026-11-25T17:40:59.867627577Z',
        event_type: 'session_start',
        action_type: 'session',
        decision: 'allowed',
        session_id: 'f6b3d7a6',
      }),
    );
    expect(envelope).toMatchObject({ eventType: 'custom', originalType: 'session', agentId: 'hushd' });
  });

  it('maps a SecurityEvent with the same id as its AuditEvent twin', () => {
    const envelope = parsed(
      parseRecord({
        schema_version: '1.0.0',
        event_id: audit.id,
        event_type: 'egress_blocked',
        event_category: 'network',
        timestamp: '2026-11-25T17:41:01.903410403Z',
        agent: { id: 'agent-drive', name: 'hushd', version: '0.1.0', type: 'clawdstrike' },
        session: { id: 'sess-9', tenant_id: 'tenant-1', environment: 'test' },
        outcome: 'failure',
        action: 'egress',
        threat: { indicator: { type: 'domain', value: 'evil.example' } },
        decision: {
          allowed: false,
          guard: 'egress_allowlist',
          severity: 'high',
          reason: 'blocked',
          policy_hash: '0xABCD',
        },
        resource: { type: 'network', name: 'evil.example', host: 'evil.example', port: 443 },
        metadata: {},
        labels: { team: 'sec' },
      }),
    );
    expect(envelope).toMatchObject({
      eventId: audit.id,
      eventType: 'network_egress',
      data: { host: 'evil.example', port: 443 },
      sessionId: 'sess-9',
      decision: { outcome: 'deny', severity: 'high', reason: 'blocked' },
      source: { format: 'hushd_security', kind: 'egress_blocked' },
      policyHash: 'abcd',
      metadata: { tenantId: 'tenant-1', labels: { team: 'sec' } },
    });
  });

  it('maps the violation.detected webhook with a stable id from its body', () => {
    const body = {
      event: 'violation.detected',
      timestamp: '2026-11-25T17:43:02.126238099+00:00',
      data: {
        actionType: 'file_access',
        agentId: 'agent-drive',
        guard: 'forbidden_path',
        sessionId: null,
        severity: 'critical',
        target: '/home/alice/.ssh/id_rsa',
        policyHash: 'sha256:AB',
      },
    };
    const first = parsed(parseRecord(body));
    expect(first).toMatchObject({
      eventType: 'file_read',
      target: '/home/alice/.ssh/id_rsa',
      decision: { outcome: 'deny', guard: 'forbidden_path', severity: 'critical' },
      source: { format: 'hushd_webhook', kind: 'violation.detected' },
      policyHash: 'ab',
    });
    expect(first.eventId).toMatch(/^whk-[0-9a-f]{32}$/);
    expect(parsed(parseRecord(structuredClone(body))).eventId).toBe(first.eventId);
  });

  it('maps an ECS document from the elastic exporter', () => {
    const envelope = parsed(
      parseRecord({
        '@timestamp': '2026-11-25T17:41:01.870636096Z',
        agent: { id: 'agent-drive' },
        clawdstrike: { guard: 'forbidden_path', session_id: 'sess-3', policy_hash: '0x98' },
        event: {
          action: 'file_access',
          id: 'e-1',
          kind: 'event',
          outcome: 'failure',
          severity: 5,
          type: ['denied'],
        },
        file: { path: '/home/alice/.ssh/id_rsa' },
        message: 'Access to forbidden path',
      }),
    );
    expect(envelope).toMatchObject({
      eventId: 'e-1',
      eventType: 'file_read',
      sessionId: 'sess-3',
      target: '/home/alice/.ssh/id_rsa',
      decision: { outcome: 'deny', severity: 'critical', guard: 'forbidden_path' },
      source: { format: 'hushd_ecs' },
    });
  });
});

describe('bad input: one precise error per problem', () => {
  it.each([
    ['not an object', 'just text', '(record)', 'expected a JSON object'],
    ['missing eventId', { ...base, eventId: undefined }, 'eventId', 'is required'],
    ['empty eventId', { ...base, eventId: '' }, 'eventId', 'Too small'],
    ['bad timestamp', { ...base, timestamp: 'yesterday' }, 'timestamp', 'RFC 3339'],
    ['missing data', { ...base, data: undefined }, 'data', 'is required'],
    [
      'data.type mismatch',
      { ...base, data: { type: 'network', host: 'x', port: 1 } },
      'data.type',
      'must be "file"',
    ],
    [
      'port out of range',
      { ...base, eventType: 'network_egress', data: { type: 'network', host: 'x', port: 70000 } },
      'data.port',
      'Too big',
    ],
    ['missing path', { ...base, data: { type: 'file' } }, 'data.path', 'is required'],
    [
      'bad content hash',
      { ...base, data: { type: 'file', path: '/x', contentHash: 'md5:1' } },
      'data.contentHash',
      'sha256',
    ],
    [
      'args not strings',
      { ...base, eventType: 'command_exec', data: { type: 'command', command: 'ls', args: [1] } },
      'data.args[0]',
      'expected string',
    ],
    ['bad decision', { ...base, decision: { status: 'maybe' } }, 'decision', 'Invalid input'],
    [
      'bad audit decision',
      {
        id: 'a',
        timestamp: '2026-01-01T00:00:00Z',
        event_type: 'check',
        action_type: 'shell',
        decision: 'perhaps',
      },
      'decision',
      'allowed',
    ],
    ['bad security outcome', { schema_version: '1.0.0', event_id: 'x' }, 'event_type', 'is required'],
  ])('%s', (_name, record, field, message) => {
    const errors = errorsOf(parseRecord(record));
    expect(errors[0]?.field).toBe(field);
    expect(errors[0]?.message).toContain(message);
  });

  it('reports every bad field of a record, and leaves good records in the same batch unaffected', () => {
    const batch = [base, { ...base, eventId: '', timestamp: 'soon' }, { ...base, eventId: 'evt-3' }];
    const results = batch.map((record) => parseRecord(record));
    expect(results.map((result) => result.ok)).toEqual([true, false, true]);
    expect(errorsOf(results[1]!).map((error) => error.field)).toContain('eventId');
  });
});
