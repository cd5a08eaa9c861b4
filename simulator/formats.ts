import { createHash } from 'node:crypto';
import type { Severity } from '../core/index.ts';
import type { Decision, Outcome } from '../engine/model/index.ts';
import { policyEventId } from './ids.ts';
import { type Action, allowed, type Intent } from './intent.ts';
import type { Prng } from './prng.ts';

/** The wire formats the collector accepts (FORMATS.md sections 1-4). */
export const WIRE_FORMATS = ['policy_event', 'hushd_audit', 'hushd_security', 'hushd_webhook'] as const;
export type WireFormat = (typeof WIRE_FORMATS)[number];

export interface WireRecord {
  format: WireFormat;
  record: Record<string, unknown>;
}

export interface EncodeContext {
  rng: Prng;
  /** The hushd policy in force: 64 hex digits, spelled per format (bare, `0x`, `sha256:`). */
  policyHash: string;
}

const FORMAT_WEIGHTS: Readonly<Record<WireFormat, number>> = {
  policy_event: 50,
  hushd_audit: 20,
  hushd_security: 20,
  hushd_webhook: 15,
};
/** hushd configured with several sinks delivers one check as an AuditEvent and a SecurityEvent, same id. */
const TWIN_DELIVERY_CHANCE = 0.03;
const SNAKE_CASE_CHANCE = 0.2;
const HUSHD_VERSION = '0.1.0';

/** The formats that can carry this intent without losing what the detections look at. */
export function formatsFor(intent: Intent): WireFormat[] {
  if (intent.policyEventOnly || hushdActionType(intent.action) === undefined) return ['policy_event'];
  const formats: WireFormat[] = ['policy_event', 'hushd_audit', 'hushd_security'];
  // hushd's webhook only announces violations.
  if (intent.decision?.outcome === 'deny') formats.push('hushd_webhook');
  return formats;
}

/** One intent in a format picked at random among those that can carry it (twice, now and then: see above). */
export function encode(intent: Intent, context: EncodeContext): WireRecord[] {
  const { rng } = context;
  const format = rng.weighted(
    formatsFor(intent).map((candidate) => [candidate, FORMAT_WEIGHTS[candidate]] as const),
  );
  const records: WireRecord[] = [{ format, record: encodeAs(format, intent, context) }];
  if ((format === 'hushd_audit' || format === 'hushd_security') && rng.chance(TWIN_DELIVERY_CHANCE)) {
    const twin = format === 'hushd_audit' ? 'hushd_security' : 'hushd_audit';
    records.push({ format: twin, record: encodeAs(twin, intent, context) });
  }
  return records;
}

export function encodeAs(
  format: WireFormat,
  intent: Intent,
  context: EncodeContext,
): Record<string, unknown> {
  switch (format) {
    case 'policy_event':
      return policyEvent(intent, context);
    case 'hushd_audit':
      return auditEvent(intent, context);
    case 'hushd_security':
      return securityEvent(intent, context);
    case 'hushd_webhook':
      return violationWebhook(intent, context);
  }
}

// --- PolicyEvent v1 ---------------------------------------------------------------------------------

function policyEvent(intent: Intent, { rng }: EncodeContext): Record<string, unknown> {
  const record: Record<string, unknown> = {
    eventId: policyEventId(intent.eventId, intent.agent.tool.idStyle),
    eventType: intent.action.eventType,
    // SDKs write milliseconds, some microseconds; some spell UTC as +00:00.
    timestamp: rfc3339(
      intent.timestamp,
      rng.chance(0.25) ? fractionDigits(intent, 3) : '',
      rng.chance(0.3) ? '+00:00' : 'Z',
    ),
    sessionId: intent.sessionId,
    data: policyData(intent.action),
    metadata: policyMetadata(intent, rng),
  };
  // Adapters attach the verdict when they asked for one; an allow is often left out.
  const decision = intent.decision ?? (rng.chance(0.4) ? allowed() : undefined);
  if (decision) record.decision = decisionInput(decision, rng);
  if (rng.chance(0.1)) record.runId = null;
  return rng.chance(SNAKE_CASE_CHANCE) ? toSnakeCase(record) : record;
}

function policyData(action: Action): Record<string, unknown> {
  switch (action.eventType) {
    case 'file_read':
      return { type: 'file', path: action.path, operation: 'read' };
    case 'file_write':
      return {
        type: 'file',
        path: action.path,
        operation: 'write',
        content: action.content,
        contentHash: sha256Ref(action.content),
      };
    case 'network_egress': {
      const data: Record<string, unknown> = {
        type: 'network',
        host: action.host,
        port: action.port,
        protocol: action.protocol,
      };
      if (action.url) data.url = action.url;
      return data;
    }
    case 'command_exec': {
      const data: Record<string, unknown> = { type: 'command', command: action.command, args: action.args };
      if (action.workingDir) data.workingDir = action.workingDir;
      return data;
    }
    case 'patch_apply':
      return {
        type: 'patch',
        filePath: action.filePath,
        patchContent: action.patchContent,
        patchHash: sha256Ref(action.patchContent),
      };
    case 'tool_call':
      return { type: 'tool', toolName: action.toolName, parameters: action.parameters };
    case 'secret_access':
      return { type: 'secret', secretName: action.secretName, scope: action.scope };
    case 'custom':
      return { type: 'custom', customType: action.customType, text: action.text };
  }
}

