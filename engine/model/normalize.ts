import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { err, ok, type Result } from '../../core/result.ts';
import { boundEnvelope, setOwn } from './bounds.ts';
import {
  DEFAULT_AGENT_ID,
  DEFAULT_SESSION_ID,
  DEFAULT_SEVERITY_BY_OUTCOME,
  HUSHD_AGENT_ID,
} from './defaults.ts';
import {
  type Decision,
  ENVELOPE_SCHEMA_VERSION,
  type Envelope,
  EnvelopeSchema,
  EVENT_TYPES,
  type EventType,
  type Outcome,
  type Source,
  type SourceFormat,
} from './envelope.ts';
import { dataForTarget, eventTypeForHushdAction } from './hushd-actions.ts';
import { contentId, eventTypeForEcs, keywordList } from './inputs/ecs.ts';
import { readStats, resetReadStats } from './inputs/fast-reader.ts';
import { type AuditEvent, AuditEventSchema } from './inputs/hushd-audit.ts';
import { type HushdEcsDocument, HushdEcsDocumentSchema } from './inputs/hushd-ecs.ts';
import { readCommonAuditEvent, readCommonSecurityEvent } from './inputs/hushd-fast.ts';
import { type SecurityEvent, SecurityEventSchema } from './inputs/hushd-security.ts';
import { type HushdWebhook, HushdWebhookSchema, ViolationDataSchema } from './inputs/hushd-webhook.ts';
import {
  DATA_SCHEMAS,
  DATA_TYPE_BY_EVENT_TYPE,
  type DecisionInput,
  type KnownDataType,
  POLICY_EVENT_ALIASES,
  type PolicyEvent,
  PolicyEventSchema,
} from './inputs/policy-event.ts';
import { readCommonPolicyEvent } from './inputs/policy-event-fast.ts';
import type { RecordLimits } from './limits.ts';
import { DEFAULT_RECORD_LIMITS } from './limits.ts';
import { fromZodIssues, type RecordError } from './record-error.ts';
import { normalizeSeverity } from './severity.ts';
import { arrivalOf, envelopeArrivalOf, judgeEventTime } from './time-policy.ts';

export interface ParseContext {
  /**
   * When the pipeline received the record: an ISO string, or epoch milliseconds (a broker timestamp).
   * Defaults to the event time, which keeps replays pure.
   */
  receivedAt?: string | number;
  /** The wire format when the route already knows it; otherwise it is detected from the record's fields. */
  format?: SourceFormat;
  /** Bounds on ids, strings, nesting, size and event time; DEFAULT_RECORD_LIMITS when omitted. */
  limits?: RecordLimits;
}

export type ParseResult = Result<Envelope, RecordError[]>;

const KNOWN_EVENT_TYPES: ReadonlySet<string> = new Set(EVENT_TYPES);

/** Tells the wire format from the fields a record carries (FORMATS.md sections 1-4 and the ECS export). */
export function detectFormat(record: Record<string, unknown>): SourceFormat {
  // Plain reads: a JSON record's inherited properties are Object.prototype's, none of which is read here.
  if (record.schema_version !== undefined && record.event_id !== undefined) return 'hushd_security';
  // ECS: hushd's exporter always writes `event`; Beats-style shippers write `ecs` or `agent` (Filebeat's
  // log lines carry no `event`). No other accepted format has `@timestamp`.
  if (
    record['@timestamp'] !== undefined &&
    (typeof record.event === 'object' || typeof record.ecs === 'object' || typeof record.agent === 'object')
  )
    return 'hushd_ecs';
  if (typeof record.event === 'string' && typeof record.data === 'object' && record.eventType === undefined) {
    return 'hushd_webhook';
  }
  if (record.action_type !== undefined || (record.id !== undefined && typeof record.decision === 'string')) {
    return 'hushd_audit';
  }
  return 'policy_event';
}

const NO_CONTEXT: ParseContext = Object.freeze({});

/**
 * Parses one record of any accepted format into the envelope, within context.limits (time policy, sizes);
 * never throws: whatever the record holds, the answer is an envelope or the record's own errors.
 */
