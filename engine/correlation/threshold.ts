import { type Hit, lowerBound, upperBound } from './hits.ts';

function distinctAtLeast(hits: readonly Hit[], from: number, to: number, minimum: number): boolean {
  const seen = new Set<string | undefined>();
  for (let i = from; i < to; i++) {
    seen.add(hits[i]!.value);
    if (seen.size >= minimum) return true;
  }
  return false;
}

/**
 * At least `minCount` matching events, and when `distinctMin` is set at least that many distinct values of
 * the distinct field, within one window of `windowMs` (inclusive at both ends). Candidate windows start at
 * each hit within one window before the new hit; with in-order arrival the first one decides.
 * The witness is every hit in the window.
 */
export function findThreshold(
  hits: readonly Hit[],
  index: number,
  windowMs: number,
  minCount: number,
  distinctMin: number | undefined,
): Hit[] | undefined {
  // Fewer hits than one window needs, wherever it starts: the usual case, answered without a search.
  if (hits.length < minCount || hits.length < (distinctMin ?? 0)) return undefined;
  const newest = hits[index]!;
  const last = hits[hits.length - 1]!.t;
  for (let i = lowerBound(hits, newest.t - windowMs); i <= index; i++) {
    const until = hits[i]!.t + windowMs;
    // With in-order arrival the rest of the buffer usually lies inside the window: no search needed.
    const end = last <= until ? hits.length : upperBound(hits, until);
    if (end - i >= minCount && (distinctMin === undefined || distinctAtLeast(hits, i, end, distinctMin))) {
      return hits.slice(i, end);
    }
    if (end === hits.length) break;
  }
  return undefined;
}