function policyMetadata(intent: Intent, rng: Prng): Record<string, unknown> {
  const { action, agent } = intent;
  const metadata: Record<string, unknown> = { source: agent.tool.emitter, agentId: agent.agentId };
  if (action.eventType === 'tool_call' && action.mcpProvider) {
    Object.assign(metadata, { source: 'mcp', toolKind: 'mcp', toolProvider: action.mcpProvider });
  }
  if (action.eventType === 'custom') {
    // A user's prompt comes from the user; injected text arrives inside a tool's output.
    Object.assign(metadata, {
      source: action.customType === 'user_input' ? 'user' : 'tool',
      trust: 'untrusted',
    });
  }
  if (rng.chance(0.3)) metadata.traceId = rng.hex(32);
  return metadata;
}

/** The two decision shapes: hushd /api/v1/eval's booleans, and the TypeScript adapters' status. */
function decisionInput(decision: Decision, rng: Prng): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  if (decision.guard) fields.guard = decision.guard;
  if (decision.message) fields.message = decision.message;
  if (rng.chance(0.5)) return { status: decision.outcome, severity: decision.severity, ...fields };
  const { outcome } = decision;
  return {
    allowed: outcome !== 'deny',
    denied: outcome === 'deny',
    warn: outcome === 'warn',
    severity: RUST_SEVERITY[decision.severity],
    ...fields,
  };
}

/** snake_case spellings of the keys at the levels where the collector accepts aliases. */
export function toSnakeCase(record: Record<string, unknown>): Record<string, unknown> {
  const rename = (object: Record<string, unknown>) =>
    Object.fromEntries(
      Object.entries(object).map(([key, value]) => [
        key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
        value,
      ]),
    );
  const out = rename(record);
  for (const nested of ['data', 'metadata']) {
    const value = out[nested];
    if (isObject(value)) out[nested] = rename(value);
  }
  return out;
}

// --- hushd records -----------------------------------------------------------------------------------

/** hushd's action_type for an event, or undefined when hushd has no record for it. */
function hushdActionType(action: Action): string | undefined {
  switch (action.eventType) {
    case 'file_read':
      return 'file_access';
    case 'file_write':
      return 'file_write';
    case 'network_egress':
      return 'egress';
    case 'command_exec':
      return 'shell';
    case 'patch_apply':
      return 'patch';
    case 'tool_call':
      return action.mcpProvider ? 'mcp_tool' : undefined;
    default:
      return undefined;
  }
}

/** hushd's plain-string target: a path, `host:port`, a command line or a tool name. */
function hushdTarget(action: Action): string {
  switch (action.eventType) {
    case 'file_read':
    case 'file_write':
      return action.path;
    case 'network_egress':
      return `${action.host}:${action.port}`;
    case 'command_exec':
      return [action.command, ...action.args].join(' ');
    case 'patch_apply':
      return action.filePath;
    case 'tool_call':
      return action.toolName;
    case 'secret_access':
      return action.secretName;
    case 'custom':
      return action.customType;
  }
}

/** hushd judges every check; an allowed one names the guard that looked at it, as hushd does. */
function hushdDecision(intent: Intent): Decision {
  if (intent.decision) return intent.decision;
  const guard = ALLOWING_GUARD[intent.action.eventType] ?? 'engine';
  return { outcome: 'allow', guard, severity: 'info', message: 'Allowed' };
}

const ALLOWING_GUARD: Partial<Record<Action['eventType'], string>> = {
  file_read: 'forbidden_path',
  file_write: 'forbidden_path',
  network_egress: 'egress_allowlist',
  patch_apply: 'patch_integrity',
  tool_call: 'mcp_tool',
};

function hushdMetadata(intent: Intent, hash: string): Record<string, unknown> {
  const metadata: Record<string, unknown> = { contributing_policies: [], policy_hash: hash };
  if (intent.action.eventType === 'network_egress')
    Object.assign(metadata, { host: intent.action.host, port: intent.action.port });
  return metadata;
}

function auditEvent(intent: Intent, { policyHash }: EncodeContext): Record<string, unknown> {
  const decision = hushdDecision(intent);
  const blocked = decision.outcome === 'deny';
  return {
    id: intent.eventId,
    timestamp: hushdTimestamp(intent, 'Z'),
    event_type: blocked ? 'violation' : 'check',
    action_type: hushdActionType(intent.action),
    target: hushdTarget(intent.action),
    decision: blocked ? 'blocked' : 'allowed',
    guard: decision.guard ?? 'engine',
    severity: auditSeverity(decision),
    message: decision.message ?? 'Allowed',
    session_id: intent.sessionId,
    agent_id: intent.agent.agentId,
    metadata: hushdMetadata(intent, policyHash),
  };
}

