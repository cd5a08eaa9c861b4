import { type BufferState, type Hit, lowerBound } from './hits.ts';

/**
 * Records the hit in the per-condition newest times and tells whether a search can succeed: a hit arriving in
 * order completes a match only if every condition was seen within one window before it.
 */
export function mayCompleteAllOf(
  state: BufferState,
  hit: Hit,
  index: number,
  windowMs: number,
  conditions: number,
): boolean {
  state.latest ??= [];
  const latest = state.latest;
  for (let bit = 0; bit < conditions; bit++) {
    if (hit.mask & (1 << bit) && !((latest[bit] ?? Number.NEGATIVE_INFINITY) >= hit.t)) latest[bit] = hit.t;
  }
  if (index !== state.hits.length - 1) return true;
  for (let bit = 0; bit < conditions; bit++) {
    if ((latest[bit] ?? Number.NEGATIVE_INFINITY) < hit.t - windowMs) return false;
  }
  return true;
}

/**
 * Every condition seen, in any order, within `windowMs` (inclusive). One event may satisfy several conditions.
 * Candidate windows start at each hit within one window before the new hit; with in-order arrival the first
 * candidate already reaches the newest hit and decides alone.
 * The witness is, per condition, the latest hit in the window that satisfies it.
 */
export function findAllOf(
  hits: readonly Hit[],
  index: number,
  windowMs: number,
  conditions: number,
): Hit[] | undefined {
  const full = (1 << conditions) - 1;
  const newest = hits[index]!;
  for (let i = lowerBound(hits, newest.t - windowMs); i <= index; i++) {
    const end = hits[i]!.t + windowMs;
    let mask = 0;
    let last = i;
    for (let j = i; j < hits.length && hits[j]!.t <= end; j++) {
      mask |= hits[j]!.mask;
      last = j;
    }
    if ((mask & full) === full) {
      const witness: Hit[] = [];
      let covered = 0;
      for (let j = last; j >= i && covered !== full; j--) {
        const hit = hits[j]!;
        if ((hit.mask & ~covered & full) === 0) continue;
        covered |= hit.mask;
        witness.push(hit);
      }
      return witness.reverse();
    }
    if (last === hits.length - 1) break;
  }
  return undefined;
}
