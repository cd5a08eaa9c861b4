import { describe, expect, it } from 'vitest';
import { random } from '../../test/engine/prng.ts';
import { DedupeWindow } from './dedupe.ts';

/** The window's definition, kept naively: arrival-ordered [agent, id, time] entries. */
class ModelWindow {
  held: Array<[string, string, number]> = [];
  evictedForCapacity = 0;
  constructor(private readonly capacity: number) {}
  admit(agent: string, id: string, time: number): boolean {
    if (this.held.some(([heldAgent, heldId]) => heldAgent === agent && heldId === id)) return false;
    if (this.held.length >= this.capacity) {
      this.held.shift();
      this.evictedForCapacity++;
    }
    this.held.push([agent, id, time]);
    return true;
  }
  expire(cutoff: number): void {
    while (this.held.length > 0 && this.held[0]![2] < cutoff) this.held.shift();
  }
}

describe('DedupeWindow', () => {
  it('answers as its definition through wrap-around, growth, capacity and age eviction', () => {
    const r = random(11);
    const window = new DedupeWindow(300);
    const model = new ModelWindow(300);
    let time = 0;
    for (let i = 0; i < 20_000; i++) {
      // Out-of-order times too: age eviction stops at the first id young enough, as the model does.
      time += r.int(3);
      const eventTime = time - r.int(50);
      const id = `evt-${r.int(2_000)}`;
      // Few agents, so the same id often comes from another agent too.
      const agent = `agent-${r.int(3)}`;
      expect(window.admit(agent, id, eventTime)).toBe(model.admit(agent, id, eventTime));
      if (r.chance(0.01)) {
        window.expire(time - 200);
        model.expire(time - 200);
      }
      expect(window.size).toBe(model.held.length);
    }
    expect(window.entries()).toEqual(model.held);
    expect(window.evictedForCapacity).toBe(model.evictedForCapacity);
    expect(model.evictedForCapacity).toBeGreaterThan(0);
  });

  it('finds every held id after many forgets have shifted probe runs back', () => {
    const r = random(12);
    const capacity = 5_000;
    const window = new DedupeWindow(capacity);
    const held: string[] = [];
    for (let i = 0; i < 60_000; i++) {
      const id = `id-${i}`;
      expect(window.admit('a', id, i)).toBe(true);
      held.push(id);
      if (held.length > capacity) held.shift();
      if (i % 1_000 === 999) {
        // Every id still held is a duplicate; ids forgotten a little earlier are new again.
        for (let k = 0; k < 200; k++) expect(window.admit('a', r.pick(held), i)).toBe(false);
      }
    }
    expect(window.size).toBe(capacity);
    expect(window.entries().map(([, id]) => id)).toEqual(held);
    expect(window.admit('a', 'id-0', 0)).toBe(true);
  });

  it('starts empty after clear and can be refilled from entries', () => {
    const window = new DedupeWindow(10);
    for (let i = 0; i < 25; i++) window.admit('a', `e${i}`, i);
    const entries = window.entries();
    expect(entries.map(([, id]) => id)).toEqual(Array.from({ length: 10 }, (_, i) => `e${i + 15}`));
    window.clear();
    expect(window.size).toBe(0);
    for (const [agent, id, time] of entries) window.admit(agent, id, time);
    expect(window.entries()).toEqual(entries);
    expect(window.admit('a', 'e24', 30)).toBe(false);
    expect(window.admit('b', 'e24', 30)).toBe(true);
    expect(window.admit('a', 'e14', 30)).toBe(true);
  });
});
