import { describe, expect, it } from 'vitest';
import { RuleCounts } from './rule-counts.ts';

describe('RuleCounts', () => {
  it('counts by position and keeps totals by id across installs that move, drop and add rules', () => {
    const counts = new RuleCounts();
    counts.install(['A', 'B', 'C']);
    counts.add(0);
    counts.add(2);
    counts.add(2);
    expect(counts.byId()).toEqual({ A: 1, C: 2 });
    counts.install(['C', 'D']);
    counts.add(0);
    counts.add(1);
    expect(counts.byId()).toEqual({ A: 1, C: 3, D: 1 });
    counts.install([]);
    expect(counts.byId()).toEqual({ A: 1, C: 3, D: 1 });
  });
});
