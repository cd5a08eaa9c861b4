import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeAlert, makeEnvelope, networkEvent } from '../../test/support/sink-items.ts';
import { SinksConfigSchema } from '../config.ts';
import { MemoryDeadLetterWriter } from '../driver/dead-letter.ts';
import { createSinkRouter } from '../factory.ts';
import { SqliteSinkConfigSchema } from './config.ts';
import { MAX_SEARCH_CHARS } from './request-builder.ts';
import { openConsoleDatabase } from './schema.ts';
import { SqliteSink } from './sink.ts';

describe('SQLite sink', () => {
  let directory: string;
  let path: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'edr-sqlite-sink-'));
    path = join(directory, 'console.db');
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  const ids = (sql: string, ...values: string[]) => {
    const db = openConsoleDatabase(path);
    try {
      return db
        .prepare<{ id: string }>(sql)
        .all(...values)
        .map((row) => row.id);
    } finally {
      db.close();
    }
  };

  it('stores events and alerts through the router; a redelivery is a known duplicate, stored once', async () => {
    const config = SinksConfigSchema.parse({ sinks: [{ type: 'sqlite', path }] });
    const deadLetters = new MemoryDeadLetterWriter();
    const router = createSinkRouter(config, { deadLetters });
    await router.start();
    const read = makeEnvelope();
    const egress = networkEvent();
    const alert = makeAlert({ eventIds: [read.eventId, egress.eventId] });
    const first = await router.deliver({ events: [read, egress], alerts: [alert] });
    const again = await router.deliver({ events: [egress, read], alerts: [alert] });
    await router.close();

    expect(first.routes.sqlite).toEqual({ written: 3, duplicates: 0, deadLettered: 0 });
    expect(again.routes.sqlite).toEqual({ written: 0, duplicates: 3, deadLettered: 0 });
    expect(deadLetters.letters).toEqual([]);
    expect(ids('SELECT event_id AS id FROM events ORDER BY event_id')).toEqual(
      [read.eventId, egress.eventId].sort(),
    );
    expect(ids('SELECT alert_id AS id FROM alerts')).toEqual([alert.alertId]);
    expect(ids('SELECT alert_id AS id FROM alert_events WHERE event_id = ?', egress.eventId)).toEqual([
      alert.alertId,
    ]);
    // Derived rows moved once: the session counts its two events, not four.
    const db = openConsoleDatabase(path);
    expect(db.prepare('SELECT event_count, allow_count, deny_count FROM sessions').all()).toEqual([
      { event_count: 2, allow_count: 1, deny_count: 1 },
    ]);
    expect(db.prepare('SELECT count(*) AS n FROM alert_text').get()).toEqual({ n: 1 });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('keeps the same eventId from two agents as two events (identity is agent and event id)', async () => {
    const sink = new SqliteSink(SqliteSinkConfigSchema.parse({ type: 'sqlite', path }));
    const one = makeEnvelope({ agentId: 'agent-a' });
    const other = makeEnvelope({ eventId: one.eventId, agentId: 'agent-b' });
    expect(
      await sink.write([
        { kind: 'event', event: one },
        { kind: 'event', event: other },
      ]),
    ).toEqual([{ status: 'written' }, { status: 'written' }]);
    await sink.close();
    expect(
      ids('SELECT agent_id AS id FROM events WHERE event_id = ? ORDER BY agent_id', one.eventId),
    ).toEqual(['agent-a', 'agent-b']);
  });

  it('bounds the search text of a hostile summary', async () => {
    const sink = new SqliteSink(SqliteSinkConfigSchema.parse({ type: 'sqlite', path }));
    const alert = makeAlert({ summary: 'x'.repeat(65_536) });
    expect(await sink.write([{ kind: 'alert', alert }])).toEqual([{ status: 'written' }]);
    await sink.close();
    const db = openConsoleDatabase(path);
    expect(db.prepare('SELECT length(search) AS n FROM alert_text').get()).toEqual({ n: MAX_SEARCH_CHARS });
    db.close();
  });

  it('reports a database it cannot open as unusable, dead-lettering nothing', async () => {
    // A folder where the database file should be (as root, permissions would not stop the open).
    await mkdir(join(directory, 'c.db'));
    const sink = new SqliteSink(
      SqliteSinkConfigSchema.parse({ type: 'sqlite', path: join(directory, 'c.db') }),
    );
    const probe = await sink.probe();
    const outcomes = await sink.write([{ kind: 'event', event: makeEnvelope() }]);
    await sink.close();
    expect(probe.state).toBe('unusable');
    expect(outcomes).toEqual([{ status: 'blocked', reason: expect.stringContaining('c.db') }]);
  });
});