function securityEvent(intent: Intent, { policyHash, rng }: EncodeContext): Record<string, unknown> {
  const { action, agent } = intent;
  const decision = hushdDecision(intent);
  const resource = securityResource(action);
  return {
    schema_version: '1.0.0',
    event_id: intent.eventId,
    event_type: securityEventType(decision),
    event_category: resource.type,
    timestamp: hushdTimestamp(intent, 'Z'),
    ingested_at: new Date(intent.timestamp + rng.int(1, 40)).toISOString(),
    agent: { id: agent.agentId, name: 'hushd', version: HUSHD_VERSION, type: 'clawdstrike' },
    session: {
      id: intent.sessionId,
      user_id: agent.user,
      tenant_id: `tenant-${agent.team}`,
      environment: agent.environment,
    },
    outcome: decision.outcome === 'deny' ? 'failure' : 'success',
    action: hushdActionType(action),
    threat: { indicator: threatIndicator(action), ...intent.threat },
    decision: {
      allowed: decision.outcome !== 'deny',
      guard: decision.guard ?? 'engine',
      severity: decision.severity,
      reason: decision.message ?? 'Allowed',
      policy_hash: `0x${policyHash}`,
      ruleset: 'Default',
    },
    resource,
    metadata: hushdMetadata(intent, policyHash),
    labels: { team: agent.team },
  };
}

function violationWebhook(intent: Intent, { policyHash }: EncodeContext): Record<string, unknown> {
  const decision = hushdDecision(intent);
  return {
    event: 'violation.detected',
    timestamp: hushdTimestamp(intent, '+00:00'),
    data: {
      actionType: hushdActionType(intent.action),
      agentId: intent.agent.agentId,
      guard: decision.guard ?? null,
      policyHash: `sha256:${policyHash}`,
      sessionId: intent.sessionId,
      severity: decision.severity,
      target: hushdTarget(intent.action),
    },
  };
}

function securityResource(action: Action): Record<string, unknown> & { type: string } {
  switch (action.eventType) {
    case 'file_read':
    case 'file_write':
      return { type: 'file', name: action.path, path: action.path };
    case 'patch_apply':
      return { type: 'file', name: action.filePath, path: action.filePath };
    case 'network_egress':
      return { type: 'network', name: action.host, host: action.host, port: action.port };
    case 'command_exec':
      return { type: 'process', name: hushdTarget(action) };
    default:
      return { type: 'tool', name: hushdTarget(action) };
  }
}

function threatIndicator(action: Action): { type: string; value: string } {
  if (action.eventType === 'network_egress') return { type: 'domain', value: action.host };
  if (action.eventType === 'file_read' || action.eventType === 'file_write')
    return { type: 'file_path', value: action.path };
  return { type: 'pattern', value: hushdTarget(action) };
}

const BLOCK_EVENT_BY_GUARD: Readonly<Record<string, string>> = {
  egress_allowlist: 'egress_blocked',
  threat_intel: 'egress_blocked',
  forbidden_path: 'forbidden_path',
  secret_leak: 'secret_detected',
  patch_integrity: 'patch_rejected',
};

function securityEventType(decision: Decision): string {
  if (decision.outcome === 'allow') return 'policy_allow';
  if (decision.outcome === 'warn') return 'guard_warn';
  return BLOCK_EVENT_BY_GUARD[decision.guard ?? ''] ?? 'guard_block';
}

// --- severities and timestamps -----------------------------------------------------------------------

/** Rust guards' words for our scale (FORMATS.md "Severity"), lower-case as hushd's eval endpoint writes them. */
const RUST_SEVERITY: Readonly<Record<Severity, string>> = {
  info: 'info',
  low: 'warning',
  medium: 'warning',
  high: 'error',
  critical: 'critical',
};

/** AuditEvent severity is capitalized, and an allowed check is `Info`: hushd reads `Warning` as a warn. */
function auditSeverity(decision: Decision): string {
  const byOutcome: Record<Outcome, string> = {
    allow: 'info',
    warn: 'warning',
    deny: RUST_SEVERITY[decision.severity],
  };
  const word = byOutcome[decision.outcome];
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/**
 * hushd writes nanoseconds. The digits past the millisecond come from the event id, so the AuditEvent and
 * SecurityEvent of one check carry the very same timestamp, as they do from hushd.
 */
function hushdTimestamp(intent: Intent, suffix: 'Z' | '+00:00'): string {
  return rfc3339(intent.timestamp, fractionDigits(intent, 6), suffix);
}

function fractionDigits(intent: Intent, count: number): string {
  const value = Number.parseInt(intent.eventId.replace(/-/g, '').slice(-8), 16);
  return String(value % 10 ** count).padStart(count, '0');
}

/** RFC 3339 with millisecond precision, extra fraction digits and the given UTC suffix. */
function rfc3339(ms: number, extraDigits: string, suffix: 'Z' | '+00:00'): string {
  return new Date(ms).toISOString().replace('Z', `${extraDigits}${suffix}`);
}

function sha256Ref(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