export function parseRecord(raw: unknown, context: ParseContext = NO_CONTEXT): ParseResult {
  try {
    return parseAny(raw, context);
  } catch (error) {
    // Nothing a JSON record holds gets here; a programmatic caller's getter that throws, or a value too deep
    // for the stack, does.
    return err([
      { field: '(record)', message: `could not be read: ${(error as Error)?.message ?? String(error)}` },
    ]);
  }
}

function parseAny(raw: unknown, context: ParseContext): ParseResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return err([{ field: '(record)', message: 'expected a JSON object' }]);
  }
  const record = raw as Record<string, unknown>;
  const format = context.format ?? detectFormat(record);
  switch (format) {
    case 'policy_event': {
      resetReadStats();
      const common = readCommonPolicyEvent(record);
      if (common) return fromPolicyEvent(common, context, true);
      return validate(PolicyEventSchema, resolveAliases(record), (event) =>
        fromPolicyEvent(event, context, false),
      );
    }
    case 'hushd_audit': {
      resetReadStats();
      const common = readCommonAuditEvent(record);
      if (common) return fromAuditEvent(common, context, true);
      return validate(AuditEventSchema, record, (event) => fromAuditEvent(event, context, false));
    }
    case 'hushd_security': {
      resetReadStats();
      const common = readCommonSecurityEvent(record);
      if (common) return fromSecurityEvent(common, context, true);
      return validate(SecurityEventSchema, record, (event) => fromSecurityEvent(event, context, false));
    }
    case 'hushd_webhook':
      return validate(HushdWebhookSchema, record, (event) => fromWebhook(event, record, context));
    case 'hushd_ecs':
      return validate(HushdEcsDocumentSchema, record, (event) => fromEcsDocument(event, record, context));
  }
}

/**
 * Reads a normalized envelope (what the collector publishes, or a line of an envelope export) under the same
 * limits parseRecord applies, so every envelope parseRecord wrote reads back as it was. `receivedAt` is when
 * this reader got it (the broker's timestamp): an envelope whose own receivedAt lies further ahead of it than
 * the allowed skew has it replaced, and its event time judged against that, as parseRecord judges a record's.
 */
export function parseEnvelope(raw: unknown, context: ParseContext = NO_CONTEXT): ParseResult {
  try {
    return readEnvelope(raw, context);
  } catch (error) {
    return err([
      { field: '(record)', message: `could not be read: ${(error as Error)?.message ?? String(error)}` },
    ]);
  }
}

function readEnvelope(raw: unknown, context: ParseContext): ParseResult {
  const limits = context.limits ?? DEFAULT_RECORD_LIMITS;
  const parsed = EnvelopeSchema.safeParse(raw);
  if (!parsed.success) return err(fromZodIssues(parsed.error.issues));
  const envelope = parsed.data;
  keepProtoKeys(envelope, raw);
  const reader = arrivalOf(context.receivedAt);
  let arrival = envelopeArrivalOf(envelope.receivedAt);
  if (reader && (!arrival || arrival.millis > reader.millis + limits.maxFutureSkewMs)) arrival = reader;
  const time = judgeEventTime(envelope.timestamp, arrival, limits);
  if (!time.ok) return err([{ field: 'timestamp', message: time.message }]);
  envelope.timestamp = time.timestamp;
  envelope.receivedAt = time.receivedAt;
  // A time parseRecord already replaced keeps the claim it recorded.
  if (time.integrity && !envelope.integrity?.clock)
    envelope.integrity = { ...envelope.integrity, ...time.integrity };
  const shaped = inOneShape(envelope);
  const problems = boundEnvelope(shaped, limits);
  return problems ? err(problems) : ok(shaped);
}

/** `envelope` with every field present, in the order assemble writes them (see there). */
function inOneShape(envelope: Envelope): Envelope {
  return {
    schemaVersion: envelope.schemaVersion,
    eventId: envelope.eventId,
    timestamp: envelope.timestamp,
    receivedAt: envelope.receivedAt,
    agentId: envelope.agentId,
    sessionId: envelope.sessionId,
    runId: envelope.runId,
    eventType: envelope.eventType,
    originalType: envelope.originalType,
    target: envelope.target,
    data: envelope.data,
    decision: envelope.decision,
    source: envelope.source,
    metadata: envelope.metadata,
    policyHash: envelope.policyHash,
    integrity: envelope.integrity,
  };
}

