import { z } from 'zod';
import { SeveritySchema } from '../../core/severity.ts';

/** The event types the engine reasons about. Anything else is kept as `custom` with `originalType` set. */
export const EVENT_TYPES = [
  'file_read',
  'file_write',
  'network_egress',
  'command_exec',
  'patch_apply',
  'tool_call',
  'secret_access',
  'custom',
] as const;
export const EventTypeSchema = z.enum(EVENT_TYPES);
export type EventType = z.infer<typeof EventTypeSchema>;

export const OUTCOMES = ['allow', 'warn', 'deny'] as const;
export const OutcomeSchema = z.enum(OUTCOMES);
export type Outcome = z.infer<typeof OutcomeSchema>;

/** Wire formats the collector accepts; recorded on every envelope so analysts can trace a record back. */
export const SOURCE_FORMATS = [
  'policy_event',
  'hushd_audit',
  'hushd_security',
  'hushd_webhook',
  'hushd_ecs',
] as const;
export const SourceFormatSchema = z.enum(SOURCE_FORMATS);
export type SourceFormat = z.infer<typeof SourceFormatSchema>;

export const DecisionSchema = z.object({
  outcome: OutcomeSchema,
  guard: z.string().optional(),
  severity: SeveritySchema,
  message: z.string().optional(),
  reason: z.string().optional(),
});
export type Decision = z.infer<typeof DecisionSchema>;

export const SourceSchema = z.object({
  format: SourceFormatSchema,
  /** The record type as the sender named it (hushd event_type, webhook event, ...). */
  kind: z.string().optional(),
  /** Who emitted it: metadata.source of a PolicyEvent, or the hushd component. */
  emitter: z.string().optional(),
});
export type Source = z.infer<typeof SourceSchema>;

/**
 * What the pipeline changed to make a record fit its limits (engine/model/limits.ts). Set only by the pipeline;
 * rules read it (the TELEMETRY_CLOCK_TAMPERING starter rule), and analysts see what was changed.
 */
export const IntegritySchema = z.object({
  /** The event time was not trusted: after receivedAt plus the allowed skew, or before the time floor. */
  clock: z.enum(['future', 'before_floor']).optional(),
  /** The event time as sent (text, or the number written as text), when `clock` is set; timestamp is then receivedAt. */
  claimedTimestamp: z.string().optional(),
  /** Fields cut to fit the limits (dotted paths as in the envelope, the first 16). */
  truncated: z.array(z.string()).optional(),
});
export type Integrity = z.infer<typeof IntegritySchema>;

export const ENVELOPE_SCHEMA_VERSION = 1;

/**
 * The normalized event every downstream component consumes.
 * `timestamp` is the event time (UTC, millisecond precision); `receivedAt` is when the pipeline first saw it.
 */
export const EnvelopeSchema = z.object({
  schemaVersion: z.literal(ENVELOPE_SCHEMA_VERSION),
  eventId: z.string().min(1),
  timestamp: z.iso.datetime(),
  receivedAt: z.iso.datetime(),
  agentId: z.string().min(1),
  sessionId: z.string().min(1),
  runId: z.string().optional(),
  eventType: EventTypeSchema,
  /** The sender's type name when it was not one of EVENT_TYPES (then eventType is `custom`). */
  originalType: z.string().optional(),
  /** The thing acted on: a path, a host, a command line or a tool name. */
  target: z.string(),
  data: z.record(z.string(), z.unknown()),
  decision: DecisionSchema,
  source: SourceSchema,
  metadata: z.record(z.string(), z.unknown()),
  policyHash: z.string().optional(),
  integrity: IntegritySchema.optional(),
});
export type Envelope = z.infer<typeof EnvelopeSchema>;
