import { hash } from 'node:crypto';
import { z } from 'zod';
import { ALERT_SCHEMA_VERSION, type Alert } from './alert.ts';
import type { EvalContext } from './context.ts';
import { overlayOf, type PolicyOverlay } from './response/overlay.ts';
import { policyReference } from './response/values.ts';
import type { CompiledRule } from './rules/compile.ts';

/**
 * What an alert says about the event that completed it, captured when that event is at hand. Absence rules
 * keep it with the pending trigger until the deadline passes, so it is plain data.
 */
export const AlertDraftSchema = z.object({
  agentId: z.string(),
  sessionId: z.string(),
  summary: z.string(),
  riskScore: z.number(),
  enrichment: z.record(z.string(), z.unknown()),
  /** The suppression key's value for this event, when the rule suppresses. */
  suppressionKey: z.string().optional(),
  /**
   * The rule's policy suggestion from this event, when it makes one. Not checked on restore: a shortened
   * draft's may no longer fit the schema, and the digest drops it then anyway.
   */
  policySuggestion: z
    .custom<PolicyOverlay>((value) => typeof value === 'object' && value !== null)
    .optional(),
  /** sha256 of the suggestion's JSON: an absence trigger's kept draft may be shortened, its suggestion never. */
  policySuggestionDigest: z.string().optional(),
});
export type AlertDraft = z.infer<typeof AlertDraftSchema>;

/**
 * enrichment: `session` (the session's facts when the alert was raised), `asset` (the inventory record, when
 * the agent is listed), `intel` (threat-intel matches of the completing event, when any).
 * riskScore: the larger of the rule's risk score and the session's.
 */
export function draftAlert(
  rule: CompiledRule,
  context: EvalContext,
  groupKey: string,
  eventCount: number,
): AlertDraft {
  const enrichment: Record<string, unknown> = { session: { ...context.session } };
  const asset = context.asset();
  if (asset.known) enrichment.asset = asset;
  const intel = context.intel();
  if (intel.matched) enrichment.intel = { matches: intel.matches };
  const draft: AlertDraft = {
    agentId: context.event.agentId,
    sessionId: context.event.sessionId,
    summary: rule.summary(context, { eventCount, groupKey }),
    riskScore: Math.min(100, Math.max(rule.riskScore, context.session.riskScore)),
    enrichment,
  };
  if (rule.suppression) draft.suppressionKey = rule.suppression.key(context);
  const changes = rule.suggest?.(context);
  if (changes && changes.length > 0) {
    // The inventory's `policy` names the agent's policy; else the events' hash is all there is.
    const reference = policyReference(asset.known ? asset.policy : undefined, context.event.policyHash);
    const overlay = overlayOf(changes, reference)?.overlay;
    if (overlay) {
      draft.policySuggestion = overlay;
      draft.policySuggestionDigest = suggestionDigest(overlay);
    }
  }
  return draft;
}

function suggestionDigest(overlay: PolicyOverlay): string {
  return hash('sha256', JSON.stringify(overlay), 'hex');
}

/** The draft's suggestion as it was made; a shortened one (boundDraft) is dropped rather than sent wrong. */
function intactSuggestion(draft: AlertDraft): PolicyOverlay | undefined {
  const overlay = draft.policySuggestion;
  return overlay && draft.policySuggestionDigest === suggestionDigest(overlay) ? overlay : undefined;
}

/**
 * sha256 over the rule id, group key and contributing event ids, one per line: the same events always give the
 * same id. One-shot hashing of the joined text: a Hash object and an update per part took twice as long.
 */
export function alertId(ruleId: string, groupKey: string, eventIds: readonly string[]): string {
  return hash('sha256', [ruleId, groupKey, ...eventIds].join('\n'), 'hex');
}

export function finishAlert(
  rule: CompiledRule,
  draft: AlertDraft,
  groupKey: string,
  eventIds: readonly string[],
  timestamp: number,
  detectedAt: number,
  maxEventIds: number,
): Alert {
  const alert: Alert = {
    schemaVersion: ALERT_SCHEMA_VERSION,
    alertId: alertId(rule.id, groupKey, eventIds),
    ruleId: rule.id,
    ruleName: rule.name,
    ruleType: rule.type,
    severity: rule.severity,
    riskScore: draft.riskScore,
    agentId: draft.agentId,
    sessionId: draft.sessionId,
    groupKey,
    timestamp: new Date(timestamp).toISOString(),
    detectedAt: new Date(detectedAt).toISOString(),
    eventIds: eventIds.length > maxEventIds ? eventIds.slice(0, maxEventIds) : [...eventIds],
    eventCount: eventIds.length,
    actions: [...rule.actions],
    tags: [...rule.tags],
    summary: draft.summary,
    enrichment: draft.enrichment,
  };
  const policySuggestion = intactSuggestion(draft);
  if (policySuggestion) alert.response = { policySuggestion };
  return alert;
}