function validate<S extends z.ZodType>(
  schema: S,
  input: unknown,
  build: (value: z.infer<S>) => ParseResult,
): ParseResult {
  const parsed = schema.safeParse(input);
  if (!parsed.success) return err(fromZodIssues(parsed.error.issues));
  keepProtoKeys(parsed.data, input);
  return build(parsed.data);
}

/**
 * zod copies objects by assignment, which drops an own `__proto__` key (it sets the copy's prototype
 * instead). Puts such keys back, as data, wherever `output` holds a copy of an object of `input`.
 */
function keepProtoKeys(output: unknown, input: unknown): void {
  if (typeof output !== 'object' || output === null || typeof input !== 'object' || input === null) return;
  if (output === input) return;
  const from = input as Record<string, unknown>;
  const to = output as Record<string, unknown>;
  const own = Array.isArray(input) ? undefined : Object.getOwnPropertyDescriptor(from, '__proto__');
  if (own && !Object.hasOwn(to, '__proto__')) setOwn(to, '__proto__', own.value);
  for (const key of Object.keys(to)) {
    if (Object.hasOwn(from, key)) keepProtoKeys(to[key], from[key]);
  }
}

/**
 * Renames snake_case aliases to camelCase at the top level and inside data and metadata. Most senders use
 * camelCase only, so objects that need no renaming are passed on as they are (never modified), not copied.
 */
function resolveAliases(record: Record<string, unknown>): Record<string, unknown> {
  let resolved = needsRenaming(record) ? renameKeys(record) : record;
  for (const nested of ['data', 'metadata'] as const) {
    const value = resolved[nested];
    if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
    if (!needsRenaming(value as Record<string, unknown>)) continue;
    if (resolved === record) resolved = renameKeys(record);
    resolved[nested] = renameKeys(value as Record<string, unknown>);
  }
  return resolved;
}

/** Whether renameKeys would change what the schema sees: an alias key, or an object that is not plain. */
function needsRenaming(object: Record<string, unknown>): boolean {
  const prototype = Object.getPrototypeOf(object);
  if (prototype !== Object.prototype && prototype !== null) return true;
  for (const key of Object.keys(object)) if (aliasOf(key) !== undefined) return true;
  return false;
}

/** The canonical name a snake_case alias stands for; own entries only (`constructor` is no alias). */
function aliasOf(key: string): string | undefined {
  return Object.hasOwn(POLICY_EVENT_ALIASES, key) ? POLICY_EVENT_ALIASES[key] : undefined;
}

function renameKeys(object: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    const canonical = aliasOf(key) ?? key;
    // The camelCase spelling wins when a sender writes both.
    if (canonical !== key && Object.hasOwn(object, canonical) && object[canonical] != null) continue;
    setOwn(out, canonical, value);
  }
  return out;
}

interface EnvelopeParts {
  eventId: string;
  timestamp: unknown;
  timestampField: string;
  agentId: string | null | undefined;
  defaultAgentId: string;
  sessionId: string | null | undefined;
  runId?: string | null | undefined;
  eventType: EventType;
  originalType?: string | undefined;
  target: string;
  data: Record<string, unknown>;
  decision: Decision;
  source: Source;
  metadata: Record<string, unknown>;
  policyHash?: string | null | undefined;
  /** Everything data and metadata hold came through the fast readers, which counted it (readStats). */
  counted: boolean;
}

function assemble(parts: EnvelopeParts, context: ParseContext): ParseResult {
  const limits = context.limits ?? DEFAULT_RECORD_LIMITS;
  const time = judgeEventTime(parts.timestamp, arrivalOf(context.receivedAt), limits);
  if (!time.ok) return err([{ field: parts.timestampField, message: time.message }]);
  // One shape for every envelope, optional fields included (undefined when absent, which JSON leaves out):
  // the engine reads each field of every event at one site, and envelopes of many shapes made those reads
  // polymorphic.
  const envelope: Envelope = {
    schemaVersion: ENVELOPE_SCHEMA_VERSION,
    eventId: parts.eventId,
    timestamp: time.timestamp,
    receivedAt: time.receivedAt,
    agentId: nonEmpty(parts.agentId) ?? parts.defaultAgentId,
    sessionId: nonEmpty(parts.sessionId) ?? DEFAULT_SESSION_ID,
    runId: nonEmpty(parts.runId),
    eventType: parts.eventType,
    originalType: parts.originalType || undefined,
    target: parts.target,
    data: parts.data,
    decision: parts.decision,
    source: parts.source,
    metadata: parts.metadata,
    policyHash: normalizePolicyHash(parts.policyHash) || undefined,
    integrity: time.integrity,
  };
  const problems = boundEnvelope(envelope, limits, parts.counted ? readStats : undefined);
  return problems ? err(problems) : ok(envelope);
}

