import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import { type Clock, systemClock } from '../../core/clock.ts';
import type { Report } from '../../core/reports.ts';
import { outcomesOf } from '../driver/verdict.ts';
import {
  DUPLICATE,
  type ItemOutcome,
  type ProbeResult,
  SILENT_LOGGER,
  type Sink,
  type SinkItem,
  type SinkLogger,
  WRITTEN,
} from '../types.ts';
import type { SqliteSinkConfig } from './config.ts';
import { type AlertRow, alertRow, type EventRow, eventRow, reportRow } from './request-builder.ts';
import { emptyPurge, type PurgedRows, Retention } from './retention.ts';
import { classifySqliteError, isItemFailure } from './retry.ts';
import { openConsoleDatabase } from './schema.ts';

interface Statements {
  insertEvent: Statement;
  touchSession: Statement;
  insertAlert: Statement;
  insertAlertText: Statement;
  linkEvent: Statement;
  ruleCounts: Statement;
  actionDelivery: Statement;
}

function prepare(db: Database): Statements {
  return {
    insertEvent: db.prepare(
      `INSERT INTO events (identity, event_id, agent_id, session_id, ts, event_type, outcome, body)
       VALUES (@identity, @event_id, @agent_id, @session_id, @ts, @event_type, @outcome, @body)
       ON CONFLICT (identity) DO NOTHING`,
    ),
    touchSession: db.prepare(
      `INSERT INTO sessions (agent_id, session_id, first_ts, last_ts, event_count, allow_count, warn_count, deny_count)
       VALUES (@agent_id, @session_id, @ts, @ts, 1, @outcome = 'allow', @outcome = 'warn', @outcome = 'deny')
       ON CONFLICT (agent_id, session_id) DO UPDATE SET
         first_ts = min(first_ts, excluded.first_ts), last_ts = max(last_ts, excluded.last_ts),
         event_count = event_count + 1, allow_count = allow_count + excluded.allow_count,
         warn_count = warn_count + excluded.warn_count, deny_count = deny_count + excluded.deny_count`,
    ),
    insertAlert: db.prepare(
      `INSERT INTO alerts (alert_id, rule_id, rule_name, severity_rank, risk_score, agent_id, session_id, ts, body)
       VALUES (@alert_id, @rule_id, @rule_name, @severity_rank, @risk_score, @agent_id, @session_id, @ts, @body)
       ON CONFLICT (alert_id) DO NOTHING`,
    ),
    insertAlertText: db.prepare('INSERT INTO alert_text (rowid, search) VALUES (?, ?)'),
    linkEvent: db.prepare('INSERT OR IGNORE INTO alert_events (event_id, alert_id) VALUES (?, ?)'),
    ruleCounts: db.prepare(
      `INSERT INTO rule_counts (id, rule_id, partition, ts, alerts, suppressed)
       VALUES (@id, @rule_id, @partition, @ts, @alerts, @suppressed) ON CONFLICT (id) DO NOTHING`,
    ),
    actionDelivery: db.prepare(
      `INSERT INTO action_deliveries (alert_id, action, sink, status, attempts, http_status, detail, at)
       VALUES (@alert_id, @action, @sink, @status, @attempts, @http_status, @detail, @at)
       ON CONFLICT (alert_id, action, sink) DO UPDATE SET status = excluded.status,
         attempts = excluded.attempts, http_status = excluded.http_status, detail = excluded.detail,
         at = excluded.at WHERE excluded.at >= at`,
    ),
  };
}

export interface SqliteSinkDeps {
  /** Where each purge that deleted rows, and each that failed, is logged. */
  log?: SinkLogger;
  clock?: Clock;
}

/**
 * Wiring only: batch → one transaction, each item in a savepoint of its own → per-item outcome. A row that is
 * already there (same event identity or alertId) is a `duplicate`: redelivery stores nothing twice, and
 * what the sink derives on insert (session counts, search text, event links) is derived once.
 * better-sqlite3 is synchronous: a batch holds the event loop for its transaction (about 1 ms per 100 events
 * on the bench machine, BENCHMARKS.md). Retention (retention.ts) runs at start and every
 * `retention.intervalMs` on the same connection.
 */
export class SqliteSink implements Sink {
  readonly name: string;
  readonly guarantee = 'exactly-once-storage';
  private db: Database | undefined;
  private statements: Statements | undefined;
  private retention: Retention | undefined;
  private purging: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly purged = emptyPurge();
  private readonly log: SinkLogger;
  private readonly clock: Clock;

  constructor(
    private readonly config: SqliteSinkConfig,
    deps: SqliteSinkDeps = {},
  ) {
    this.name = config.name ?? config.type;
    this.log = deps.log ?? SILENT_LOGGER;
    this.clock = deps.clock ?? systemClock;
  }

