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

/** The two tables aged by storage time: their rows are numbered in insertion order (`seq`). */
type Aged = 'events' | 'alerts';
const MARK_COLUMN = { events: 'events_seq', alerts: 'alerts_seq' } as const;

/**
 * Age-based retention of the console database, in transactions of at most `chunkRows` rows looked at, the
 * event loop free between them (better-sqlite3 is synchronous: a chunk holds it, docs/sinks.md gives figures).
 *
 * Age is time in this store, not the time an item claims: an agent dates its own events (back to
 * `limits.record.minTimestamp`), and a backdated event must not be purged the minute it arrives. Each purge
 * first records the highest event and alert row (`retention_marks`); a row is past retention once a mark
 * older than the cutoff covers it. Alerts go first, each with everything kept beside it (search text, event
 * links, workflow history, response actions, webhook outcomes), so their events are no longer held; then
 * events no stored alert lists (an alert's detail keeps its events for as long as the alert is kept),
 * sessions with no event left whose last event is past the event cutoff, and rule counts past the alert
 * cutoff (dated by their partition's newest event time, which agents write: a future-dated event keeps its
 * partition's counts longer, never shorter).
 */
export class Retention {
  private readonly mark: Statement;
  private readonly markAt: Record<Aged, Statement<{ seq: number }>>;
  private readonly latestMark: Statement<{ events_seq: number; alerts_seq: number }>;
  private readonly highest: Record<Aged, Statement<{ seq: number }>>;
  private readonly clampMarks: Record<Aged, Statement>;
  private readonly dropMarks: Statement;
  private readonly alertsPage: Statement<{ seq: number; alert_id: string }>;
  private readonly alertDeletes: Statement[];
  private readonly eventsPage: Statement<{ seq: number; event_id: string }>;
  private readonly deleteUnlinkedEvent: Statement;
  private readonly deleteSessions: Statement;
  private readonly deleteRuleCounts: Statement;
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly config: RetentionConfig,
  ) {
    this.mark = db.prepare(
      `INSERT OR REPLACE INTO retention_marks (at, events_seq, alerts_seq) VALUES
         (?, (SELECT coalesce(max(seq), 0) FROM events), (SELECT coalesce(max(seq), 0) FROM alerts))`,
    );
    const perTable = <T>(make: (table: Aged, column: string) => T): Record<Aged, T> => ({
      events: make('events', MARK_COLUMN.events),
      alerts: make('alerts', MARK_COLUMN.alerts),
    });
    this.markAt = perTable((_, column) =>
      db.prepare(`SELECT ${column} AS seq FROM retention_marks WHERE at <= ? ORDER BY at DESC LIMIT 1`),
    );
    this.latestMark = db.prepare(
      'SELECT events_seq, alerts_seq FROM retention_marks ORDER BY at DESC LIMIT 1',
    );
    this.highest = perTable((table) => db.prepare(`SELECT coalesce(max(seq), 0) AS seq FROM ${table}`));
    this.clampMarks = perTable((_, column) =>
      db.prepare(`UPDATE retention_marks SET ${column} = ? WHERE ${column} > ?`),
    );
    this.dropMarks = db.prepare(
      'DELETE FROM retention_marks WHERE at < (SELECT at FROM retention_marks WHERE at <= ? ORDER BY at DESC LIMIT 1)',
    );
    this.alertsPage = db.prepare('SELECT seq, alert_id FROM alerts WHERE seq <= ? ORDER BY seq LIMIT ?');
    this.alertDeletes = [
      'DELETE FROM alert_text WHERE rowid = @seq',
      'DELETE FROM alert_events WHERE alert_id = @alert_id',
      'DELETE FROM workflow_history WHERE alert_id = @alert_id',
      'DELETE FROM response_actions WHERE alert_id = @alert_id',
      'DELETE FROM action_deliveries WHERE alert_id = @alert_id',
      'DELETE FROM alerts WHERE seq = @seq',
    ].map((sql) => db.prepare(sql));
    this.eventsPage = db.prepare(
      'SELECT seq, event_id FROM events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?',
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
    // Nothing ever expires: no mark is needed either (they would pile up, one a purge).
    if (alertsDays === 0 && eventsDays === 0) return purged;
    this.mark.run(now);
    const cutoffs: number[] = [];
    if (alertsDays > 0) {
      const cutoff = now - alertsDays * DAY_MS;
      cutoffs.push(cutoff);
      let through = this.markAt.alerts.get(cutoff)?.seq ?? 0;
      await chunks(() => {
        const page = this.alertsPage.all(through, chunkRows);
        for (const row of page) {
          for (const statement of this.alertDeletes) statement.run(row);
        }
        through = Math.min(through, this.keepMarksBelowNewRows('alerts'));
        return { looked: page.length, deleted: page.length };
      }, 'alerts');
      await chunks(() => deletedAll(this.deleteRuleCounts.run(cutoff, chunkRows).changes), 'rule_counts');
    }
    if (eventsDays > 0) {
      const cutoff = now - eventsDays * DAY_MS;
      cutoffs.push(cutoff);
      let through = this.markAt.events.get(cutoff)?.seq ?? 0;
      // Events an alert holds stay where they are: the walk goes on past them, not over them again.
      let after = 0;
      await chunks(() => {
        const page = this.eventsPage.all(after, through, chunkRows);
        let removed = 0;
        for (const row of page) removed += this.deleteUnlinkedEvent.run(row.seq, row.event_id).changes;
        after = page.at(-1)?.seq ?? after;
        through = Math.min(through, this.keepMarksBelowNewRows('events'));
        return { looked: page.length, deleted: removed };
      }, 'events');
      await chunks(() => deletedAll(this.deleteSessions.run(cutoff, chunkRows).changes), 'sessions');
    }
    // The newest mark at or before the oldest cutoff is the one the next purge can still need.
    if (cutoffs.length > 0 && !this.stopped) this.dropMarks.run(Math.min(...cutoffs));
    return purged;
  }

  /**
   * Row numbers restart above the highest row left: once the highest rows are deleted, a new row can get a
   * number a mark already covers. Marks are lowered to the highest row left in the same transaction, so they
   * cover only rows stored before them; the purge under way stops at it too. Returns the highest row left.
   */
  private keepMarksBelowNewRows(table: Aged): number {
    const highest = this.highest[table].get()?.seq ?? 0;
    const latest = this.latestMark.get();
    if (latest && latest[MARK_COLUMN[table]] > highest) this.clampMarks[table].run(highest, highest);
    return highest;
  }
}

/** A chunk that deletes what it looks at: fewer than the chunk means none is left. */
const deletedAll = (changes: number) => ({ looked: changes, deleted: changes });
