import type { HitBuffer } from './hits.ts';

function distinctAtLeast(hits: HitBuffer, from: number, to: number, minimum: number): boolean {
  const seen = new Set<string | undefined>();
  for (let i = from; i < to; i++) {
    seen.add(hits.value(i));
    if (seen.size >= minimum) return true;
  }
  return false;
}

/**
 * At least `minCount` matching events, and when `distinctMin` is set at least that many distinct values of
 * the distinct field, within one window of `windowMs` (inclusive at both ends). Candidate windows start at
 * each hit within one window before the new hit; with in-order arrival the first one decides.
 * Returns the event ids of every hit in the window.
 */
export function findThreshold(
  hits: HitBuffer,
  index: number,
  windowMs: number,
  minCount: number,
  distinctMin: number | undefined,
): string[] | undefined {
  // Fewer hits than one window needs, wherever it starts: the usual case, answered without a search.
  if (hits.length < minCount || hits.length < (distinctMin ?? 0)) return undefined;
  const last = hits.time(hits.length - 1);
  for (let i = hits.lowerBound(hits.time(index) - windowMs); i <= index; i++) {
    const until = hits.time(i) + windowMs;
    // With in-order arrival the rest of the buffer usually lies inside the window: no search needed.
    const end = last <= until ? hits.length : hits.upperBound(until);
    if (end - i >= minCount && (distinctMin === undefined || distinctAtLeast(hits, i, end, distinctMin))) {
      return hits.eventIdsBetween(i, end);
    }
    if (end === hits.length) break;
  }
  return undefined;
}
