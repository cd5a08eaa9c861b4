import { describe, expect, it } from 'vitest';
import { random } from '../../test/engine/prng.ts';
import type { Alert } from '../alert.ts';
import { createEngine, type DetectionEngine } from '../engine.ts';
import type { EngineLimits } from '../limits.ts';
import { type Envelope, parseRecord } from '../model/index.ts';
import { buildRuleSet, type RuleSet } from '../rules/ruleset.ts';

const T0 = Date.parse('2026-03-02T10:00:00.000Z');
const DAY = 86_400_000;

function ruleSet(...list: Array<Record<string, unknown>>): RuleSet {
  const built = buildRuleSet([{ file: 'inline.yaml', content: { rules: list } }]);
  if (!built.ok) throw new Error(JSON.stringify(built.error));
  return built.value;
}

function rules(overrides: Record<string, unknown> = {}): RuleSet {
  return ruleSet({
    id: 'NEW_HOST',
    name: 'New host',
    severity: 'low',
    type: 'new_terms',
    fields: 'data.host',
    history: '14d',
    condition: { fact: 'eventType', operator: 'equal', value: 'network_egress' },
    ...overrides,
  });
}

let counter = 0;
function egress(ms: number, host: string, agent = 'agent-1', extra: Record<string, unknown> = {}) {
  const parsed = parseRecord({
    eventId: `e${++counter}`,
    eventType: 'network_egress',
    timestamp: new Date(T0 + ms).toISOString(),
    sessionId: `sess-${agent}-${Math.floor(ms / DAY)}`,
    data: { type: 'network', host, port: 443, ...extra },
    metadata: { agentId: agent },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
  return parsed.value;
}

function read(ms: number, agent: string) {
  const parsed = parseRecord({
    eventId: `e${++counter}`,
    eventType: 'file_read',
    timestamp: new Date(T0 + ms).toISOString(),
    sessionId: `sess-${agent}`,
    data: { type: 'file', path: '/srv/a', operation: 'read' },
    metadata: { agentId: agent },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
  return parsed.value;
}

/** An engine whose clock stays ahead of every event, so event time alone decides. */
function engineOver(set: RuleSet, limits: Partial<EngineLimits> = {}): DetectionEngine {
  return createEngine({ rules: set, clock: () => T0 + 400 * DAY, limits });
}

/** The event ids that alerted, in order. */
function alerted(engine: DetectionEngine, events: Envelope[]): string[] {
  return events.flatMap((event) => engine.process(event).map((alert) => alert.eventIds[0]!));
}

describe('new_terms', () => {
  it('alerts on a term unseen within the history, inclusive at the boundary, once the group has learned', () => {
    const events = [
      egress(0, 'a.example'),
      egress(DAY, 'known.example'),
      egress(7 * DAY, 'a.example'),
      // Learning ends 14 days after the first event: 1 ms before, a new host is only learned.
      egress(14 * DAY - 1, 'early.example'),
      egress(14 * DAY, 'b.example'),
      egress(14 * DAY + 1, 'b.example'),
      // known.example was last seen at day 1: exactly 14 days later it is still known, 1 ms after that new.
      egress(15 * DAY, 'known.example'),
      egress(29 * DAY + 1, 'known.example'),
    ];
    const ids = events.map((event) => event.eventId);
    expect(alerted(engineOver(rules()), events)).toEqual([ids[4], ids[7]]);
  });

  it('keeps a baseline per agent by default, across sessions, and only for events the condition selects', () => {
    const set = rules();
    const engine = engineOver(set);
    const learn = [egress(0, 'x.example', 'agent-1'), egress(0, 'y.example', 'agent-2')];
    const other = parseRecord({
      eventId: 'file-1',
      eventType: 'file_read',
      timestamp: new Date(T0 + 14 * DAY).toISOString(),
      sessionId: 's',
      data: { type: 'file', path: '/tmp/a', operation: 'read', host: 'z.example' },
      metadata: { agentId: 'agent-1' },
    });
    if (!other.ok) throw new Error('unparsed');
    const later = [
      other.value,
      egress(14 * DAY, 'y.example', 'agent-1'),
      egress(14 * DAY, 'x.example', 'agent-2'),
    ];
    expect(alerted(engine, learn)).toEqual([]);
    expect(alerted(engine, later)).toEqual([later[1]!.eventId, later[2]!.eventId]);
    const alert = engine.process(egress(14 * DAY + 5, 'w.example', 'agent-1'))[0] as Alert;
    expect(alert).toMatchObject({ ruleType: 'new_terms', groupKey: 'agent-1', eventCount: 1 });
  });

  it('counts every event of the group as history: 14 days of file reads, then a first egress alerts', () => {
    const engine = engineOver(rules());
    const events = [
      read(0, 'agent-1'),
      read(7 * DAY, 'agent-1'),
      egress(14 * DAY - 1, 'a.example'),
      egress(14 * DAY, 'b.example'),
    ];
    expect(alerted(engine, events)).toEqual([events[3]!.eventId]);
    expect(engine.stats().state).toMatchObject({ baselines: 1, terms: 2 });
  });

  it('judges a tuple of fields and skips events missing one', () => {
    const engine = engineOver(rules({ fields: ['data.host', 'data.port', 'data.url'], learning: '0s' }));
    const url = { url: 'https://a.example/' };
    const events = [
      egress(0, 'a.example', 'agent-1', url),
      egress(1, 'a.example', 'agent-1', url),
      egress(2, 'a.example', 'agent-1', { ...url, port: 8443 }),
      egress(3, 'b.example'),
      egress(4, 'b.example', 'agent-1', { url: 'https://b.example/' }),
    ];
    expect(alerted(engine, events)).toEqual([events[0]!.eventId, events[2]!.eventId, events[4]!.eventId]);
  });

  it('refuses a history past 90 days, a tuple of four and an unknown field, naming them', () => {
    const refused = (overrides: Record<string, unknown>) => {
      const built = buildRuleSet([
        {
          file: 'bad.yaml',
          content: {
            rules: [
              {
                id: 'R',
                name: 'r',
                severity: 'low',
                type: 'new_terms',
                fields: 'data.host',
                history: '14d',
                ...overrides,
              },
            ],
          },
        },
      ]);
      return built.ok ? [] : built.error.map((problem) => `${problem.path.join('.')}: ${problem.message}`);
    };
    expect(refused({ history: '91d' }).join()).toContain('durations run from 1ms to 90d');
    expect(refused({ learning: '0s' })).toEqual([]);
    expect(refused({ fields: ['a', 'b', 'c', 'd'] })).toEqual([
      'fields: expected one field name or a list of 1 to 3',
    ]);
    expect(refused({ fields: 'nosuch.field' }).join()).toContain('unknown fact "nosuch.field"');
  });

  it('drops a late event (older than the group newest minus the lateness) without learning it', () => {
    const engine = engineOver(rules({ learning: '0s' }), { allowedLatenessMs: 60_000 });
    const events = [
      egress(10 * 60_000, 'a.example'),
      egress(10 * 60_000 - 60_001, 'late.example'),
      // Within the lateness: judged against everything seen so far, including a.example stamped after it.
      egress(10 * 60_000 - 60_000, 'a.example'),
      egress(10 * 60_000 + 1, 'late.example'),
    ];
    expect(alerted(engine, events)).toEqual([events[0]!.eventId, events[3]!.eventId]);
    expect(engine.stats().lateEvents).toBe(1);
  });

  it('starts a group over after history plus lateness without events, whether idle eviction ran or not', () => {
    const run = (fillers: number) => {
      const engine = engineOver(rules());
      const events = [egress(0, 'a.example'), egress(14 * DAY, 'a.example')];
      // Other agents' events move the engine's time past the group's history; 1,100 of them make the
      // engine's maintenance run (every 1,024 events), which drops the idle baseline.
      for (let i = 0; i < fillers; i++) events.push(egress(29 * DAY + i, 'a.example', `other-${i}`));
      events.push(egress(29 * DAY + 5_000, 'new.example'));
      const ids = alerted(engine, events);
      return { ids, idle: engine.stats().evictions.baselinesIdle };
    };
    expect(run(1)).toEqual({ ids: [], idle: 0 });
    const evicted = run(1_100);
    expect(evicted.ids).toEqual([]);
    expect(evicted.idle).toBeGreaterThan(0);
  });

  it('keeps long terms as digests and counts them once', () => {
    const engine = engineOver(rules({ learning: '0s' }));
    const long = `${'h'.repeat(5_000)}.example`;
    expect(alerted(engine, [egress(0, long), egress(1, long)])).toHaveLength(1);
    const [entry] = engine.snapshot().correlation;
    expect(entry!.state).toMatchObject({
      kind: 'terms',
      terms: [[expect.stringMatching(/^#sha256:/), T0 + 1]],
    });
  });

  it('drops the baselines of a changed rule on reload and keeps those of an unchanged one', () => {
    const engine = engineOver(rules({ learning: '0s' }));
    engine.process(egress(0, 'a.example'));
    expect(engine.reload({ rules: rules({ learning: '0s' }) }).statesDropped).toBe(0);
    expect(engine.process(egress(1, 'a.example'))).toEqual([]);
    expect(engine.reload({ rules: rules({ learning: '0s', history: '13d' }) }).statesDropped).toBe(1);
    expect(engine.process(egress(2, 'a.example'))).toHaveLength(1);
  });

  it('has a rule added by a reload learn from its load on, also across a snapshot, not from the group start', () => {
    const port = {
      id: 'NEW_PORT',
      name: 'New port',
      severity: 'low',
      type: 'new_terms',
      fields: 'data.port',
      history: '14d',
      learning: '1d',
      condition: { fact: 'eventType', operator: 'equal', value: 'network_egress' },
    };
    const host = rules({ learning: '1d' });
    const both = ruleSet(port);
    both.rules.unshift(...host.rules);
    const engine = engineOver(host);
    // The agent's clock started two days ago for NEW_HOST; NEW_PORT arrives now and must learn a day first.
    alerted(engine, [egress(0, 'a.example'), egress(2 * DAY, 'a.example')]);
    engine.reload({ rules: both });
    const restored = engineOver(both);
    restored.restore(JSON.parse(JSON.stringify(engine.snapshot())));
    for (const subject of [engine, restored]) {
      const early = egress(2 * DAY + 1, 'a.example', 'agent-1', { port: 8443 });
      const late = egress(3 * DAY + 2, 'a.example', 'agent-1', { port: 9443 });
      const fired = [early, late].map((event) => subject.process(event).map((alert) => alert.ruleId));
      expect(fired).toEqual([[], ['NEW_PORT']]);
    }
  });
});

/**
 * The definition, kept naively: per group every accepted (time, term), in arrival order; every event of the
 * group counts, a term only when it is selected and has the fields. An event is late when older than its
 * group's newest minus the lateness; a group idle since the engine's time minus history and lateness starts
 * over; a term is new when no accepted event of the group had it at a time from history before the event on,
 * and the group's first accepted event is at least `learning` before.
 */
class ReferenceBaselines {
  private readonly groups = new Map<
    string,
    { since: number; newest: number; seen: Array<[number, string]> }
  >();
  private engineTime = Number.NEGATIVE_INFINITY;
  late = 0;

  constructor(
    private readonly historyMs: number,
    private readonly learningMs: number,
    private readonly latenessMs: number,
  ) {}

  observe(group: string, term: string | undefined, t: number): boolean {
    this.engineTime = Math.max(this.engineTime, t);
    let state = this.groups.get(group);
    if (state && state.newest < this.engineTime - this.historyMs - this.latenessMs) state = undefined;
    if (state && t < state.newest - this.latenessMs) {
      this.late++;
      return false;
    }
    if (!state) {
      state = { since: t, newest: t, seen: [] };
      this.groups.set(group, state);
    }
    state.newest = Math.max(state.newest, t);
    state.since = Math.min(state.since, t);
    if (term === undefined) return false;
    const known = state.seen.some(([time, seen]) => seen === term && time >= t - this.historyMs);
    state.seen.push([t, term]);
    return !known && t - state.since >= this.learningMs;
  }
}

describe('new_terms against its definition', () => {
  /** Random streams: few agents and hosts, times mostly rising, some out of order within and past the lateness. */
  function stream(r: ReturnType<typeof random>, length: number): Envelope[] {
    let t = 0;
    return Array.from({ length }, () => {
      t += r.chance(0.05) ? r.int(3_000) : r.int(40);
      const time = r.chance(0.15) ? t - r.int(250) : t;
      const host = `h${r.int(r.chance(0.7) ? 6 : 60)}.example`;
      const agent = `agent-${r.int(4)}`;
      // Other events are history for the learning period only; so are those missing the second field (the url).
      if (r.chance(0.1)) return read(Math.max(0, time), agent);
      return egress(Math.max(0, time), host, agent, r.chance(0.05) ? {} : { url: host });
    });
  }

  it('alerts exactly as the naive definition over random streams, and counts the same late events', () => {
    const r = random(41);
    for (let round = 0; round < 30; round++) {
      const historyMs = 50 + r.int(2_000);
      const learningMs = r.chance(0.3) ? 0 : r.int(3_000);
      const latenessMs = r.int(200);
      const set = rules({
        fields: ['data.host', 'data.url'],
        history: `${historyMs}ms`,
        learning: `${learningMs}ms`,
      });
      const engine = engineOver(set, { allowedLatenessMs: latenessMs, maxClockSkewMs: 0 });
      const reference = new ReferenceBaselines(historyMs, learningMs, latenessMs);
      for (const event of stream(r, 1_500)) {
        const url = event.data.url as string | undefined;
        const term =
          event.eventType !== 'network_egress' || url === undefined
            ? undefined
            : JSON.stringify([event.data.host, url]);
        const expected = reference.observe(event.agentId, term, Date.parse(event.timestamp));
        expect(engine.process(event).length, `round ${round}, ${event.eventId}`).toBe(expected ? 1 : 0);
      }
      expect(engine.stats().lateEvents).toBe(reference.late);
    }
  });

  it('restored from a snapshot at any cut, gives the alerts and state of the uninterrupted run', () => {
    const r = random(43);
    for (let round = 0; round < 20; round++) {
      const set = rules({
        fields: ['data.host', 'data.url'],
        history: `${200 + r.int(1_000)}ms`,
        learning: `${r.int(1_500)}ms`,
      });
      const limits = { allowedLatenessMs: 100, maxTermsPerGroup: 8, maxNewTerms: 20 };
      const events = stream(r, 1_200);
      const whole = engineOver(set, limits);
      const expected = whole.processBatch(events).map((alert) => alert.alertId);
      const cut = r.int(events.length);
      const first = engineOver(set, limits);
      const before = first.processBatch(events.slice(0, cut));
      const second = engineOver(set, limits);
      second.restore(JSON.parse(JSON.stringify(first.snapshot())));
      const after = second.processBatch(events.slice(cut));
      expect(
        [...before, ...after].map((alert) => alert.alertId),
        `round ${round}, cut ${cut}`,
      ).toEqual(expected);
      expect(second.snapshot()).toEqual(whole.snapshot());
      expect(second.stats().state).toEqual(whole.stats().state);
    }
  });

  it('reads a snapshot written before baselines existed (version 2 without terms states)', () => {
    const engine = engineOver(rules({ learning: '0s' }));
    const snapshot = engine.snapshot();
    expect(snapshot.version).toBe(2);
    const restored = engineOver(rules({ learning: '0s' }));
    expect(restored.restore({ ...snapshot, correlation: [] })).toEqual({ statesDropped: 0 });
    expect(restored.process(egress(0, 'a.example'))).toHaveLength(1);
  });
});

describe('new_terms under a flood of distinct terms', () => {
  const limits = { maxTermsPerGroup: 1_000, maxNewTerms: 5_000 };

  /** agent-victim learns its hosts over 14 days; `flood` then sends distinct hosts as fast as it likes. */
  function attack(floodTerms: number, floodAgents: number) {
    const engine = engineOver(rules(), limits);
    const victim = Array.from({ length: 50 }, (_, i) =>
      egress(i * 60_000, `usual-${i}.example`, 'agent-victim'),
    );
    const relearn = Array.from({ length: 50 }, (_, i) =>
      egress(14 * DAY + i, `usual-${i}.example`, 'agent-victim'),
    );
    engine.processBatch([...victim, ...relearn]);
    const flood = Array.from({ length: floodTerms }, (_, i) =>
      egress(14 * DAY + 1_000 + i, `x${i}.attacker.example`, `agent-flood-${i % floodAgents}`),
    );
    const started = performance.now();
    engine.processBatch(flood);
    const elapsed = performance.now() - started;
    const usual = engine.processBatch([egress(14 * DAY + 3_600_000, 'usual-7.example', 'agent-victim')]);
    const held = engine.stats().state.terms;
    const fresh = engine.processBatch([egress(14 * DAY + 3_600_001, 'c2.attacker.example', 'agent-victim')]);
    return { engine, elapsed, usual, fresh, held };
  }

  it('one agent flooding distinct hosts keeps within its own cap and leaves another agent baseline alone', () => {
    const { engine, usual, fresh, held } = attack(30_000, 1);
    const stats = engine.stats();
    expect(held).toBe(50 + limits.maxTermsPerGroup);
    expect(stats.evictions.termsPerGroupCap).toBe(30_000 - limits.maxTermsPerGroup);
    expect(stats.evictions.baselinesCap).toBe(0);
    // The victim's usual host is still known; a new one still alerts.
    expect(usual).toEqual([]);
    expect(fresh.map((alert) => alert.agentId)).toEqual(['agent-victim']);
  });

  it('many agents flooding hold all terms within the global cap, counted, least recently used first', () => {
    const { engine } = attack(20_000, 40);
    const stats = engine.stats();
    expect(stats.state.terms).toBeLessThanOrEqual(limits.maxNewTerms);
    expect(stats.evictions.baselinesCap).toBeGreaterThan(0);
    expect(stats.state.baselines).toBeLessThanOrEqual(41);
  });

  it('costs a bounded time per event: four times the flood costs under eight times as much', () => {
    // Warm up, then compare the flood's cost at two sizes (each the best of three).
    attack(10_000, 1);
    const best = (terms: number) => Math.min(...[0, 1, 2].map(() => attack(terms, 1).elapsed));
    const small = best(10_000);
    const large = best(40_000);
    expect(large / small).toBeLessThan(8);
  });
});
