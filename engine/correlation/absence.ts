import { z } from 'zod';
import { type AlertDraft, AlertDraftSchema } from '../alerts.ts';
import { type CorrelationCounters, type CorrelationLimits, type Hit, HitSchema, insertHit } from './hits.ts';

/**
 * "A not followed by B within the window". A trigger (role 0) waits in `pending` until an event matching
 * `followedBy` (role 1) arrives with a time in [A.t, A.t + window], which cancels it. The engine schedules
 * each pending trigger's deadline (A.t + window) and fires it once the engine's event time has passed the
 * deadline by the allowed lateness, when no late B can arrive any more.
 * `followers` keeps recent B times so that a trigger arriving late is cancelled by a B seen before it.
 */
/** A trigger keeps what its alert will say, since the event itself is gone when the deadline passes. */
export const PendingTriggerSchema = HitSchema.extend({ draft: AlertDraftSchema });
export type PendingTrigger = z.infer<typeof PendingTriggerSchema>;

export const AbsenceStateSchema = z.object({
  kind: z.literal('absence'),
  pending: z.array(PendingTriggerSchema),
  followers: z.array(z.number()),
  watermark: z.number(),
});
export type AbsenceState = z.infer<typeof AbsenceStateSchema>;

export function newAbsenceState(): AbsenceState {
  return { kind: 'absence', pending: [], followers: [], watermark: Number.NEGATIVE_INFINITY };
}

export interface AbsenceLimits extends CorrelationLimits {
  maxPendingAlertChars: number;
}

/** Characters of kept alert text one partial match stands for, in the partial-match budget. */
const CHARS_PER_PARTIAL_MATCH = 256;

/**
 * What an absence state weighs in the engine's partial-match budget (maxPartialMatches): a follower's time
 * one, a pending trigger one plus its kept alert at its largest (maxPendingAlertChars), so the budget bounds
 * the bytes as well as the count.
 */
export function absenceWeight(state: AbsenceState, limits: AbsenceLimits): number {
  return state.pending.length * triggerWeight(limits) + state.followers.length;
}

/** What one pending trigger weighs: one, plus its kept alert at its largest in 256-character units. */
export function triggerWeight(limits: Pick<AbsenceLimits, 'maxPendingAlertChars'>): number {
  return 1 + Math.ceil(limits.maxPendingAlertChars / CHARS_PER_PARTIAL_MATCH);
}

/** Applies a hit; returns true when it became a pending trigger whose deadline must be scheduled. */
export function absenceHit(
  state: AbsenceState,
  hit: Hit,
  windowMs: number,
  limits: AbsenceLimits,
  counters: CorrelationCounters,
  draft: () => AlertDraft,
): boolean {
  if (hit.t < state.watermark - limits.allowedLatenessMs) {
    counters.lateEvents++;
    return false;
  }
  if (hit.t > state.watermark) state.watermark = hit.t;
  const horizon = state.watermark - limits.allowedLatenessMs;
  if (hit.mask & 2) {
    state.pending = state.pending.filter((trigger) => !(trigger.t <= hit.t && hit.t <= trigger.t + windowMs));
    state.followers.push(hit.t);
    if (state.followers.length > limits.maxHitsPerState) {
      state.followers.shift();
      counters.hitsDropped++;
    }
  }
  // A trigger that may still arrive is no older than the horizon; followers before it cannot cancel it.
  if (state.followers.length > 0 && state.followers[0]! < horizon) {
    state.followers = state.followers.filter((time) => time >= horizon);
  }
  if ((hit.mask & 1) === 0) return false;
  if (state.followers.some((time) => hit.t <= time && time <= hit.t + windowMs)) return false;
  if (state.pending.length >= limits.maxHitsPerState) {
    state.pending.shift();
    counters.hitsDropped++;
  }
  insertHit(state.pending, { ...hit, draft: boundDraft(draft(), limits.maxPendingAlertChars) });
  return true;
}

/**
 * The alert a trigger keeps until its deadline, within `maxChars` of JSON: when longer (a summary or intel
 * match quoting a long field), its strings and lists are shortened, halving until it fits; at worst only
 * the agent, session and risk are kept, with the summary's start.
 */
export function boundDraft(draft: AlertDraft, maxChars: number): AlertDraft {
  if (JSON.stringify(draft).length <= maxChars) return draft;
  for (let chars = 1024, items = 16; chars >= 16; chars >>= 1, items = Math.max(1, items >> 1)) {
    const short = shorten(draft, chars, items) as AlertDraft;
    if (JSON.stringify(short).length <= maxChars) return short;
  }
  return {
    agentId: draft.agentId,
    sessionId: draft.sessionId,
    summary: draft.summary.slice(0, 64),
    riskScore: draft.riskScore,
    enrichment: {},
  };
}

function shorten(value: unknown, chars: number, items: number): unknown {
  if (typeof value === 'string') return value.length > chars ? `${value.slice(0, chars)}…` : value;
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.slice(0, items).map((item) => shorten(item, chars, items));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    Object.defineProperty(out, key.length > chars ? key.slice(0, chars) : key, {
      value: shorten(item, chars, items),
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }
  return out;
}

/** Removes and returns the pending trigger `seq`, if it is still pending. */
export function takePending(state: AbsenceState, seq: number): PendingTrigger | undefined {
  const index = state.pending.findIndex((trigger) => trigger.seq === seq);
  return index < 0 ? undefined : state.pending.splice(index, 1)[0];
}
