import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/**
 * The console database: what the SQLite sink writes (events, alerts and what is derived from them on insert)
 * and what the console store keeps beside it (workflow columns of `alerts`, history, manual actions). Both open
 * the file through `openConsoleDatabase`, which creates whatever is missing, so either may start first.
 *
 * Times are epoch milliseconds (integers sort and range-scan in the indexes); each row keeps its item as
 * the JSON the pipeline produced (`body`), which is what the console shows.
 */
/**
 * 2: the processor reports (rule_counts, action_deliveries). 3: what retention needs (retention_marks,
 * alert_events_by_alert). An older file gains what it lacks on open.
 */
export const CONSOLE_SCHEMA_VERSION = 3;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  identity TEXT NOT NULL UNIQUE,
  event_id TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  session_id TEXT NOT NULL,
  ts INTEGER NOT NULL,
  event_type TEXT NOT NULL,
  outcome TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_session ON events (agent_id, session_id, ts, event_id);
CREATE INDEX IF NOT EXISTS events_by_event_id ON events (event_id);

CREATE TABLE IF NOT EXISTS sessions (
  agent_id TEXT NOT NULL,
  session_id TEXT NOT NULL,
  first_ts INTEGER NOT NULL,
  last_ts INTEGER NOT NULL,
  event_count INTEGER NOT NULL,
  allow_count INTEGER NOT NULL,
  warn_count INTEGER NOT NULL,
  deny_count INTEGER NOT NULL,
  PRIMARY KEY (agent_id, session_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_by_last ON sessions (agent_id, last_ts);

CREATE TABLE IF NOT EXISTS alerts (
  seq INTEGER PRIMARY KEY,
  alert_id TEXT NOT NULL UNIQUE,
  rule_id TEXT NOT NULL,
  rule_name TEXT NOT NULL,
  severity_rank INTEGER NOT NULL,
  risk_score REAL NOT NULL,
  agent_id TEXT NOT NULL,
  session_id TEXT NOT NULL,
  ts INTEGER NOT NULL,
  body TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'open',
  verdict TEXT,
  assignee TEXT,
  updated_at INTEGER,
  updated_by TEXT
);
CREATE INDEX IF NOT EXISTS alerts_by_time ON alerts (ts, alert_id);
CREATE INDEX IF NOT EXISTS alerts_by_status ON alerts (status, ts, alert_id);
-- The queue's usual filter (open, high and critical): counted and listed from the index alone.
CREATE INDEX IF NOT EXISTS alerts_by_status_severity ON alerts (status, severity_rank, ts, alert_id);
CREATE INDEX IF NOT EXISTS alerts_by_rule ON alerts (rule_id, ts, alert_id);
CREATE INDEX IF NOT EXISTS alerts_by_agent ON alerts (agent_id, ts, alert_id);
CREATE INDEX IF NOT EXISTS alerts_by_session ON alerts (session_id, ts, alert_id);
CREATE INDEX IF NOT EXISTS alerts_by_severity ON alerts (severity_rank, ts, alert_id);
CREATE INDEX IF NOT EXISTS alerts_by_risk ON alerts (risk_score, ts, alert_id);
CREATE INDEX IF NOT EXISTS alerts_by_assignee ON alerts (assignee, ts, alert_id);

-- Which alerts list an event among their contributing events (timeline highlighting).
CREATE TABLE IF NOT EXISTS alert_events (
  event_id TEXT NOT NULL,
  alert_id TEXT NOT NULL,
  PRIMARY KEY (event_id, alert_id)
) WITHOUT ROWID;
-- Retention deletes an alert's links with it.
CREATE INDEX IF NOT EXISTS alert_events_by_alert ON alert_events (alert_id);

-- Free-text search: substrings of at least three characters through the trigram index (rowid = alerts.seq).
CREATE VIRTUAL TABLE IF NOT EXISTS alert_text USING fts5 (search, tokenize = 'trigram');

-- Retention (sinks/sqlite/retention.ts): the highest event and alert row at each purge, so a row's age is
-- its time in this store, not the time its sender claims.
CREATE TABLE IF NOT EXISTS retention_marks (
  at INTEGER PRIMARY KEY,
  events_seq INTEGER NOT NULL,
  alerts_seq INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS workflow_history (
  seq INTEGER PRIMARY KEY,
  alert_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  user TEXT NOT NULL,
  change TEXT NOT NULL,
  from_status TEXT NOT NULL,
  to_status TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS workflow_history_by_alert ON workflow_history (alert_id, seq);

CREATE TABLE IF NOT EXISTS response_actions (
  idempotency_key TEXT PRIMARY KEY,
  alert_id TEXT NOT NULL,
  action TEXT NOT NULL,
  user TEXT NOT NULL,
  status TEXT NOT NULL,
  detail TEXT,
  requested_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS response_actions_by_alert ON response_actions (alert_id, requested_at);

-- Processor reports (core/reports.ts): alerts and suppressed alerts per rule, partition and report.
CREATE TABLE IF NOT EXISTS rule_counts (
  id TEXT PRIMARY KEY,
  rule_id TEXT NOT NULL,
  partition TEXT NOT NULL,
  ts INTEGER NOT NULL,
  alerts INTEGER NOT NULL,
  suppressed INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rule_counts_by_rule ON rule_counts (rule_id, ts);

-- How each automated response webhook ended, per alert, action and webhook route (the latest report wins).
CREATE TABLE IF NOT EXISTS action_deliveries (
  alert_id TEXT NOT NULL,
  action TEXT NOT NULL,
  sink TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  http_status INTEGER,
  detail TEXT,
  at INTEGER NOT NULL,
  PRIMARY KEY (alert_id, action, sink)
) WITHOUT ROWID;
`;

export interface OpenOptions {
  synchronous?: 'normal' | 'full';
  busyTimeoutMs?: number;
}

/** Opens (creating folder, file and tables) the console database in WAL mode. */
export function openConsoleDatabase(path: string, options: OpenOptions = {}): Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { timeout: options.busyTimeoutMs ?? 5_000 });
  try {
    // WAL: the console reads while the sink writes, neither blocking the other.
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    const version = Number(db.pragma('user_version', { simple: true }));
    if (version > CONSOLE_SCHEMA_VERSION) {
      throw new Error(`${path}: console database schema ${version} is newer than this build's`);
    }
    db.exec(SCHEMA);
    db.pragma(`user_version = ${CONSOLE_SCHEMA_VERSION}`);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}
