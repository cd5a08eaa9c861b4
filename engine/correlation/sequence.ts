import { type Hit, lowerBound } from './hits.ts';

/**
 * Ordered steps within a window: step i needs `minimums[i]` events matching it, each after every event of
 * step i-1 (by event time, then arrival), all within `windowMs` of the first (inclusive: exactly the window
 * still matches). One event serves one step only.
 *
 * The new hit at `index` is the only one that can complete a match (the state is cleared after every match),
 * so only starts within one window before it are tried. For a fixed start, assigning each event to the
 * earliest step that still needs one is optimal, so one greedy pass per start decides.
 */
export function findSequence(
  hits: readonly Hit[],
  index: number,
  windowMs: number,
  minimums: readonly number[],
): Hit[] | undefined {
  const newest = hits[index]!;
  // Arriving in order, the newest hit can only complete a match as the last step.
  if (index === hits.length - 1 && (newest.mask & (1 << (minimums.length - 1))) === 0) return undefined;
  for (let i = lowerBound(hits, newest.t - windowMs); i <= index; i++) {
    const start = hits[i]!;
    if ((start.mask & 1) === 0) continue;
    const end = start.t + windowMs;
    const used: Hit[] = [start];
    let step = minimums[0]! <= 1 ? 1 : 0;
    let count = step === 0 ? 1 : 0;
    for (let j = i + 1; j < hits.length && step < minimums.length; j++) {
      const hit = hits[j]!;
      if (hit.t > end) break;
      if ((hit.mask & (1 << step)) === 0) continue;
      used.push(hit);
      if (++count >= minimums[step]!) {
        step++;
        count = 0;
      }
    }
    if (step === minimums.length) return used;
  }
  return undefined;
}
