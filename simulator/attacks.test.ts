import { describe, expect, it } from 'vitest';
import type { Envelope } from '../engine/model/index.ts';
import { ATTACK_NAMES, ATTACKS, parseAttackList } from './attacks.ts';
import { fleetInventory } from './inventory.ts';
import { Simulation } from './simulation.ts';
import { bySession, generate, normalize, PATTERNS, time } from './test-support.ts';

const RUN_MS = 8 * 60_000;
/** Scenarios take at most a couple of minutes; ones started later may be cut off by the end of the run. */
const COMPLETE_BEFORE_MS = RUN_MS - 3 * 60_000;

describe.each(ATTACK_NAMES)('attack %s', (name) => {
  it.each([
    { rate: 50, agents: 3 },
    { rate: 2, agents: 20 },
  ])(
    'every injection satisfies its pattern in its agent+session, at $rate records/s over $agents agents',
    ({ rate, agents }) => {
      const records = generate({ seed: 3, agents, attacks: [name], attackIntervalMs: 40_000 }, rate, RUN_MS);
      const sessions = bySession(normalize(records));
      const attacked = [...sessions.values()].filter((events) =>
        events.some((event) => event.source.intent.attack === name),
      );
      const complete = attacked.filter(
        (events) =>
          time(events.find((e) => e.source.intent.attack)!.envelope) <
          records[0]!.intent.timestamp + COMPLETE_BEFORE_MS,
      );
      expect(complete.length).toBeGreaterThanOrEqual(1);
      for (const events of complete) {
        expect(PATTERNS[name](events.map((event) => event.envelope))).toBe(true);
      }
    },
  );
});

describe('benign traffic', () => {
  const records = generate({ seed: 21, agents: 5, attacks: [] }, 100, 10 * 60_000);
  const sessions = [...bySession(normalize(records)).values()].map((events) =>
    events.map((event) => event.envelope),
  );

  it('matches none of the attack patterns, in any session', () => {
    // 60,000 steps; a few hushd checks arrive twice (AuditEvent and SecurityEvent).
    expect(records.length).toBeGreaterThanOrEqual(60_000);
    for (const name of ATTACK_NAMES) {
      expect(
        sessions.filter((session) => PATTERNS[name](session)),
        name,
      ).toEqual([]);
    }
  });

  it('reads secrets only in the scopes the fleet inventory lists; secret_scope_abuse goes outside them', () => {
    const fleet = new Simulation({ seed: 21, agents: 5, attacks: [] });
    const scopes = new Set(fleetInventory(fleet.profiles()).agents.flatMap((agent) => agent.secretScopes));
    const secretScopes = (events: readonly Envelope[]) =>
      events.filter((event) => event.eventType === 'secret_access').map((event) => String(event.data.scope));
    const benign = sessions.flatMap(secretScopes);
    expect(benign.length).toBeGreaterThan(0);
    expect(benign.every((scope) => scopes.has(scope))).toBe(true);
    const abuse = normalize(generate({ seed: 1, agents: 2, attacks: ['secret_scope_abuse'] }, 20, 60_000));
    const abused = secretScopes(
      abuse.filter((event) => event.source.intent.attack).map((event) => event.envelope),
    );
    expect(abused.length).toBeGreaterThan(0);
    expect(abused.some((scope) => scopes.has(scope))).toBe(false);
  });

  it('is never denied and never names a credential file', () => {
    for (const session of sessions) {
      for (const event of session) {
        expect(event.decision.outcome).toBe('allow');
        expect(event.target).not.toMatch(/\.ssh|\.aws|\.env$|\/etc\//);
      }
    }
  });
});

describe('attack list', () => {
  it('accepts all, none and comma-separated names', () => {
    expect(parseAttackList('all')).toEqual({ ok: true, value: [...ATTACK_NAMES] });
    expect(parseAttackList('none')).toEqual({ ok: true, value: [] });
    expect(parseAttackList(' secret_leak, denial_burst,secret_leak ')).toEqual({
      ok: true,
      value: ['secret_leak', 'denial_burst'],
    });
  });

  it('names the unknown attack and lists the valid ones', () => {
    const result = parseAttackList('secret_leak,exfil');
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toContain('"exfil"');
      for (const name of ATTACK_NAMES) expect(result.error).toContain(name);
    }
  });

  it('has a summary for every attack', () => {
    for (const name of ATTACK_NAMES) expect(ATTACKS[name].summary.length).toBeGreaterThan(10);
  });
});