function nonEmpty(value: string | null | undefined): string | undefined {
  return value === null || value === undefined || value === '' ? undefined : value;
}

/** hushd writes the same hash bare, with `0x`, or with `sha256:`; keep the bare lowercase hex. */
function normalizePolicyHash(value: string | null | undefined): string | undefined {
  // Records of a stream share their policy: the last answer is kept.
  if (value === lastPolicyHash) return lastNormalizedHash;
  const text = nonEmpty(value);
  lastPolicyHash = value;
  lastNormalizedHash = text?.replace(/^(0x|sha256:)/i, '').toLowerCase();
  return lastNormalizedHash;
}

let lastPolicyHash: string | null | undefined;
let lastNormalizedHash: string | undefined;

function makeDecision(
  outcome: Outcome,
  fields: {
    guard?: string | null | undefined;
    severity?: unknown;
    message?: string | null | undefined;
    reason?: string | null | undefined;
  },
): Decision {
  const decision: Decision = {
    outcome,
    severity: normalizeSeverity(fields.severity) ?? DEFAULT_SEVERITY_BY_OUTCOME[outcome],
  };
  const guard = nonEmpty(fields.guard);
  if (guard) decision.guard = guard;
  const message = nonEmpty(fields.message);
  if (message) decision.message = message;
  const reason = nonEmpty(fields.reason);
  if (reason) decision.reason = reason;
  return decision;
}

const NO_DECISION: Decision = { outcome: 'allow', severity: DEFAULT_SEVERITY_BY_OUTCOME.allow };

function outcomeOfDecisionInput(input: DecisionInput): Outcome {
  if ('status' in input) return input.status;
  if (!input.allowed || input.denied === true) return 'deny';
  return input.warn === true ? 'warn' : 'allow';
}

// --- PolicyEvent v1 ---------------------------------------------------------------------------------

