import { describe, expect, it } from 'vitest';
import { random } from '../../test/engine/prng.ts';
import { type Hit, lowerBound, newHit, prune, upperBound } from './hits.ts';

/** A buffer of `length` hits in time order, with runs of equal times. */
function buffer(r: ReturnType<typeof random>, length: number): Hit[] {
  let t = r.int(1000);
  return Array.from({ length }, (_, seq) => {
    if (r.chance(0.7)) t += r.int(50);
    return newHit(t, seq, `e${seq}`, 1);
  });
}

describe('hit buffer search', () => {
  it('finds the same bounds as a linear scan, anywhere in buffers of any length', () => {
    const r = random(11);
    for (let i = 0; i < 3_000; i++) {
      const hits = buffer(r, r.int(120));
      const first = hits[0]?.t ?? 0;
      const last = hits[hits.length - 1]?.t ?? 0;
      for (const t of [first - 1, first, last, last + 1, first + r.int(last - first + 2)]) {
        const atOrAfter = hits.findIndex((hit) => hit.t >= t);
        const after = hits.findIndex((hit) => hit.t > t);
        expect(lowerBound(hits, t)).toBe(atOrAfter < 0 ? hits.length : atOrAfter);
        expect(upperBound(hits, t)).toBe(after < 0 ? hits.length : after);
      }
    }
  });

  it('prunes expired hits at once in short buffers and caps the rest', () => {
    const r = random(12);
    for (let i = 0; i < 1_000; i++) {
      const hits = buffer(r, 1 + r.int(60));
      const cutoff = hits[r.int(hits.length)]!.t;
      const max = 1 + r.int(70);
      const unexpired = hits.filter((hit) => hit.t >= cutoff);
      const kept = unexpired.slice(Math.max(0, unexpired.length - max));
      expect(prune(hits, cutoff, max)).toBe(unexpired.length - kept.length);
      expect(hits).toEqual(kept);
    }
  });
});