  async start(): Promise<void> {
    try {
      this.open();
    } catch {
      // The probe and the first write report why.
    }
    const tick = () => {
      this.purging ??= this.purge()
        .then(() => undefined)
        .catch((error: unknown) =>
          this.log.warn(
            { sink: this.name, err: error },
            'sqlite retention purge failed; next try next interval',
          ),
        )
        .finally(() => {
          this.purging = undefined;
        });
    };
    tick();
    this.timer = setInterval(tick, this.config.retention.intervalMs);
    this.timer.unref();
  }

  /** Deletes what is past retention now (chunk by chunk); what it deleted, per table. */
  async purge(): Promise<PurgedRows> {
    this.open();
    const started = this.clock();
    const purged = await this.retention!.purge(started);
    for (const table of Object.keys(purged) as Array<keyof PurgedRows>) this.purged[table] += purged[table];
    if (Object.values(purged).some((rows) => rows > 0)) {
      this.log.info(
        { sink: this.name, purged, ms: this.clock() - started },
        'sqlite retention purged rows past retention',
      );
    }
    return purged;
  }

  /** Rows deleted by retention since start, per table (`edr_sink_purged_rows_total`). */
  stats(): Record<string, unknown> {
    return { purgedRows: { ...this.purged } };
  }

  async write(items: readonly SinkItem[]): Promise<ItemOutcome[]> {
    let statements: Statements;
    try {
      statements = this.open();
    } catch (error) {
      return outcomesOf(classifySqliteError(error, this.config.path), items.length);
    }
    const db = this.db!;
    const insertOne = db.transaction((item: SinkItem) =>
      item.kind === 'event'
        ? insertEvent(statements, eventRow(item.event))
        : insertAlert(statements, alertRow(item.alert), item.alert.eventIds),
    );
    const insertAll = db.transaction(() =>
      items.map((item): ItemOutcome => {
        try {
          return insertOne(item) ? WRITTEN : DUPLICATE;
        } catch (error) {
          if (!isItemFailure(error)) throw error;
          return { status: 'permanent', reason: String(error), code: 'sqlite_item' };
        }
      }),
    );
    try {
      return insertAll();
    } catch (error) {
      return outcomesOf(classifySqliteError(error, this.config.path), items.length);
    }
  }

  /** Processor reports, in one transaction: all stored or (thrown) none. */
  async writeReports(reports: readonly Report[]): Promise<void> {
    const statements = this.open();
    this.db!.transaction(() => {
      for (const report of reports) {
        const row = reportRow(report);
        (row.kind === 'rule_counts' ? statements.ruleCounts : statements.actionDelivery).run(row.values);
      }
    })();
  }

  /** Opens the database (creating it) and runs a read, writing nothing. */
  async probe(): Promise<ProbeResult> {
    try {
      this.open();
      this.db!.prepare('SELECT count(*) FROM sqlite_master').get();
      return { state: 'ok' };
    } catch (error) {
      const verdict = classifySqliteError(error, this.config.path);
      this.shut();
      return {
        state: verdict.action === 'unusable' ? 'unusable' : 'down',
        reason: 'reason' in verdict ? verdict.reason : String(error),
      };
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.retention?.stop();
    await this.purging;
    this.shut();
  }

  private shut(): void {
    this.retention?.stop();
    this.db?.close();
    this.db = undefined;
    this.statements = undefined;
    this.retention = undefined;
  }

  private open(): Statements {
    if (this.statements) return this.statements;
    const db = openConsoleDatabase(this.config.path, {
      synchronous: this.config.synchronous,
      busyTimeoutMs: this.config.busyTimeoutMs,
    });
    try {
      this.statements = prepare(db);
      this.retention = new Retention(db, this.config.retention);
    } catch (error) {
      db.close();
      throw error;
    }
    this.db = db;
    return this.statements;
  }
}

/** True when the event is new (then its session's counts move). */
function insertEvent(statements: Statements, row: EventRow): boolean {
  if (statements.insertEvent.run(row).changes === 0) return false;
  statements.touchSession.run(row);
  return true;
}

/** True when the alert is new (then its search text and event links are added). */
function insertAlert(statements: Statements, row: AlertRow, eventIds: readonly string[]): boolean {
  const { search, ...columns } = row;
  const inserted = statements.insertAlert.run(columns);
  if (inserted.changes === 0) return false;
  statements.insertAlertText.run(inserted.lastInsertRowid, search);
  for (const eventId of eventIds) statements.linkEvent.run(eventId, row.alert_id);
  return true;
}