/** `dataRead`: the event came from readCommonPolicyEvent, whose data already went through its type's schema. */
function fromPolicyEvent(event: PolicyEvent, context: ParseContext, dataRead: boolean): ParseResult {
  const known = KNOWN_EVENT_TYPES.has(event.eventType);
  const dataType = event.data.type;
  const expectedDataType = DATA_TYPE_BY_EVENT_TYPE.get(event.eventType);
  if (expectedDataType && dataType !== expectedDataType) {
    return err([
      { field: 'data.type', message: `must be "${expectedDataType}" for eventType ${event.eventType}` },
    ]);
  }
  let data: Record<string, unknown> = event.data;
  if (!dataRead && Object.hasOwn(DATA_SCHEMAS, dataType)) {
    const parsed = DATA_SCHEMAS[dataType as KnownDataType].safeParse(event.data);
    if (!parsed.success) return err(fromZodIssues(parsed.error.issues, 'data'));
    keepProtoKeys(parsed.data, event.data);
    data = parsed.data;
  }
  // The schema's (or the fast reader's) output is a new object, ours to extend.
  const metadata: Record<string, unknown> = event.metadata ?? {};
  if (event.context) metadata.context = event.context;
  const decision = event.decision
    ? makeDecision(outcomeOfDecisionInput(event.decision), event.decision)
    : NO_DECISION;
  // Built whole: a key added later would move to a second allocation.
  const emitter = nonEmpty(event.metadata?.source);
  const source: Source = emitter ? { format: 'policy_event', emitter } : { format: 'policy_event' };
  return assemble(
    {
      eventId: event.eventId,
      timestamp: event.timestamp,
      timestampField: 'timestamp',
      agentId: event.agentId ?? event.metadata?.agentId,
      defaultAgentId: DEFAULT_AGENT_ID,
      sessionId: event.sessionId,
      runId: event.runId,
      eventType: known ? (event.eventType as EventType) : 'custom',
      originalType: known ? undefined : event.eventType,
      target: targetOfPolicyData(data),
      data,
      decision,
      source,
      metadata,
      policyHash: event.policyHash,
      counted: dataRead,
    },
    context,
  );
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function targetOfPolicyData(data: Record<string, unknown>): string {
  switch (data.type) {
    case 'file':
      return text(data.path);
    case 'network':
      return text(data.host);
    case 'command': {
      const args = Array.isArray(data.args) ? data.args.filter((arg) => typeof arg === 'string') : [];
      return [text(data.command), ...args].join(' ');
    }
    case 'patch':
      return text(data.filePath);
    case 'tool':
      return text(data.toolName);
    case 'secret':
      return text(data.secretName);
    case 'custom':
      return text(data.customType);
    default:
      return '';
  }
}

// --- hushd AuditEvent v1 ----------------------------------------------------------------------------

function fromAuditEvent(event: AuditEvent, context: ParseContext, counted: boolean): ParseResult {
  const mapped = eventTypeForHushdAction(event.action_type);
  const eventType = mapped ?? 'custom';
  const target = event.target ?? '';
  const data = dataForTarget(eventType, target);
  if (!mapped) data.customType = event.event_type;
  const severity = normalizeSeverity(event.severity);
  const outcome: Outcome =
    event.decision === 'blocked' ? 'deny' : event.severity?.toLowerCase() === 'warning' ? 'warn' : 'allow';
  const metadata = event.metadata ?? {};
  return assemble(
    {
      eventId: event.id,
      timestamp: event.timestamp,
      timestampField: 'timestamp',
      agentId: event.agent_id,
      defaultAgentId: HUSHD_AGENT_ID,
      sessionId: event.session_id,
      eventType,
      originalType: mapped ? undefined : (event.action_type ?? event.event_type),
      target,
      data,
      decision: makeDecision(outcome, {
        guard: event.guard,
        severity,
        message: event.message,
        reason: typeof metadata.reason === 'string' ? metadata.reason : undefined,
      }),
      source: { format: 'hushd_audit', kind: event.event_type, emitter: 'hushd' },
      metadata,
      policyHash: typeof metadata.policy_hash === 'string' ? metadata.policy_hash : undefined,
      counted: counted,
    },
    context,
  );
}

// --- hushd SecurityEvent 1.0.0 ----------------------------------------------------------------------

function fromSecurityEvent(event: SecurityEvent, context: ParseContext, counted: boolean): ParseResult {
  const mapped = eventTypeForHushdAction(event.action);
  const eventType = mapped ?? 'custom';
  const resource = event.resource;
  const target = resource.path ?? resource.host ?? resource.name;
  const data = dataForTarget(eventType, target, resource.port);
  if (!mapped) data.customType = event.event_type;
  const outcome: Outcome = !event.decision.allowed
    ? 'deny'
    : event.event_type === 'guard_warn'
      ? 'warn'
      : 'allow';
  // The schema's (or the fast reader's) output is a new object, ours to extend.
  const metadata: Record<string, unknown> = event.metadata ?? {};
  if (event.labels && Object.keys(event.labels).length > 0) metadata.labels = event.labels;
  if (event.threat && Object.keys(event.threat).length > 0) metadata.threat = event.threat;
  if (event.session.tenant_id) metadata.tenantId = event.session.tenant_id;
  if (event.session.environment) metadata.environment = event.session.environment;
  if (event.session.user_id) metadata.userId = event.session.user_id;
  return assemble(
    {
      eventId: event.event_id,
      timestamp: event.timestamp,
      timestampField: 'timestamp',
      agentId: event.agent.id,
      defaultAgentId: HUSHD_AGENT_ID,
      sessionId: event.session.id,
      eventType,
      originalType: mapped ? undefined : event.action,
      target,
      data,
      decision: makeDecision(outcome, {
        guard: event.decision.guard,
        severity: event.decision.severity,
        reason: event.decision.reason,
      }),
      source: { format: 'hushd_security', kind: event.event_type, emitter: 'hushd' },
      metadata,
      policyHash: event.decision.policy_hash,
      counted: counted,
    },
    context,
  );
}

// --- hushd outbound webhook -------------------------------------------------------------------------

function fromWebhook(event: HushdWebhook, raw: Record<string, unknown>, context: ParseContext): ParseResult {
  const violation = ViolationDataSchema.safeParse(event.data);
  if (!violation.success) return err(fromZodIssues(violation.error.issues, 'data'));
  const fields = violation.data;
  const mapped = eventTypeForHushdAction(fields.actionType);
  const eventType = mapped ?? 'custom';
  const target = fields.target ?? '';
  const data = dataForTarget(eventType, target);
  if (!mapped) data.customType = event.event;
  const outcome: Outcome = event.event === 'violation.detected' ? 'deny' : 'allow';
  let body: string;
  try {
    body = JSON.stringify(raw);
  } catch {
    return err([
      { field: '(record)', message: 'cannot be written as JSON (nested too deep, or not JSON data)' },
    ]);
  }
  return assemble(
    {
      // The webhook body has no id of its own; a digest of the body makes redelivery land on the same id.
      eventId: `whk-${createHash('sha256').update(body).digest('hex').slice(0, 32)}`,
      timestamp: event.timestamp,
      timestampField: 'timestamp',
      agentId: fields.agentId,
      defaultAgentId: HUSHD_AGENT_ID,
      sessionId: fields.sessionId,
      eventType,
      originalType: mapped ? undefined : (fields.actionType ?? event.event),
      target,
      data,
      decision: makeDecision(outcome, { guard: fields.guard, severity: fields.severity }),
      source: { format: 'hushd_webhook', kind: event.event, emitter: 'hushd' },
      metadata: {},
      policyHash: fields.policyHash,
      counted: false,
    },
    context,
  );
}

// --- hushd ECS document (elastic exporter) ----------------------------------------------------------

function fromEcsDocument(doc: HushdEcsDocument, raw: unknown, context: ParseContext): ParseResult {
  const event = doc.event ?? {};
  const action = event.action ?? undefined;
  const categories = keywordList(event.category);
  const types = keywordList(event.type);
  const mapped = eventTypeForHushdAction(action) ?? eventTypeForEcs(action, categories, types);
  const eventType = mapped ?? 'custom';
  const target = ecsTarget(eventType, doc);
  const data = dataForTarget(eventType, target, doc.destination?.port);
  if (!mapped) data.customType = action ?? 'unknown';
  const outcome: Outcome =
    event.outcome === 'failure' || types.includes('denied')
      ? 'deny'
      : types.includes('warning')
        ? 'warn'
        : 'allow';
  return assemble(
    {
      eventId: event.id ?? contentId(raw),
      timestamp: doc['@timestamp'],
      timestampField: '@timestamp',
      agentId: doc.agent?.id,
      defaultAgentId: HUSHD_AGENT_ID,
      sessionId: doc.session?.id ?? doc.clawdstrike?.session_id,
      eventType,
      originalType: mapped ? undefined : action,
      target,
      data,
      decision: makeDecision(outcome, {
        guard: doc.clawdstrike?.guard,
        severity: event.severity,
        message: doc.message,
      }),
      source: { format: 'hushd_ecs', kind: event.kind ?? undefined, emitter: doc.agent?.type ?? 'hushd' },
      metadata: doc.clawdstrike?.metadata ?? {},
      policyHash: doc.clawdstrike?.policy_hash,
      counted: false,
    },
    context,
  );
}

/** The ECS field that names what the event acted on, for its type first, else the first one present. */
function ecsTarget(eventType: EventType, doc: HushdEcsDocument): string {
  const network = doc.destination?.domain ?? doc.destination?.address ?? doc.destination?.ip;
  const process = doc.process?.command_line ?? doc.process?.executable ?? doc.process?.name;
  const byType =
    eventType === 'network_egress'
      ? (network ?? doc.url?.domain ?? doc.url?.full)
      : eventType === 'command_exec'
        ? process
        : eventType === 'tool_call'
          ? doc.gen_ai?.tool?.name
          : undefined;
  return byType ?? doc.file?.path ?? network ?? process ?? doc.threat?.indicator?.name ?? '';
}
