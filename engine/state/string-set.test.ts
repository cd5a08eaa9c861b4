import { describe, expect, it } from 'vitest';
import { random } from '../../test/engine/prng.ts';
import { StringSet, stringHash } from './string-set.ts';

/** Replays random adds and lookups on a StringSet and a Set, comparing every answer and the final order. */
function replay(seed: number, operations: number, universe: number, hash: (key: string) => number): void {
  const r = random(seed);
  const set = new StringSet();
  const model = new Set<string>();
  for (let i = 0; i < operations; i++) {
    const key = `key-${r.int(universe)}`;
    const roll = r.next();
    if (roll < 0.5) {
      const absent = !model.has(key);
      model.add(key);
      expect(set.add(key, hash(key))).toBe(absent);
    } else expect(set.has(key, hash(key))).toBe(model.has(key));
    expect(set.size).toBe(model.size);
  }
  for (let i = 0; i < universe; i++) {
    const key = `key-${i}`;
    expect(set.has(key, hash(key))).toBe(model.has(key));
  }
  // A Set iterates in insertion order, as values() lists.
  expect(set.values()).toEqual([...model]);
}

describe('StringSet', () => {
  it('answers as a Set through growth', () => {
    replay(1, 20_000, 3_000, stringHash);
  });

  it('keeps answering when many keys share a hash (long probe runs across the table end)', () => {
    // Eight hash values for 400 keys: every probe run is long and wraps around the table end.
    replay(2, 10_000, 400, (key) => (stringHash(key) & 7) + 1);
  });

  it('hashes to a 32-bit integer, the same for equal strings', () => {
    expect(stringHash('evt-1')).toBe(stringHash(['evt', '1'].join('-')));
    expect(stringHash('evt-1')).not.toBe(stringHash('evt-2'));
    expect(Number.isInteger(stringHash('αβγ'))).toBe(true);
  });
});
