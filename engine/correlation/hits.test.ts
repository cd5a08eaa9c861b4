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

  it('answers as a plain list through interleaved inserts, appends and drops of the oldest', () => {
    const r = random(14);
    const buffer = new HitBuffer();
    let model: Hit[] = [];
    let t = 0;
    for (let seq = 0; seq < 5_000; seq++) {
      const roll = r.next();
      if (roll < 0.2 && model.length > 0) {
        const count = 1 + r.int(model.length);
        buffer.dropOldest(count);
        model = model.slice(count);
      } else {
        t += r.int(10);
        // Some hits come late, and go in before newer ones.
        const hit = newHit(r.chance(0.3) ? t - r.int(30) : t, seq, `e${seq}`, 1 + r.int(7), `v${seq}`);
        const index =
          roll < 0.6 && (model.length === 0 || hit.t >= model[model.length - 1]!.t)
            ? buffer.push(hit.t, hit.seq, hit.mask, hit.id, hit.value)
            : buffer.insert(hit.t, hit.seq, hit.mask, hit.id, hit.value);
        expect([buffer.time(index), buffer.seq(index)]).toEqual([hit.t, hit.seq]);
        model.splice(index, 0, hit);
        expect(model.map((h) => [h.t, h.seq])).toEqual(
          [...model].sort((a, b) => a.t - b.t || a.seq - b.seq).map((h) => [h.t, h.seq]),
        );
      }
      const i = model.length > 0 ? r.int(model.length) : 0;
      expect([buffer.length, buffer.time(i), buffer.seq(i), buffer.mask(i), buffer.value(i)]).toEqual([
        model.length,
        model[i]?.t,
        model[i]?.seq,
        model[i]?.mask,
        model[i]?.value,
      ]);
      expect(buffer.eventIdsBetween(i, model.length)).toEqual(model.slice(i).map((hit) => hit.id));
    }
    expect(buffer.toHits()).toEqual(model);
  });

  it('prunes expired hits and caps the rest', () => {
    const r = random(12);
    for (let i = 0; i < 1_000; i++) {
      const hits = hitList(r, 1 + r.int(200));
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
