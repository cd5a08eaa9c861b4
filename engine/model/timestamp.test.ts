import { describe, expect, it } from 'vitest';
import { random } from '../../test/engine/prng.ts';
import { eventTimeMillis, normalizeTimestamp, timestampMillis } from './timestamp.ts';

const pad = (value: number, width: number) => String(value).padStart(width, '0');

/** Date.parse for a canonical text that names a real instant; NaN where Date.parse rolls it over (02-30, 24:00). */
function reference(text: string): number {
  const millis = Date.parse(text);
  return Number.isNaN(millis) || new Date(millis).toISOString() !== text ? Number.NaN : millis;
}

describe('timestampMillis', () => {
  it('reads canonical timestamps as Date.parse does where they name a real instant, refusing the rest', () => {
    const r = random(3);
    let valid = 0;
    for (let i = 0; i < 20_000; i++) {
      // Fields slightly beyond their ranges too (month 13, day 31 of short months, 24:00), which must not
      // be read as dates by the fast path.
      const year = r.chance(0.1) ? r.int(10_000) : 1900 + r.int(250);
      const text = `${pad(year, 4)}-${pad(r.int(14), 2)}-${pad(r.int(32), 2)}T${pad(r.int(25), 2)}:${pad(r.int(60), 2)}:${pad(r.int(60), 2)}.${pad(r.int(1000), 3)}Z`;
      const expected = reference(text);
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
      expect([text, timestampMillis(text)]).toEqual([text, reference(text)]);
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

  it('reads the other RFC 3339 forms strictly', () => {
    expect(timestampMillis('2026-03-02T10:00:00Z')).toBe(Date.parse('2026-03-02T10:00:00Z'));
    expect(timestampMillis('2026-03-02T10:00:00.000+01:00')).toBe(Date.parse('2026-03-02T09:00:00.000Z'));
    expect(timestampMillis('2026-03-02t10:00:00,5-0230')).toBe(Date.parse('2026-03-02T12:30:00.500Z'));
    expect(timestampMillis('2026-03-02 10:00')).toBe(Date.parse('2026-03-02T10:00:00.000Z'));
    expect(timestampMillis('2026-03-02T10:00:00.123456789z')).toBe(Date.parse('2026-03-02T10:00:00.123Z'));
    expect(timestampMillis('0050-01-01T00:00:00Z')).toBe(Date.parse('0050-01-01T00:00:00.000Z'));
    expect(timestampMillis('2024-02-29T00:00:00Z')).toBe(Date.parse('2024-02-29T00:00:00Z'));
    for (const text of [
      'not a time',
      '2026-02-30T00:00:00Z',
      '2100-02-29T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-03-02T24:00:00Z',
      '2026-03-02T10:60:00Z',
      '2026-03-02T10:00:60Z',
      '2026-03-02T10:00:00+24:00',
      '2026-03-02T10:00:00.Z',
      '2026-03-02T10:00:00Zjunk',
      '2026-03-02',
      `2026-03-02T10:00:00.${'1'.repeat(64)}Z`,
    ]) {
      expect([text, timestampMillis(text)]).toEqual([text, Number.NaN]);
    }
  });
});

describe('eventTimeMillis and normalizeTimestamp', () => {
  it('reads epoch seconds and milliseconds, and any finite number, however far off', () => {
    expect(eventTimeMillis(1_772_000_000)).toBe(1_772_000_000_000);
    expect(eventTimeMillis(1_772_000_000_123)).toBe(1_772_000_000_123);
    expect(eventTimeMillis(1e20)).toBe(1e20);
    expect(eventTimeMillis(-5)).toBe(-5000);
    expect(eventTimeMillis(Number.NaN)).toBeNaN();
    expect(eventTimeMillis(Number.POSITIVE_INFINITY)).toBeNaN();
    expect(eventTimeMillis('1772000000')).toBeNaN();
    expect(eventTimeMillis(null)).toBeNaN();
  });

  it('writes four-digit years only, never throwing for times a Date cannot hold', () => {
    expect(normalizeTimestamp('2026-03-02T10:00:00+01:00')).toBe('2026-03-02T09:00:00.000Z');
    expect(normalizeTimestamp(253_402_300_799_999)).toBe('9999-12-31T23:59:59.999Z');
    expect(normalizeTimestamp(253_402_300_800_000)).toBeUndefined();
    expect(normalizeTimestamp(8.64e15)).toBeUndefined();
    expect(normalizeTimestamp(1e20)).toBeUndefined();
    expect(normalizeTimestamp('2026-02-30T00:00:00Z')).toBeUndefined();
  });
});
