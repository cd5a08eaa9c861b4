import { describe, expect, it } from 'vitest';
import { type Alert, createEngine, ENVELOPE_SCHEMA_VERSION, parseRecord } from '../../engine/index.ts';
import { decodeEvent } from '../../processor/decode.ts';
import { bundledRules } from '../engine/helpers.ts';
import { fileRead, fileWrite, iso, liveEngine, T0 } from './records-support.ts';

/**
 * Issue 13, "Event time can be gamed": one event dated 9999-12-31, then 120 file reads in the same session,
 * kept RAPID_FILE_ENUMERATION from firing (the state's watermark sat in 9999, so every read was late) and kept
 * suppressed match rules silent (their window ran to 9999). The same burst from a control agent fired.
 */

/** 120 reads of distinct paths, 100 ms apart from `start`, each arriving when it says. */
function burst(agentId: string, start: number) {
  return Array.from({ length: 120 }, (_, i) => ({
    raw: fileRead(`${agentId}-r${i}`, agentId, iso(start + i * 100), `/srv/data/file-${i}.csv`),
    arrival: start + i * 100,
  }));
}

const alertsOf = (alerts: Alert[], ruleId: string, agentId: string) =>
  alerts.filter((alert) => alert.ruleId === ruleId && alert.agentId === agentId);

describe('event time the sender controls', () => {
  // Far-future times as sent: past the year 9999, past what a Date holds, and 29 s ahead (within the allowed
  // skew, so believed, but it must not hide the burst either).
  const claims: Array<[string, unknown]> = [
    ['9999-12-31T00:00:00Z', '9999-12-31T00:00:00Z'],
    ['epoch ms 1e20', 1e20],
    ['epoch ms 8.64e15 - 1', 8.64e15 - 1],
    ['epoch ms 253402300800000 (year 10000)', 253_402_300_800_000],
    ['29 s ahead', iso(T0 + 29_000)],
  ];

  it.each(claims)(
    'a burst after an event dated %s fires RAPID_FILE_ENUMERATION, as the control agent does',
    (_, claim) => {
      const { engine, feed } = liveEngine(
        bundledRules(['RAPID_FILE_ENUMERATION', 'TELEMETRY_CLOCK_TAMPERING']),
      );
      const alerts = feed([
        ...burst('control', T0),
        { raw: fileRead('attacker-first', 'attacker', claim, '/srv/data/first.csv'), arrival: T0 },
        ...burst('attacker', T0 + 1_000),
      ]);
      const control = alertsOf(alerts, 'RAPID_FILE_ENUMERATION', 'control');
      const attacker = alertsOf(alerts, 'RAPID_FILE_ENUMERATION', 'attacker');
      expect(control).toHaveLength(1);
      expect(attacker).toHaveLength(1);
      // More than 100 reads within the minute, as for the control.
      expect(attacker[0]!.eventCount).toBeGreaterThan(100);
      expect(attacker[0]!.eventCount).toBe(control[0]!.eventCount);
      expect(engine.stats().lateEvents).toBe(0);
      // A time past the skew is itself the finding; one believed (29 s ahead) is not.
      const tampering = alertsOf(alerts, 'TELEMETRY_CLOCK_TAMPERING', 'attacker');
      expect(tampering.map((alert) => alert.eventIds)).toEqual(
        typeof claim === 'string' && claim.startsWith('2026') ? [] : [['attacker-first']],
      );
    },
  );

  it('a far-future match opens no endless suppression window: the next match after the window fires', () => {
    const { feed } = liveEngine(bundledRules(['FORBIDDEN_SYSTEM_PATH_WRITE']));
    const later = T0 + 15 * 60_000;
    const alerts = feed([
      { raw: fileWrite('c1', 'control', iso(T0), '/etc/passwd'), arrival: T0 },
      { raw: fileWrite('a1', 'attacker', '9999-12-31T00:00:00Z', '/etc/passwd'), arrival: T0 },
      { raw: fileWrite('c2', 'control', iso(later), '/etc/passwd'), arrival: later },
      { raw: fileWrite('a2', 'attacker', iso(later), '/etc/passwd'), arrival: later },
    ]);
    // Two alerts each: the suppression window (10 min) of the first closed before the second.
    expect(alerts.map((alert) => [alert.agentId, alert.eventIds])).toEqual([
      ['control', ['c1']],
      ['attacker', ['a1']],
      ['control', ['c2']],
      ['attacker', ['a2']],
    ]);
    // The attacker's first alert is dated when it arrived, not in 9999.
    expect(alerts[1]!.timestamp).toBe(iso(T0));
  });

  it('the engine bounds event time by itself: envelopes that skipped the time policy move no clock far ahead', () => {
    const rules = bundledRules(['RAPID_FILE_ENUMERATION', 'FORBIDDEN_SYSTEM_PATH_WRITE']);
    const engine = createEngine({ rules, clock: () => T0 + 2_000 });
    const envelope = (raw: Record<string, unknown>, receivedAt?: string) => {
      // No receivedAt: parseRecord has nothing to judge the time by and keeps it (a programmatic caller).
      const parsed = parseRecord(raw, receivedAt ? { receivedAt } : {});
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
      return parsed.value;
    };
    const first = envelope(fileRead('x0', 'attacker', '9999-12-31T00:00:00.000Z', '/srv/x'));
    expect(first.timestamp).toBe('9999-12-31T00:00:00.000Z');
    engine.process(first);
    const alerts = Array.from({ length: 120 }, (_, i) =>
      engine.process(envelope(fileRead(`x${i + 1}`, 'attacker', iso(T0 + i * 10), `/srv/f${i}`))),
    ).flat();
    expect(alerts.filter((alert) => alert.ruleId === 'RAPID_FILE_ENUMERATION')).toHaveLength(1);
    // At most maxClockSkewMs (30 s) ahead of the clock.
    expect(engine.stats().eventTime).toBe(iso(T0 + 32_000));
    expect(engine.stats().timeBounded).toBe(1);
  });

  it('decodes an envelope from the topic against the broker time, whatever receivedAt it claims', () => {
    const envelope = {
      schemaVersion: ENVELOPE_SCHEMA_VERSION,
      eventId: 'e1',
      timestamp: '9999-12-31T00:00:00.000Z',
      receivedAt: '9999-12-31T00:00:00.000Z',
      agentId: 'attacker',
      sessionId: 'sess-1',
      eventType: 'file_read',
      target: '/srv/x',
      data: { type: 'file', path: '/srv/x' },
      decision: { outcome: 'allow', severity: 'info' },
      source: { format: 'policy_event' },
      metadata: {},
    };
    const decoded = decodeEvent(Buffer.from(JSON.stringify(envelope)), T0);
    expect(decoded).toMatchObject({
      ok: true,
      event: {
        timestamp: iso(T0),
        receivedAt: iso(T0),
        integrity: { clock: 'future', claimedTimestamp: '9999-12-31T00:00:00.000Z' },
      },
    });
    // An envelope within the skew of the broker time reads back unchanged (control).
    const honest = { ...envelope, timestamp: iso(T0 - 5), receivedAt: iso(T0 - 1) };
    expect(decodeEvent(Buffer.from(JSON.stringify(honest)), T0)).toEqual({ ok: true, event: honest });
  });

  it('keeps an event dated before the floor at its arrival, flagged', () => {
    const parsed = parseRecord(fileRead('old', 'a', '1970-01-01T00:00:00Z', '/x'), { receivedAt: iso(T0) });
    expect(parsed).toMatchObject({
      ok: true,
      value: {
        timestamp: iso(T0),
        integrity: { clock: 'before_floor', claimedTimestamp: '1970-01-01T00:00:00Z' },
      },
    });
    // Negative epoch numbers too; the floor itself is believed.
    expect(parseRecord(fileRead('neg', 'a', -1, '/x'), { receivedAt: iso(T0) })).toMatchObject({
      ok: true,
      value: { integrity: { clock: 'before_floor', claimedTimestamp: '-1' } },
    });
    expect(
      parseRecord(fileRead('floor', 'a', '2000-01-01T00:00:00Z', '/x'), { receivedAt: iso(T0) }),
    ).toMatchObject({ ok: true, value: { timestamp: '2000-01-01T00:00:00.000Z' } });
  });
});

