import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type CollectorConfig, CollectorConfigSchema } from '../index.ts';

export const KEYS = { ingest: 'key-ingest', read: 'key-read', admin: 'key-admin' } as const;

export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

type Sections = { [Section in keyof CollectorConfig]?: Record<string, unknown> };

/** A collector config for tests: quiet logs, one key per scope, generous limits, the memory transport. */
export function collectorConfig(overrides: Sections = {}): CollectorConfig {
  const base: Sections = {
    server: { logLevel: 'silent' },
    auth: {
      keys: [
        { id: 'ingest', sha256: sha256Hex(KEYS.ingest), scopes: ['ingest'] },
        { id: 'read', sha256: sha256Hex(KEYS.read), scopes: ['read'] },
        { id: 'admin', sha256: sha256Hex(KEYS.admin), scopes: ['admin'] },
      ],
    },
    rateLimit: { enabled: false },
    transport: { kind: 'memory' },
  };
  const merged: Record<string, unknown> = {};
  for (const section of new Set([...Object.keys(base), ...Object.keys(overrides)]) as Set<keyof Sections>) {
    merged[section] = { ...base[section], ...overrides[section] };
  }
  return CollectorConfigSchema.parse(merged);
}

export const bearer = (key: string = KEYS.ingest) => ({ authorization: `Bearer ${key}` });
export const JSON_TYPE = { 'content-type': 'application/json' };
export const NDJSON_TYPE = { 'content-type': 'application/x-ndjson' };

export const ndjson = (records: readonly unknown[]): string =>
  records.map((record) => JSON.stringify(record)).join('\n');

/** ../shared beside the repository (CI checks it out there); a missing one fails loudly. */
export function sharedDir(): string {
  const dir = resolve(import.meta.dirname, '../../../shared');
  if (!existsSync(dir))
    throw new Error(`shared fixtures not found at ${dir}: check out ../shared beside the repository`);
  return dir;
}

const at = (second: number) => `2026-11-25T17:41:${String(second % 60).padStart(2, '0')}.123456789Z`;

/** One record of each accepted wire format (FORMATS.md), with a chosen id and agent. */
export const samples = {
  policyEvent: (id: string, agentId = 'agent-1', extra: Record<string, unknown> = {}) => ({
    eventId: id,
    eventType: 'file_read',
    timestamp: at(1),
    sessionId: 'sess-1',
    data: { type: 'file', path: '/home/alice/.ssh/id_rsa', operation: 'read' },
    metadata: { source: 'cli', agentId },
    ...extra,
  }),
  auditEvent: (id: string, agentId = 'agent-1') => ({
    id,
    timestamp: at(2),
    event_type: 'violation',
    action_type: 'file_access',
    target: '/home/alice/.ssh/id_rsa',
    decision: 'blocked',
    guard: 'forbidden_path',
    severity: 'Critical',
    message: 'Access to forbidden path',
    session_id: 'sess-1',
    agent_id: agentId,
  }),
  securityEvent: (id: string, agentId = 'agent-1') => ({
    schema_version: '1.0.0',
    event_id: id,
    event_type: 'egress_blocked',
    event_category: 'network',
    timestamp: at(3),
    agent: { id: agentId, name: 'hushd', version: '0.1.0', type: 'clawdstrike' },
    session: { id: 'sess-1', tenant_id: 'tenant-1' },
    outcome: 'failure',
    action: 'egress',
    threat: { indicator: { type: 'domain', value: 'evil.example' } },
    decision: { allowed: false, guard: 'egress_allowlist', severity: 'high', reason: 'not allowed' },
    resource: { type: 'network', name: 'evil.example', host: 'evil.example', port: 443 },
    metadata: {},
    labels: {},
  }),
  webhook: (target: string, agentId = 'agent-1') => ({
    event: 'violation.detected',
    timestamp: at(4),
    data: {
      actionType: 'shell',
      target,
      guard: 'forbidden_path',
      severity: 'critical',
      agentId,
      sessionId: 'sess-1',
    },
  }),
  ecsDocument: (id: string, agentId = 'agent-1') => ({
    '@timestamp': at(5),
    agent: { id: agentId, name: 'hushd', type: 'clawdstrike' },
    event: {
      id,
      action: 'shell',
      kind: 'event',
      outcome: 'success',
      category: ['process'],
      type: ['allowed'],
      severity: 1,
    },
    process: { command_line: 'ls -la' },
    session: { id: 'sess-1' },
    clawdstrike: { guard: 'engine', session_id: 'sess-1' },
    message: 'allowed',
  }),
};
