import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../engine/alert.ts';
import type { Envelope } from '../../engine/model/index.ts';
import { metricValue } from '../../test/support/pipeline.ts';
import { makeAlert, makeEnvelope } from '../../test/support/sink-items.ts';
import { SinksConfigSchema } from '../config.ts';
import { MemoryDeadLetterWriter } from '../driver/dead-letter.ts';
import { createSinkRouter } from '../factory.ts';
import { registerSinkMetrics } from '../metrics.ts';
import { SqliteSinkConfigSchema } from './config.ts';
import { openConsoleDatabase } from './schema.ts';
import { SqliteSink } from './sink.ts';

const NOW = Date.parse('2026-06-01T00:00:00.000Z');
const DAY_MS = 86_400_000;
const daysAgo = (days: number, now = NOW) => new Date(now - days * DAY_MS).toISOString();

describe('SQLite sink retention (events 30 days, alerts 90 by default, aged from when they were stored)', () => {
  let directory: string;
  let path: string;
  /** The sinks' clock: a purge marks what is stored by then, and ages rows from those marks. */
  let now = NOW;
  beforeEach(async () => {
    now = NOW;
    directory = await mkdtemp(join(tmpdir(), 'edr-sqlite-retention-'));
    path = join(directory, 'console.db');
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  const sinkWith = (retention: Record<string, number> = {}) =>
    new SqliteSink(SqliteSinkConfigSchema.parse({ type: 'sqlite', path, retention }), { clock: () => now });

  /** Stores the items at `days` before NOW, each dated an hour earlier, and purges then (as the timer would). */
  const storedAt = async (sink: SqliteSink, days: number, events: Envelope[], alerts: Alert[] = []) => {
    now = NOW - days * DAY_MS;
    await store(sink, events, alerts);
    return sink.purge();
  };
  const dated = (days: number) => daysAgo(days + 1 / 24);

  const store = async (sink: SqliteSink, events: Envelope[], alerts: Alert[] = []) => {
    for (let start = 0; start < events.length; start += 500) {
      await sink.write(events.slice(start, start + 500).map((event) => ({ kind: 'event' as const, event })));
    }
    await sink.write(alerts.map((alert) => ({ kind: 'alert' as const, alert })));
  };

  const column = (sql: string): unknown[] => {
    const db = openConsoleDatabase(path);
    try {
      return db
        .prepare<Record<string, unknown>>(sql)
        .all()
        .map((row) => Object.values(row)[0]);
    } finally {
      db.close();
    }
  };

  it('deletes old alerts with what is kept beside them and old events no kept alert lists', async () => {
    const session = (id: string, days: number) => makeEnvelope({ sessionId: id, timestamp: dated(days) });
    const ancient = session('sess-ancient', 100);
    const stale = session('sess-stale', 40);
    const held = session('sess-held', 40);
    const recent = session('sess-recent', 0);
    const oldAlert = makeAlert({ timestamp: dated(100), eventIds: [ancient.eventId] });
    const keptAlert = makeAlert({ timestamp: dated(10), eventIds: [held.eventId, recent.eventId] });
    const sink = sinkWith();
    const none = { alerts: 0, events: 0, sessions: 0, rule_counts: 0 };
    expect(await storedAt(sink, 100, [ancient], [oldAlert])).toEqual(none);
    await sink.writeReports(
      [oldAlert, keptAlert].flatMap((alert, index) => [
        {
          kind: 'rule_counts' as const,
          id: `report-${index}`,
          ruleId: alert.ruleId,
          partition: '0',
          at: alert.timestamp,
          alerts: 1,
          suppressed: 0,
        },
        {
          kind: 'action_delivery' as const,
          alertId: alert.alertId,
          action: 'terminate_session' as const,
          sink: 'hooks',
          status: 'delivered' as const,
          attempts: 1,
          httpStatus: 204,
          detail: null,
          at: alert.timestamp,
        },
      ]),
    );
    // What the console store writes beside an alert: its workflow history and manual actions.
    const db = openConsoleDatabase(path);
    for (const alert of [oldAlert, keptAlert]) {
      db.prepare(
        `INSERT INTO workflow_history (alert_id, at, user, change, from_status, to_status)
         VALUES (?, 0, 'ana', '{}', 'open', 'closed')`,
      ).run(alert.alertId);
      db.prepare(
        `INSERT INTO response_actions (idempotency_key, alert_id, action, user, status, requested_at, updated_at)
         VALUES (?, ?, 'terminate_session', 'ana', 'delivered', 0, 0)`,
      ).run(`key-${alert.alertId}`, alert.alertId);
    }
    db.close();
    // 60 days on, the ancient event is past 30 days but its alert (not past 90) holds it.
    expect(await storedAt(sink, 40, [stale, held])).toEqual(none);
    // 90 days on, the old alert goes with all beside it (its rule counts are as old), then its event; the
    // stale one goes, the held one stays.
    expect(await storedAt(sink, 10, [], [keptAlert])).toEqual({
      alerts: 1,
      events: 2,
      sessions: 2,
      rule_counts: 1,
    });
    expect(await storedAt(sink, 0, [recent])).toEqual(none);
    expect(await sink.purge()).toEqual(none);
    expect(sink.stats()).toEqual({ purgedRows: { alerts: 1, events: 2, sessions: 2, rule_counts: 1 } });
    await sink.close();

    expect(column('SELECT alert_id FROM alerts')).toEqual([keptAlert.alertId]);
    // The kept alert's 40-day-old event stays with it; the unlisted one and the old alert's are gone.
    expect(column('SELECT event_id FROM events ORDER BY ts')).toEqual([held.eventId, recent.eventId]);
    expect(column('SELECT session_id FROM sessions ORDER BY session_id')).toEqual([
      'sess-held',
      'sess-recent',
    ]);
    for (const table of ['alert_events', 'workflow_history', 'response_actions', 'action_deliveries']) {
      expect(column(`SELECT DISTINCT alert_id FROM ${table}`)).toEqual([keptAlert.alertId]);
    }
    expect(column('SELECT id FROM rule_counts')).toEqual(['report-1']);
    // The search index holds the kept alert alone, under its row.
    expect(column('SELECT rowid FROM alert_text')).toEqual(column('SELECT seq FROM alerts'));
  });

  it('ages a backdated event or alert from when it was stored, not from the date its sender gave it', async () => {
    const sink = sinkWith();
    const backdated = makeEnvelope({ timestamp: dated(365) });
    const alert = makeAlert({ timestamp: dated(365), eventIds: [] });
    const none = { alerts: 0, events: 0, sessions: 0, rule_counts: 0 };
    expect(await storedAt(sink, 0, [backdated], [alert])).toEqual(none);
    now = NOW + 29 * DAY_MS;
    expect(await sink.purge()).toEqual(none);
    now = NOW + 31 * DAY_MS;
    expect(await sink.purge()).toEqual({ ...none, events: 1, sessions: 1 });
    now = NOW + 91 * DAY_MS;
    expect(await sink.purge()).toEqual({ ...none, alerts: 1 });
    // Emptied tables number new rows from 1 again: marks were lowered, so a new row is not taken as old.
    const fresh = makeEnvelope({ timestamp: new Date(now).toISOString() });
    await store(sink, [fresh], [makeAlert({ eventIds: [] })]);
    expect(await sink.purge()).toEqual(none);
    await sink.close();
    expect(column('SELECT event_id FROM events')).toEqual([fresh.eventId]);
  });

  it('purges a large table in chunks, the event loop turning between them', async () => {
    const sink = sinkWith({ chunkRows: 1_000 });
    const old = Array.from({ length: 20_000 }, (_, index) =>
      makeEnvelope({ sessionId: `sess-old-${index % 50}`, timestamp: dated(31 + (index % 7)) }),
    );
    await storedAt(sink, 31, old);
    now = NOW;
    const fresh = Array.from({ length: 500 }, () => makeEnvelope({ timestamp: dated(2) }));
    await store(sink, fresh);

    let turns = 0;
    let turning = true;
    const turn = () => {
      turns++;
      if (turning) setImmediate(turn);
    };
    setImmediate(turn);
    const purged = await sink.purge();
    turning = false;
    await sink.close();

    expect(purged).toEqual({ alerts: 0, events: 20_000, sessions: 50, rule_counts: 0 });
    // 20 chunks of events and 1 of sessions: the event loop turned between each.
    expect(turns).toBeGreaterThanOrEqual(20);
    expect(column('SELECT count(*) FROM events')).toEqual([500]);
  });

  it('keeps everything with retention 0', async () => {
    const sink = sinkWith({ eventsDays: 0, alertsDays: 0 });
    const event = makeEnvelope({ timestamp: daysAgo(3_000) });
    await store(sink, [event], [makeAlert({ timestamp: daysAgo(3_000), eventIds: [] })]);
    expect(await sink.purge()).toEqual({ alerts: 0, events: 0, sessions: 0, rule_counts: 0 });
    // Age counts from storage: only a purge long after the rows were stored could take them.
    now = NOW + 3_000 * DAY_MS;
    expect(await sink.purge()).toEqual({ alerts: 0, events: 0, sessions: 0, rule_counts: 0 });
    await sink.close();
    expect(column('SELECT count(*) FROM events')).toEqual([1]);
    expect(column('SELECT count(*) FROM alerts')).toEqual([1]);
    expect(column('SELECT count(*) FROM retention_marks')).toEqual([0]);
  });

  it('purges at start through the router, logs it and counts it in edr_sink_purged_rows_total', async () => {
    const seed = sinkWith();
    const event = (days: number) => makeEnvelope({ timestamp: daysAgo(days, Date.now()) });
    now = Date.now() - 40 * DAY_MS;
    await store(seed, [event(40)]);
    await seed.purge();
    await store(seed, [event(1)]);
    await seed.close();
    const purges: unknown[] = [];
    const log = {
      info: (fields: Record<string, unknown>, message: string) => {
        if (message.startsWith('sqlite retention')) purges.push(fields.purged);
      },
      warn() {},
      error() {},
    };
    const router = createSinkRouter(SinksConfigSchema.parse({ sinks: [{ type: 'sqlite', path }] }), {
      deadLetters: new MemoryDeadLetterWriter(),
      log,
    });
    const registry = new Registry();
    registerSinkMetrics(registry, router);
    await router.start();
    for (const deadline = Date.now() + 10_000; purges.length === 0 && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const metrics = await registry.metrics();
    await router.close();
    expect(purges).toEqual([{ alerts: 0, events: 1, sessions: 0, rule_counts: 0 }]);
    expect(metricValue(metrics, 'edr_sink_purged_rows_total', { sink: 'sqlite', table: 'events' })).toBe(1);
    expect(column('SELECT count(*) FROM events')).toEqual([1]);
  });
});
