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

/** Applies a hit; returns true when it became a pending trigger whose deadline must be scheduled. */
export function absenceHit(
  state: AbsenceState,
  hit: Hit,
  windowMs: number,
  limits: CorrelationLimits,
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
  insertHit(state.pending, { ...hit, draft: draft() });
  return true;
}

/** Removes and returns the pending trigger `seq`, if it is still pending. */
export function takePending(state: AbsenceState, seq: number): PendingTrigger | undefined {
  const index = state.pending.findIndex((trigger) => trigger.seq === seq);
  return index < 0 ? undefined : state.pending.splice(index, 1)[0];
}
