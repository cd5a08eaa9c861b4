import type { BufferState, HitBuffer } from './hits.ts';

/**
 * Records the hit (time `t`, condition `mask`, at `index`) in the per-condition newest times and tells whether
 * a search can succeed: a hit arriving in order completes a match only if every condition was seen within one
 * window before it.
 */
export function mayCompleteAllOf(
  state: BufferState,
  t: number,
  mask: number,
  index: number,
  windowMs: number,
  conditions: number,
): boolean {
  state.latest ??= [];
  const latest = state.latest;
  for (let bit = 0; bit < conditions; bit++) {
    if (mask & (1 << bit) && !((latest[bit] ?? Number.NEGATIVE_INFINITY) >= t)) latest[bit] = t;
  }
  if (index !== state.hits.length - 1) return true;
  for (let bit = 0; bit < conditions; bit++) {
    if ((latest[bit] ?? Number.NEGATIVE_INFINITY) < t - windowMs) return false;
  }
  return true;
}

/**
 * Every condition seen, in any order, within `windowMs` (inclusive). One event may satisfy several conditions.
 * Candidate windows start at each hit within one window before the new hit; with in-order arrival the first
 * candidate already reaches the newest hit and decides alone.
 * Returns the event ids of, per condition, the latest hit in the window that satisfies it.
 */
export function findAllOf(
  hits: HitBuffer,
  index: number,
  windowMs: number,
  conditions: number,
): string[] | undefined {
  const full = (1 << conditions) - 1;
  for (let i = hits.lowerBound(hits.time(index) - windowMs); i <= index; i++) {
    const end = hits.time(i) + windowMs;
    let mask = 0;
    let last = i;
    for (let j = i; j < hits.length && hits.time(j) <= end; j++) {
      mask |= hits.mask(j);
      last = j;
    }
    if ((mask & full) === full) {
      const witness: number[] = [];
      let covered = 0;
      for (let j = last; j >= i && covered !== full; j--) {
        if ((hits.mask(j) & ~covered & full) === 0) continue;
        covered |= hits.mask(j);
        witness.push(j);
      }
      return hits.eventIds(witness.reverse());
    }
    if (last === hits.length - 1) break;
  }
  return undefined;
}
