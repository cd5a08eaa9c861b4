import { z } from 'zod';
import { ResponseActionSchema } from '../core/response-actions.ts';
import { SeveritySchema } from '../core/severity.ts';
import { PolicyOverlaySchema } from './response/overlay.ts';

export type { ResponseAction } from '../core/response-actions.ts';
export { RESPONSE_ACTIONS, ResponseActionSchema } from '../core/response-actions.ts';

export const ALERT_SCHEMA_VERSION = 1;

/**
 * The alert contract sinks and webhooks rely on.
 * `alertId` is a digest of (ruleId, group key, contributing event ids): the same events always give the same id,
 * so redelivery never makes a second alert downstream. `timestamp` is the event time of the event that
 * completed the match; `detectedAt` is when the engine saw it (the injected clock).
 */
export const AlertSchema = z.object({
  schemaVersion: z.literal(ALERT_SCHEMA_VERSION),
  alertId: z.string().min(1),
  ruleId: z.string().min(1),
  ruleName: z.string(),
  ruleType: z.enum(['match', 'sequence', 'threshold', 'all_of', 'absence', 'new_terms']),
  severity: SeveritySchema,
  riskScore: z.number().min(0).max(100),
  agentId: z.string(),
  sessionId: z.string(),
  /** The rule's groupBy values joined with `|`, e.g. `agent-1|sess-9`. */
  groupKey: z.string(),
  timestamp: z.iso.datetime(),
  detectedAt: z.iso.datetime(),
  /** Contributing events, oldest first, capped (see eventCount for the full number). */
  eventIds: z.array(z.string()),
  eventCount: z.int().min(1),
  actions: z.array(ResponseActionSchema),
  tags: z.array(z.string()),
  summary: z.string(),
  enrichment: z.record(z.string(), z.unknown()),
  /**
   * What to change so this would not happen again, when the rule suggests it and the event's values allow
   * it: a Clawdstrike policy overlay (engine/response/overlay.ts).
   */
  response: z.object({ policySuggestion: PolicyOverlaySchema }).optional(),
});
export type Alert = z.infer<typeof AlertSchema>;
