import { describe, expect, it } from 'vitest';
import { random } from '../../test/engine/prng.ts';
import { timestampMillis } from './timestamp.ts';

const pad = (value: number, width: number) => String(value).padStart(width, '0');

describe('timestampMillis', () => {
  it('reads canonical timestamps as Date.parse does, across centuries, leap days and invalid dates', () => {
    const r = random(3);
    let valid = 0;
    for (let i = 0; i < 20_000; i++) {
      // Fields slightly beyond their ranges too (month 13, day 31 of short months, 24:00), which must not
      // be read as dates by the fast path.
      const year = r.chance(0.1) ? r.int(10_000) : 1900 + r.int(250);
      const text = `${pad(year, 4)}-${pad(r.int(14), 2)}-${pad(r.int(32), 2)}T${pad(r.int(25), 2)}:${pad(r.int(60), 2)}:${pad(r.int(60), 2)}.${pad(r.int(1000), 3)}Z`;
      const expected = Date.parse(text);
      expect([text, timestampMillis(text)]).toEqual([text, expected]);
      if (!Number.isNaN(expected)) valid++;
    }
    expect(valid).toBeGreaterThan(10_000);
  });

  it('reads streams of timestamps within one hour, minutes to millis out of range included', () => {
    const r = random(4);
    for (let i = 0; i < 20_000; i++) {
      // Runs of texts in the same hour (the date and hour parsed once), broken now and then by an invalid
      // date or hour with the same layout.
      const hour =
        i % 500 === 0
          ? `2026-02-30T${pad(r.int(25), 2)}`
          : `20${pad(20 + (i >> 12), 2)}-03-0${1 + ((i >> 11) % 9)}T${pad((i >> 9) % 25, 2)}`;
      const text = `${hour}:${pad(r.int(62), 2)}:${pad(r.int(62), 2)}.${pad(r.int(1000), 3)}Z`;
      expect([text, timestampMillis(text)]).toEqual([text, Date.parse(text)]);
    }
  });

  it('reads every day of a leap and a common year', () => {
    for (const year of [2024, 2100]) {
      for (let t = Date.UTC(year, 0, 1); t < Date.UTC(year + 1, 0, 1); t += 86_400_000 + 1234) {
        const text = new Date(t).toISOString();
        expect(timestampMillis(text)).toBe(t);
      }
    }
  });

  it('leaves other forms to Date.parse', () => {
    expect(timestampMillis('2026-03-02T10:00:00Z')).toBe(Date.parse('2026-03-02T10:00:00Z'));
    expect(timestampMillis('2026-03-02T10:00:00.000+01:00')).toBe(Date.parse('2026-03-02T09:00:00.000Z'));
    expect(timestampMillis('not a time')).toBeNaN();
  });
});
