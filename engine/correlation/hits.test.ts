import { describe, expect, it } from 'vitest';
import { random } from '../../test/engine/prng.ts';
import { type Hit, HitBuffer, newHit, prune } from './hits.ts';

/** `length` hits in time order, with runs of equal times. */
function hitList(r: ReturnType<typeof random>, length: number): Hit[] {
  let t = r.int(1000);
  return Array.from({ length }, (_, seq) => {
    if (r.chance(0.7)) t += r.int(50);
    return newHit(t, seq, `e${seq}`, 1 + r.int(7), r.chance(0.5) ? `v${r.int(5)}` : undefined);
  });
}

describe('HitBuffer', () => {
  it('finds the same bounds as a linear scan, anywhere in buffers of any length', () => {
    const r = random(11);
    for (let i = 0; i < 3_000; i++) {
      const hits = hitList(r, r.int(120));
      const buffer = HitBuffer.from(hits);
      const first = hits[0]?.t ?? 0;
      const last = hits[hits.length - 1]?.t ?? 0;
      for (const t of [first - 1, first, last, last + 1, first + r.int(last - first + 2)]) {
        const atOrAfter = hits.findIndex((hit) => hit.t >= t);
        const after = hits.findIndex((hit) => hit.t > t);
        expect(buffer.lowerBound(t)).toBe(atOrAfter < 0 ? hits.length : atOrAfter);
        expect(buffer.upperBound(t)).toBe(after < 0 ? hits.length : after);
      }
    }
  });

  it('keeps (time, arrival) order whatever order hits come in, and gives them back as they went in', () => {
    const r = random(13);
    for (let i = 0; i < 500; i++) {
      const hits = hitList(r, 1 + r.int(40));
      const shuffled = [...hits].sort(() => r.next() - 0.5);
      const buffer = new HitBuffer();
      for (const hit of shuffled) {
        const index = buffer.insert(hit.t, hit.seq, hit.mask, hit.id, hit.value);
        expect(buffer.time(index)).toBe(hit.t);
        expect(buffer.eventIds([index])).toEqual([hit.id]);
      }
      expect(buffer.toHits()).toEqual(hits);
      expect(buffer.eventIdsBetween(0, hits.length)).toEqual(hits.map((hit) => hit.id));
    }
  });

  it('prunes expired hits at once in short buffers and caps the rest', () => {
    const r = random(12);
    for (let i = 0; i < 1_000; i++) {
      const hits = hitList(r, 1 + r.int(60));
      const buffer = HitBuffer.from(hits);
      const cutoff = hits[r.int(hits.length)]!.t;
      const max = 1 + r.int(70);
      const unexpired = hits.filter((hit) => hit.t >= cutoff);
      const kept = unexpired.slice(Math.max(0, unexpired.length - max));
      expect(prune(buffer, cutoff, max)).toBe(unexpired.length - kept.length);
      expect(buffer.toHits()).toEqual(kept);
      expect([buffer.length, buffer.mask(0), buffer.value(0)]).toEqual([
        kept.length,
        kept[0]?.mask,
        kept[0]?.value,
      ]);
    }
  });
});
