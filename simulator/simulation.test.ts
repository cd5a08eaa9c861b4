import { describe, expect, it } from 'vitest';
import { ATTACK_NAMES } from './attacks.ts';
import { policyEventId, uuidV7 } from './ids.ts';
import { Prng } from './prng.ts';
import { Simulation } from './simulation.ts';
import { bySession, generate, normalize, START, time } from './test-support.ts';

describe('Simulation', () => {
  it('is deterministic for a seed and a sequence of times', () => {
    const run = (seed: number) =>
      JSON.stringify(
        generate({ seed, agents: 4, attacks: ATTACK_NAMES }, 40, 90_000).map((item) => item.record),
      );
    expect(run(42)).toBe(run(42));
    expect(run(42)).not.toBe(run(43));
  });

  it('injects every attack once within the first minute, spread over the agents', () => {
    const simulation = new Simulation({ seed: 9, agents: 5, attacks: ATTACK_NAMES });
    const records = [];
    for (let now = START; now < START + 60_000; now += 5) records.push(...simulation.next(now));
    expect([...simulation.injections().keys()].sort()).toEqual([...ATTACK_NAMES].sort());
    const attackers = new Set(
      records.filter((item) => item.intent.attack).map((item) => item.intent.agent.agentId),
    );
    expect(attackers.size).toBe(5);
  });

  it('keeps injecting at random after the first round', () => {
    const simulation = new Simulation({
      seed: 4,
      agents: 3,
      attacks: ['secret_leak'],
      attackIntervalMs: 10_000,
    });
    for (let now = START; now < START + 10 * 60_000; now += 50) simulation.next(now);
    expect(simulation.injections().get('secret_leak')).toBeGreaterThan(20);
  });

  it('injects nothing with no attacks selected', () => {
    const records = generate({ seed: 2, agents: 3, attacks: [] }, 50, 60_000);
    expect(records.some((item) => item.intent.attack)).toBe(false);
  });

  it('keeps event time increasing per agent, bursts included', () => {
    const records = generate(
      { seed: 8, agents: 3, attacks: ['rapid_file_enumeration', 'denial_burst'] },
      30,
      120_000,
    );
    const last = new Map<string, number>();
    for (const { intent } of records) {
      const previous = last.get(intent.agent.agentId) ?? 0;
      // The one equal case is a twin delivery of the same check.
      expect(intent.timestamp).toBeGreaterThanOrEqual(previous);
      last.set(intent.agent.agentId, intent.timestamp);
    }
  });

  it('works on a few files per session and rotates sessions', () => {
    const sessions = bySession(normalize(generate({ seed: 6, agents: 2, attacks: [] }, 50, 20 * 60_000)));
    expect(sessions.size).toBeGreaterThan(4);
    for (const events of sessions.values()) {
      const reads = new Set(
        events.filter((e) => e.envelope.eventType === 'file_read').map((e) => e.envelope.target),
      );
      expect(reads.size).toBeLessThanOrEqual(50);
      const span = time(events.at(-1)!.envelope) - time(events[0]!.envelope);
      expect(span).toBeLessThanOrEqual(12 * 60_000 + 60_000);
    }
  });
});

describe('ids and the generator', () => {
  it('makes UUIDv7s carrying the time, and PolicyEvent ids in both SDK styles', () => {
    const rng = new Prng(1);
    const uuid = uuidV7(rng, START);
    expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Number.parseInt(uuid.replace(/-/g, '').slice(0, 12), 16)).toBe(START);
    expect(policyEventId(uuid, 'uuid')).toBe(`evt_${uuid}`);
    expect(policyEventId(uuid, 'millis')).toMatch(new RegExp(`^evt-${START}-[0-9a-f]{8}$`));
  });

  it('draws uniformly enough and repeats for a seed', () => {
    const a = new Prng(123);
    const b = new Prng(123);
    const draws = Array.from({ length: 10_000 }, () => a.float());
    expect(draws).toEqual(Array.from({ length: 10_000 }, () => b.float()));
    const mean = draws.reduce((sum, value) => sum + value, 0) / draws.length;
    expect(mean).toBeGreaterThan(0.48);
    expect(mean).toBeLessThan(0.52);
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
    const ints = new Set(Array.from({ length: 1000 }, () => a.int(1, 6)));
    expect([...ints].sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
