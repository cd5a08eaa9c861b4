import { describe, expect, it } from 'vitest';
import { random } from '../../test/engine/prng.ts';
import { HitBuffer } from './hits.ts';
import { findSequence } from './sequence.ts';

/** The definition, tried naively: a greedy pass from every start within one window before the new hit. */
function everyStart(
  hits: HitBuffer,
  index: number,
  windowMs: number,
  minimums: readonly number[],
): string[] | undefined {
  for (let i = hits.lowerBound(hits.time(index) - windowMs); i <= index; i++) {
    if ((hits.mask(i) & 1) === 0) continue;
    const used = [i];
    let step = minimums[0]! <= 1 ? 1 : 0;
    let count = step === 0 ? 1 : 0;
    for (let j = i + 1; j < hits.length && step < minimums.length; j++) {
      if (hits.time(j) > hits.time(i) + windowMs) break;
      if ((hits.mask(j) & (1 << step)) === 0) continue;
      used.push(j);
      if (++count >= minimums[step]!) {
        step++;
        count = 0;
      }
    }
    if (step === minimums.length) return hits.eventIds(used);
  }
  return undefined;
}

describe('findSequence', () => {
  it('answers as trying every start does, for hits in and out of order', () => {
    const r = random(29);
    let matches = 0;
    let searches = 0;
    for (let run = 0; run < 1_000; run++) {
      const steps = 2 + r.int(3);
      const minimums = Array.from({ length: steps }, () => 1 + (r.chance(0.3) ? r.int(3) : 0));
      const windowMs = 20 + r.int(200);
      let buffer = new HitBuffer();
      let t = 0;
      for (let seq = 0; seq < 60; seq++) {
        t += r.int(15);
        // Some hits arrive late, placed among the earlier ones.
        const time = r.chance(0.2) ? Math.max(0, t - r.int(100)) : t;
        const index = buffer.insert(time, seq, 1 + r.int((1 << steps) - 1), `e${seq}`, undefined);
        const expected = everyStart(buffer, index, windowMs, minimums);
        expect(findSequence(buffer, index, windowMs, minimums)).toEqual(expected);
        searches++;
        // As the engine does: a match consumes the group's state.
        if (expected) {
          matches++;
          buffer = new HitBuffer();
        }
      }
    }
    // Both answers are exercised.
    expect(matches).toBeGreaterThan(searches / 50);
    expect(matches).toBeLessThan(searches / 2);
  });
});
