import { z } from 'zod';

/**
 * A hit: one event that satisfied one or more of a rule's conditions. `mask` has bit i set when the event
 * matched role i (sequence step i, all_of condition i, ...). Hits are kept sorted by (time, seq); seq is the
 * engine's arrival counter, which orders events with equal timestamps.
 */
export const HitSchema = z.object({
  t: z.number(),
  seq: z.number(),
  id: z.string(),
  mask: z.int(),
  /** The threshold rule's distinct-field value. */
  value: z.string().optional(),
});
export type Hit = z.infer<typeof HitSchema>;

/**
 * A new hit. Made by a constructor, not an object literal: V8 pretenures a literal's allocation site once most
 * of its objects survive a young-generation collection, and with sequence hits living for minutes the one
 * shared site was pretenured, so the short-lived threshold hits filled the old generation too. Constructor
 * calls have no such site. Every hit has the same fields in the same order (`value` too, set only by
 * threshold rules counting distinct values), so the code that reads them stays monomorphic.
 */
export function newHit(t: number, seq: number, id: string, mask: number, value?: string): Hit {
  return new HitObject(t, seq, id, mask, value);
}

class HitObject implements Hit {
  readonly t: number;
  readonly seq: number;
  readonly id: string;
  readonly mask: number;
  value: string | undefined;

  constructor(t: number, seq: number, id: string, mask: number, value: string | undefined) {
    this.t = t;
    this.seq = seq;
    this.id = id;
    this.mask = mask;
    this.value = value;
  }
}

/** Hits for one (rule, group), newest event time in `watermark`. Plain data, so snapshots are the state itself. */
export const BufferStateSchema = z.object({
  kind: z.literal('buffer'),
  hits: z.array(HitSchema),
  watermark: z.number(),
  /**
   * all_of: the newest time each condition was seen (by bit), a cheap first test before searching. Conditions
   * not seen yet are holes, which JSON writes as null: both mean "never".
   */
  latest: z.array(z.number().nullable()).optional(),
});
export type BufferState = z.infer<typeof BufferStateSchema>;

/**
 * Index of the first hit with time >= t. Searched from the front with doubling steps, then by halves: callers
 * look for the start of a window or the first unexpired hit, which lie a few hits in, and every hit read is
 * an object of its own, often a cache miss, so reading fewer beats halving the whole buffer.
 */
export function lowerBound(hits: readonly Hit[], t: number): number {
  if (hits.length === 0 || hits[0]!.t >= t) return 0;
  // hits[below].t < t throughout.
  let below = 0;
  let step = 1;
  while (below + step < hits.length && hits[below + step]!.t < t) {
    below += step;
    step *= 2;
  }
  let lo = below + 1;
  let hi = Math.min(below + step, hits.length);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (hits[mid]!.t < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first hit with time > t. */
export function upperBound(hits: readonly Hit[], t: number): number {
  let lo = 0;
  let hi = hits.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (hits[mid]!.t <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Inserts in (t, seq) order and returns the index; in-order arrivals are a push. */
export function insertHit<H extends Hit>(hits: H[], hit: H): number {
  const last = hits[hits.length - 1];
  if (!last || last.t < hit.t || (last.t === hit.t && last.seq < hit.seq)) {
    hits.push(hit);
    return hits.length - 1;
  }
  let index = upperBound(hits, hit.t);
  while (index > 0 && hits[index - 1]!.t === hit.t && hits[index - 1]!.seq > hit.seq) index--;
  hits.splice(index, 0, hit);
  return index;
}

/** Up to this length a buffer drops expired hits at once: moving a few references is cheaper than searching again. */
const EAGER_PRUNE_LENGTH = 64;

/**
 * Drops hits older than `cutoff`: at once in short buffers, in batches in long ones (to keep pruning amortized
 * O(1)); then drops the oldest beyond `max`. Returns how many were dropped for the cap.
 */
export function prune(hits: Hit[], cutoff: number, max: number): number {
  const expired = lowerBound(hits, cutoff);
  const batchReady = expired >= 32 || expired * 4 >= hits.length || hits.length > max;
  if (expired > 0 && (hits.length <= EAGER_PRUNE_LENGTH || batchReady)) dropOldest(hits, expired);
  const excess = hits.length - max;
  if (excess > 0) dropOldest(hits, excess);
  return Math.max(0, excess);
}

/** hits.splice(0, count) without making the array of removed hits that splice returns. */
function dropOldest(hits: Hit[], count: number): void {
  for (let i = count; i < hits.length; i++) hits[i - count] = hits[i]!;
  hits.length -= count;
}

export interface CorrelationLimits {
  allowedLatenessMs: number;
  maxHitsPerState: number;
}

export interface CorrelationCounters {
  /** Hits refused because they were older than their state's watermark minus the allowed lateness. */
  lateEvents: number;
  /** Hits dropped because a state held maxHitsPerState already. */
  hitsDropped: number;
}

/**
 * Applies the lateness policy, drops what no future window can use, and places the hit by event time.
 * Returns its index, or -1 when it is too late to count.
 */
export function admitHit(
  state: BufferState,
  hit: Hit,
  windowMs: number,
  limits: CorrelationLimits,
  counters: CorrelationCounters,
): number {
  if (hit.t < state.watermark - limits.allowedLatenessMs) {
    counters.lateEvents++;
    return -1;
  }
  // Later than every hit admitted so far (the watermark is their newest time): it goes last, found without
  // reading the buffer's last hit.
  const newest = hit.t > state.watermark;
  if (newest) state.watermark = hit.t;
  // A future hit is at least watermark - lateness; any window holding it starts no earlier than that - window.
  const cutoff = state.watermark - limits.allowedLatenessMs - windowMs;
  counters.hitsDropped += prune(state.hits, cutoff, limits.maxHitsPerState - 1);
  if (!newest) return insertHit(state.hits, hit);
  state.hits.push(hit);
  return state.hits.length - 1;
}