describe('calendar dates', () => {
  it.each([
    ['2026-02-30T10:00:00Z'],
    ['2026-02-29T10:00:00Z'],
    ['2026-04-31T10:00:00.000Z'],
    ['2026-03-02T24:00:00Z'],
    ['2026-03-02T10:61:00Z'],
  ])('refuses %s, naming the field', (text) => {
    const receivedAt = iso(T0);
    expect(parseRecord(fileRead('e', 'a', text, '/x'), { receivedAt })).toEqual({
      ok: false,
      error: [
        {
          field: 'timestamp',
          message: `${JSON.stringify(text)} is not a time: expected an RFC 3339 date-time naming a real calendar date, or epoch seconds or milliseconds`,
        },
      ],
    });
    const ecs = { '@timestamp': text, event: { id: 'e', action: 'file_access' }, file: { path: '/x' } };
    expect(parseRecord(ecs, { receivedAt })).toMatchObject({ ok: false, error: [{ field: '@timestamp' }] });
    const envelope = {
      schemaVersion: 1,
      eventId: 'e',
      timestamp: text,
      receivedAt,
      agentId: 'a',
      sessionId: 's',
      eventType: 'custom',
      target: '',
      data: {},
      decision: { outcome: 'allow', severity: 'info' },
      source: { format: 'policy_event' },
      metadata: {},
    };
    expect(decodeEvent(Buffer.from(JSON.stringify(envelope)), T0)).toMatchObject({
      ok: false,
      errors: [{ field: 'timestamp' }],
    });
  });

  it('reads real dates in every form (control): leap day, offsets, fractions, naive, epoch seconds', () => {
    const receivedAt = '2026-03-02T12:00:00.000Z';
    const times: Array<[unknown, string]> = [
      ['2024-02-29T10:00:00Z', '2024-02-29T10:00:00.000Z'],
      ['2026-03-02T11:00:00+01:00', '2026-03-02T10:00:00.000Z'],
      ['2026-03-02T10:00:00.123456789Z', '2026-03-02T10:00:00.123Z'],
      ['2026-03-02 10:00:00', '2026-03-02T10:00:00.000Z'],
      [1_772_445_600, '2026-03-02T10:00:00.000Z'],
    ];
    for (const [sent, expected] of times) {
      expect(parseRecord(fileRead('e', 'a', sent, '/x'), { receivedAt })).toMatchObject({
        ok: true,
        value: { timestamp: expected },
      });
    }
  });
});
