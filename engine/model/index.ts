export {
  DEFAULT_AGENT_ID,
  DEFAULT_SESSION_ID,
  DEFAULT_SEVERITY_BY_OUTCOME,
  HUSHD_AGENT_ID,
} from './defaults.ts';
export type { Decision, Envelope, EventType, Integrity, Outcome, Source, SourceFormat } from './envelope.ts';
export {
  DecisionSchema,
  ENVELOPE_SCHEMA_VERSION,
  EnvelopeSchema,
  EVENT_TYPES,
  EventTypeSchema,
  IntegritySchema,
  OUTCOMES,
  SOURCE_FORMATS,
} from './envelope.ts';
export { AuditEventSchema } from './inputs/hushd-audit.ts';
export { HushdEcsDocumentSchema } from './inputs/hushd-ecs.ts';
export { SecurityEventSchema } from './inputs/hushd-security.ts';
export { HushdWebhookSchema } from './inputs/hushd-webhook.ts';
export { PolicyEventDocumentSchema, SNAKE_CASE_ALIASED } from './inputs/policy-event.ts';
export type { RecordLimits } from './limits.ts';
export { DEFAULT_RECORD_LIMITS, RecordLimitsSchema } from './limits.ts';
export type { ParseContext, ParseResult } from './normalize.ts';
export { detectFormat, parseEnvelope, parseRecord } from './normalize.ts';
export type { RecordError } from './record-error.ts';
export { fromZodIssues } from './record-error.ts';
export { normalizeSeverity } from './severity.ts';
export {
  eventTimeMillis,
  formatTimestamp,
  MAX_TIMESTAMP_MS,
  MIN_TIMESTAMP_MS,
  normalizeTimestamp,
  timestampMillis,
} from './timestamp.ts';
