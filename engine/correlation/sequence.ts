import type { HitBuffer } from './hits.ts';

/**
 * Ordered steps within a window: step i needs `minimums[i]` events matching it, each after every event of
 * step i-1 (by event time, then arrival), all within `windowMs` of the first (inclusive: exactly the window
 * still matches). One event serves one step only. Returns the event ids of the match.
 *
 * The new hit at `index` is the only one that can complete a match (the state is cleared after every match),
 * so only starts within one window before it are tried. For a fixed start, assigning each event to the
 * earliest step that still needs one is optimal, so one greedy pass per start decides; with in-order arrival
 * the first start's pass already reaches the newest hit and decides alone.
 */
export function findSequence(
  hits: HitBuffer,
  index: number,
  windowMs: number,
  minimums: readonly number[],
): string[] | undefined {
  // Arriving in order, the newest hit can only complete a match as the last step.
  if (index === hits.length - 1 && (hits.mask(index) & (1 << (minimums.length - 1))) === 0) return undefined;
  for (let i = hits.lowerBound(hits.time(index) - windowMs); i <= index; i++) {
    if ((hits.mask(i) & 1) === 0) continue;
    const end = hits.time(i) + windowMs;
    const used = [i];
    let step = minimums[0]! <= 1 ? 1 : 0;
    let count = step === 0 ? 1 : 0;
    let j = i + 1;
    for (; j < hits.length && step < minimums.length; j++) {
      if (hits.time(j) > end) break;
      if ((hits.mask(j) & (1 << step)) === 0) continue;
      used.push(j);
      if (++count >= minimums[step]!) {
        step++;
        count = 0;
      }
    }
    if (step === minimums.length) return hits.eventIds(used);
    // Every later hit lay within this start's window, so a later start has a subset of the same hits to
    // work with and fails too: one pass decides, where trying each start cost time quadratic in the hits.
    if (j === hits.length) break;
  }
  return undefined;
}
