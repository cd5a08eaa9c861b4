import { describe, expect, it } from 'vitest';
import { bundledRules, denied, egress, event, read, replayEngine, T0 } from '../test/engine/helpers.ts';
import { buildRuleSet, createEngine, type Envelope, parseRecord, type RuleSet } from './index.ts';

function rulesFrom(content: unknown): RuleSet {
  const built = buildRuleSet([{ file: 'inline.yaml', content }]);
  if (!built.ok) throw new Error(JSON.stringify(built.error));
  return built.value;
}

const exfil = () => bundledRules(['CREDENTIAL_EXFILTRATION']);

describe('engine', () => {
  it('drops a hushd check seen twice (AuditEvent and SecurityEvent with one id)', () => {
    const audit = parseRecord({
      id: 'same-id',
      timestamp: new Date(T0).toISOString(),
      event_type: 'violation',
      action_type: 'file_access',
      target: '/home/a/.ssh/id_rsa',
      decision: 'blocked',
      guard: 'forbidden_path',
      severity: 'Critical',
      session_id: 's',
      agent_id: 'a',
    });
    const security = parseRecord({
      schema_version: '1.0.0',
      event_id: 'same-id',
      event_type: 'forbidden_path',
      timestamp: new Date(T0).toISOString(),
      agent: { id: 'a' },
      session: { id: 's' },
      outcome: 'failure',
      action: 'file_access',
      decision: { allowed: false, guard: 'forbidden_path', severity: 'critical' },
      resource: { type: 'file', name: '/home/a/.ssh/id_rsa', path: '/home/a/.ssh/id_rsa' },
    });
    if (!audit.ok || !security.ok) throw new Error('fixture does not parse');
    const { engine, run } = replayEngine(bundledRules(['DENIAL_BURST']));
    run([audit.value, security.value]);
    expect(engine.stats().duplicatesDropped).toBe(1);
    expect(engine.stats().eventsProcessed).toBe(1);
  });

  it('gives the same alert ids when the same events are processed again', () => {
    const events = [read(0, '/home/a/.ssh/id_rsa'), egress(10, 'evil.example')];
    const first = replayEngine(exfil()).run(events);
    const second = replayEngine(exfil()).run(events);
    expect(first).toHaveLength(1);
    expect(second.map((a) => a.alertId)).toEqual(first.map((a) => a.alertId));
    expect(first[0]!.alertId).toMatch(/^[0-9a-f]{64}$/);
  });

  it('resumes from a snapshot exactly where an uninterrupted run would be', () => {
    const events = [
      read(0, '/home/a/.ssh/id_rsa'),
      egress(5, 'api.openai.com'),
      egress(10, 'evil.example'),
      read(20, '/home/a/.aws/config'),
      egress(30, 'evil.example'),
    ];
    const whole = replayEngine(exfil()).run(events);
    const before = replayEngine(exfil());
    const head = before.run(events.slice(0, 2));
    const checkpoint = JSON.parse(JSON.stringify(before.engine.snapshot()));
    const after = replayEngine(exfil());
    expect(after.engine.restore(checkpoint)).toEqual({ statesDropped: 0 });
    const tail = after.run(events.slice(1));
    expect([...head, ...tail].map((a) => a.alertId)).toEqual(whole.map((a) => a.alertId));
    expect(after.engine.stats().duplicatesDropped).toBe(1);
  });

  it('keeps sessions and unchanged rules state on reload, and drops state of a changed rule', () => {
    const { engine, run } = replayEngine(bundledRules(['CREDENTIAL_EXFILTRATION', 'DENIAL_BURST']));
    run([read(0, '/home/a/.ssh/id_rsa'), denied(1, 'x')]);
    const report = engine.reload({ rules: bundledRules(['CREDENTIAL_EXFILTRATION']) });
    expect(report).toMatchObject({ removed: ['DENIAL_BURST'], changed: [], statesDropped: 1 });
    expect(engine.stats().state.sessions).toBe(1);
    expect(run([egress(10, 'evil.example')])).toHaveLength(1);
  });

  it('places late events by event time within the allowed lateness, and refuses later ones', () => {
    const { engine, run } = replayEngine(exfil(), { allowedLatenessMs: 30_000 });
    const alerts = run([egress(100, 'evil.example'), read(80, '/home/a/.ssh/id_rsa')]);
    expect(alerts.map((a) => a.timestamp)).toEqual([new Date(T0 + 80_000).toISOString()]);
    expect(engine.stats().lateEvents).toBe(0);
    const late = replayEngine(exfil(), { allowedLatenessMs: 30_000 });
    expect(late.run([egress(100, 'evil.example'), read(60, '/home/a/.ssh/id_rsa')])).toHaveLength(0);
    expect(late.engine.stats().lateEvents).toBe(1);
  });

  it('suppresses repeats within the window and counts them', () => {
    const { engine, run } = replayEngine(exfil());
    const alerts = run([
      read(0, '/home/a/.ssh/id_rsa'),
      egress(1, 'a.example'),
      read(2, '/home/a/.ssh/id_rsa'),
      egress(3, 'b.example'),
    ]);
    expect(alerts).toHaveLength(1);
    expect(engine.stats()).toMatchObject({
      alertsSuppressed: 1,
      suppressedByRule: { CREDENTIAL_EXFILTRATION: 1 },
    });
  });

  it('bounds state and counts every bound that bites', () => {
    const { engine, run } = replayEngine(
      bundledRules(['RAPID_FILE_ENUMERATION', 'CREDENTIAL_EXFILTRATION']),
      {
        maxHitsPerState: 150,
        maxCorrelationStates: 3,
        maxSessions: 2,
        dedupeCapacity: 10,
      },
    );
    run(Array.from({ length: 400 }, (_, i) => read(i * 0.1, '/srv/same-file')));
    run(Array.from({ length: 5 }, (_, i) => read(50, '/home/a/.ssh/id_rsa', { sessionId: `s-${i}` })));
    const stats = engine.stats();
    expect(stats.evictions.partialMatchesCap).toBeGreaterThan(0);
    expect(stats.evictions.statesCap).toBeGreaterThan(0);
    expect(stats.evictions.sessionsCap).toBe(4);
    expect(stats.evictions.dedupeCap).toBeGreaterThan(0);
    expect(stats.state).toMatchObject({ sessions: 2, dedupeEntries: 10 });
    expect(stats.state.correlationStates).toBeLessThanOrEqual(3);
  });

  it('fires an absence rule once event time passes the deadline plus lateness', () => {
    const rules = rulesFrom({
      rules: [
        {
          id: 'WRITE_WITHOUT_READ_BACK',
          name: 'write not read back',
          severity: 'low',
          type: 'absence',
          window: '1m',
          condition: { fact: 'eventType', operator: 'equal', value: 'file_write' },
          followedBy: { fact: 'eventType', operator: 'equal', value: 'file_read' },
        },
      ],
    });
    const write = (s: number) => event(s, 'file_write', { type: 'file', path: '/srv/x', operation: 'write' });
    const { engine, run } = replayEngine(rules, { allowedLatenessMs: 10_000 });
    const early = run([write(0), read(30, '/srv/x'), write(100), read(169, '/srv/y')]);
    expect(early.map((a) => [a.eventIds, a.timestamp])).toEqual([]);
    const alerts = run([read(171, '/srv/z', { sessionId: 'other' })]);
    expect(alerts.map((a) => [a.ruleId, a.timestamp])).toEqual([
      ['WRITE_WITHOUT_READ_BACK', new Date(T0 + 160_000).toISOString()],
    ]);
    expect(engine.snapshot().correlation.map((c) => c.groupKey)).toEqual(['agent-1|sess-1', 'agent-1|other']);
  });

  it('exposes session facts and the risk formula', () => {
    const rules = rulesFrom({
      rules: [
        {
          id: 'RISKY',
          name: 'risky',
          severity: 'high',
          type: 'match',
          condition: { fact: 'session.violationCount', operator: 'greaterThanInclusive', value: 3 },
          suppress: { window: '1h' },
        },
      ],
    });
    const { run } = replayEngine(rules);
    const alerts = run([denied(0, 'a'), denied(1, 'b'), denied(2, 'c'), denied(3, 'd')]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.enrichment.session).toMatchObject({ violationCount: 3, riskScore: 30, eventCount: 3 });
    expect(alerts[0]!.riskScore).toBe(75);
  });

  it('evaluates with an injected clock only', () => {
    const events: Envelope[] = [read(0, '/home/a/.ssh/id_rsa'), egress(1, 'evil.example')];
    const engine = createEngine({ rules: exfil(), clock: () => Date.parse('2030-01-01T00:00:00Z') });
    const alerts = events.flatMap((e) => engine.process(e));
    expect(alerts[0]!.detectedAt).toBe('2030-01-01T00:00:00.000Z');
    expect(alerts[0]!.timestamp).toBe(new Date(T0 + 1000).toISOString());
  });
});
