import { setImmediate as nextTurn } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import type { SqliteSinkConfig } from './config.ts';

export type RetentionConfig = SqliteSinkConfig['retention'];

/** Rows one purge deleted, per table (what `edr_sink_purged_rows_total{table}` counts). */
export interface PurgedRows {
  alerts: number;
  events: number;
  sessions: number;
  rule_counts: number;
}

export const emptyPurge = (): PurgedRows => ({ alerts: 0, events: 0, sessions: 0, rule_counts: 0 });

const DAY_MS = 86_400_000;

/**
 * Age-based retention of the console database, in transactions of at most `chunkRows` rows looked at, the
 * event loop free between them (better-sqlite3 is synchronous: a chunk holds it, docs/sinks.md gives figures).
 * Alerts go first, each with everything kept beside it (search text, event links, workflow history, response
 * actions, webhook outcomes), so their events are no longer held; then events no stored alert lists (an
 * alert's detail keeps its events for as long as the alert is kept), sessions whose last event is past the
 * event cutoff and none of whose events is left (one an alert still holds keeps its counts as stored), and
 * rule counts past the alert cutoff.
 */
export class Retention {
  private readonly alertsPage: Statement;
  private readonly alertDeletes: Statement[];
  private readonly eventsPage: Statement;
  private readonly deleteUnlinkedEvent: Statement;
  private readonly deleteSessions: Statement;
  private readonly deleteRuleCounts: Statement;
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly config: RetentionConfig,
  ) {
    this.alertsPage = db.prepare('SELECT seq, alert_id FROM alerts WHERE ts < ? ORDER BY ts LIMIT ?');
    this.alertDeletes = [
      'DELETE FROM alert_text WHERE rowid = @seq',
      'DELETE FROM alert_events WHERE alert_id = @alert_id',
      'DELETE FROM workflow_history WHERE alert_id = @alert_id',
      'DELETE FROM response_actions WHERE alert_id = @alert_id',
      'DELETE FROM action_deliveries WHERE alert_id = @alert_id',
      'DELETE FROM alerts WHERE seq = @seq',
    ].map((sql) => db.prepare(sql));
    this.eventsPage = db.prepare(
      'SELECT seq, ts, event_id FROM events WHERE ts < ? AND (ts, seq) > (?, ?) ORDER BY ts, seq LIMIT ?',
    );
    this.deleteUnlinkedEvent = db.prepare(
      'DELETE FROM events WHERE seq = ? AND NOT EXISTS (SELECT 1 FROM alert_events WHERE event_id = ?)',
    );
    this.deleteSessions = db.prepare(
      `DELETE FROM sessions WHERE (agent_id, session_id) IN
         (SELECT agent_id, session_id FROM sessions AS s WHERE last_ts < ? AND NOT EXISTS
           (SELECT 1 FROM events AS e WHERE e.agent_id = s.agent_id AND e.session_id = s.session_id) LIMIT ?)`,
    );
    this.deleteRuleCounts = db.prepare(
      'DELETE FROM rule_counts WHERE id IN (SELECT id FROM rule_counts WHERE ts < ? LIMIT ?)',
    );
  }

  /** Ends a purge under way after its current chunk (the database is about to close). */
  stop(): void {
    this.stopped = true;
  }

  /** Deletes what is past retention at `now`, chunk by chunk, until none is left or `stop()`. */
  async purge(now: number): Promise<PurgedRows> {
    const purged = emptyPurge();
    const { alertsDays, eventsDays, chunkRows } = this.config;
    const chunks = async (chunk: () => { looked: number; deleted: number }, table: keyof PurgedRows) => {
      for (let looked = chunkRows; looked === chunkRows && !this.stopped; ) {
        const result = this.db.transaction(chunk)();
        purged[table] += result.deleted;
        looked = result.looked;
        await nextTurn();
      }
    };
    if (alertsDays > 0) {
      const cutoff = now - alertsDays * DAY_MS;
      await chunks(() => this.alertsChunk(cutoff), 'alerts');
      await chunks(() => deletedAll(this.deleteRuleCounts.run(cutoff, chunkRows).changes), 'rule_counts');
    }
    if (eventsDays > 0) {
      const cutoff = now - eventsDays * DAY_MS;
      // Events an alert holds stay where they are: the walk goes on past them (ts, seq), not over them again.
      let after: { ts: number; seq: number } = { ts: Number.MIN_SAFE_INTEGER, seq: 0 };
      await chunks(() => {
        const page = this.eventsPage.all(cutoff, after.ts, after.seq, chunkRows) as Array<{
          seq: number;
          ts: number;
          event_id: string;
        }>;
        let removed = 0;
        for (const row of page) removed += this.deleteUnlinkedEvent.run(row.seq, row.event_id).changes;
        const last = page.at(-1);
        if (last) after = last;
        return { looked: page.length, deleted: removed };
      }, 'events');
      await chunks(() => deletedAll(this.deleteSessions.run(cutoff, chunkRows).changes), 'sessions');
    }
    return purged;
  }

  private alertsChunk(cutoff: number): { looked: number; deleted: number } {
    const page = this.alertsPage.all(cutoff, this.config.chunkRows) as Array<{
      seq: number;
      alert_id: string;
    }>;
    for (const row of page) {
      for (const statement of this.alertDeletes) statement.run(row);
    }
    return { looked: page.length, deleted: page.length };
  }
}

/** A chunk that deletes what it looks at: fewer than the chunk means none is left. */
const deletedAll = (changes: number) => ({ looked: changes, deleted: changes });
