import type Database from 'better-sqlite3';
import type { BindValue } from 'better-sqlite3';
import { type Clock, systemClock } from '../../core/clock.ts';
import { severityRank } from '../../core/severity.ts';
import type { Alert } from '../../engine/alert.ts';
import type { Envelope } from '../../engine/model/index.ts';
import { openConsoleDatabase } from '../../sinks/index.ts';
import {
  alertCursorKind,
  alertKeyShape,
  applyChange,
  bucketStarts,
  decodeCursor,
  encodeCursor,
  iso,
  type KeyValues,
  orderContributing,
  ruleActionRecords,
  type StoredDelivery,
  TIMELINE_CURSOR,
  TIMELINE_KEY_SHAPE,
  textWords,
} from './query.ts';
import {
  type AgentPage,
  type AgentQuery,
  type AlertDetail,
  type AlertFilter,
  type AlertListener,
  type AlertPage,
  type AlertQuery,
  type AlertRecord,
  type BulkResult,
  type ConsoleStore,
  type CountedAlertPage,
  MAX_BULK_ALERTS,
  type ManualAction,
  type ResponseActionRecord,
  type RuleStats,
  type SeriesQuery,
  type TimelinePage,
  type TimelineQuery,
  type WorkflowChange,
  type WorkflowEntry,
  type WorkflowState,
} from './types.ts';

export interface SqliteStoreOptions {
  /** The database the SQLite sink writes (sinks/sqlite); created if missing. */
  path: string;
  /** How often the live feed looks for new alerts. */
  pollIntervalMs?: number;
  clock?: Clock;
}

interface AlertRow {
  seq: number;
  body: string;
  status: WorkflowState['status'];
  verdict: WorkflowState['verdict'];
  assignee: string | null;
  updated_at: number | null;
  updated_by: string | null;
}

const ALERT_COLUMNS = 'seq, body, status, verdict, assignee, updated_at, updated_by';
/** Bound parameters per statement stay under SQLite's default limit (32,766) with room to spare. */
const MAX_PARAMETERS = 900;
const COUNT_CAP = 100_000;

/** Sort columns per sort key; every sort ends with ts and alert_id so a keyset position is unique. */
const SORT_COLUMNS: Record<AlertQuery['sort'], string[]> = {
  timestamp: ['ts', 'alert_id'],
  severity: ['severity_rank', 'ts', 'alert_id'],
  riskScore: ['risk_score', 'ts', 'alert_id'],
};

/**
 * The console store over the SQLite sink's database. Every value reaches SQL as a bound parameter; column
 * names and sort direction come from the fixed tables above, never from the query.
 */
export class SqliteConsoleStore implements ConsoleStore {
  readonly kind = 'sqlite';
  private db: Database | undefined;
  private readonly clock: Clock;
  private readonly listeners = new Set<AlertListener>();
  private timer: NodeJS.Timeout | undefined;
  private lastSeq = 0;

  constructor(private readonly options: SqliteStoreOptions) {
    this.clock = options.clock ?? systemClock;
  }

  async start(): Promise<void> {
    this.database();
  }

  async listAlerts(query: AlertQuery): Promise<AlertPage> {
    const where = filterSql(query.filter);
    const columns = SORT_COLUMNS[query.sort];
    const direction = query.order === 'desc' ? 'DESC' : 'ASC';
    if (query.cursor) {
      const after = decodeCursor(query.cursor, alertCursorKind(query), alertKeyShape(query));
      where.clauses.push(
        `(${columns.join(', ')}) ${query.order === 'desc' ? '<' : '>'} (${marks(after.length)})`,
      );
      where.values.push(...after);
    }
    const rows = this.database()
      .prepare<AlertRow & { sort_key: number; ts: number; alert_id: string }>(
        `SELECT ${ALERT_COLUMNS}, ${columns[0]} AS sort_key, ts, alert_id FROM alerts ${whereSql(where)}
         ORDER BY ${columns.map((column) => `${column} ${direction}`).join(', ')} LIMIT ?`,
      )
      .all(...where.values, query.limit + 1);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const result: AlertPage = { items: page.map(recordOf) };
    if (rows.length > query.limit && last) {
      const after: KeyValues =
        query.sort === 'timestamp' ? [last.ts, last.alert_id] : [last.sort_key, last.ts, last.alert_id];
      result.nextCursor = encodeCursor(alertCursorKind(query), after);
    }
    return result;
  }

  async countAlerts(filter: AlertFilter): Promise<number> {
    const where = filterSql(filter);
    const row = this.database()
      .prepare<{ n: number }>(`SELECT count(*) AS n FROM (SELECT 1 FROM alerts ${whereSql(where)} LIMIT ?)`)
      .get(...where.values, COUNT_CAP);
    return row?.n ?? 0;
  }

  async listCountedAlerts(query: AlertQuery): Promise<CountedAlertPage> {
    // Two statements on one connection: nothing to share between them.
    return { ...(await this.listAlerts(query)), matching: await this.countAlerts(query.filter) };
  }

  async alertDetail(alertId: string): Promise<AlertDetail | null> {
    const db = this.database();
    const row = db.prepare<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE alert_id = ?`).get(alertId);
    if (!row) return null;
    const { alert, workflow } = recordOf(row);
    const found: Envelope[] = [];
    for (const ids of chunks([...new Set(alert.eventIds)], MAX_PARAMETERS)) {
      const bodies = db
        .prepare<{ body: string }>(`SELECT body FROM events WHERE event_id IN (${marks(ids.length)})`)
        .all(...ids);
      for (const { body } of bodies) found.push(JSON.parse(body) as Envelope);
    }
    const manual = db
      .prepare<ActionRow>(
        'SELECT * FROM response_actions WHERE alert_id = ? ORDER BY requested_at, idempotency_key',
      )
      .all(alertId)
      .map(actionOf);
    const history = db
      .prepare<HistoryRow>('SELECT * FROM workflow_history WHERE alert_id = ? ORDER BY seq')
      .all(alertId)
      .map(historyOf);
    const deliveries = db
      .prepare<DeliveryRow>('SELECT * FROM action_deliveries WHERE alert_id = ?')
      .all(alertId)
      .map(deliveryOf);
    return {
      alert,
      workflow,
      ...orderContributing(alert, found),
      actions: [...ruleActionRecords(alert, deliveries), ...manual],
      history,
    };
  }

  async sessionTimeline(query: TimelineQuery): Promise<TimelinePage> {
    const db = this.database();
    const where: Where = {
      clauses: ['agent_id = ?', 'session_id = ?'],
      values: [query.agentId, query.sessionId],
    };
    if (query.eventTypes) inList(where, 'event_type', query.eventTypes);
    if (query.cursor) {
      where.clauses.push('(ts, event_id) > (?, ?)');
      where.values.push(...decodeCursor(query.cursor, TIMELINE_CURSOR, TIMELINE_KEY_SHAPE));
    }
    const rows = db
      .prepare<{ ts: number; event_id: string; body: string }>(
        `SELECT ts, event_id, body FROM events ${whereSql(where)} ORDER BY ts, event_id LIMIT ?`,
      )
      .all(...where.values, query.limit + 1);
    const page = rows.slice(0, query.limit);
    const alertIds = new Map<string, string[]>();
    for (const ids of chunks([...new Set(page.map((row) => row.event_id))], MAX_PARAMETERS)) {
      const links = db
        .prepare<{ event_id: string; alert_id: string }>(
          `SELECT event_id, alert_id FROM alert_events WHERE event_id IN (${marks(ids.length)}) ORDER BY alert_id`,
        )
        .all(...ids);
      for (const link of links)
        alertIds.set(link.event_id, [...(alertIds.get(link.event_id) ?? []), link.alert_id]);
    }
    const result: TimelinePage = {
      items: page.map((row) => ({
        event: JSON.parse(row.body) as Envelope,
        alertIds: alertIds.get(row.event_id) ?? [],
      })),
    };
    const last = page.at(-1);
    if (rows.length > query.limit && last)
      result.nextCursor = encodeCursor(TIMELINE_CURSOR, [last.ts, last.event_id]);
    return result;
  }

  async agentOverview(query: AgentQuery): Promise<AgentPage> {
    const db = this.database();
    const sessions = db
      .prepare<SessionRow>(
        `SELECT * FROM sessions WHERE agent_id = ? ORDER BY last_ts DESC, session_id LIMIT ?`,
      )
      .all(query.agentId, query.limit)
      .map((row) => ({
        sessionId: row.session_id,
        firstEventAt: iso(row.first_ts),
        lastEventAt: iso(row.last_ts),
        eventCount: row.event_count,
        outcomes: { allow: row.allow_count, warn: row.warn_count, deny: row.deny_count },
      }));
    const { from, bucketMs } = query.series;
    const buckets = new Map(
      db
        .prepare<{ bucket: number; risk: number; n: number }>(
          `SELECT (ts - CAST(? AS INTEGER)) / CAST(? AS INTEGER) AS bucket, max(risk_score) AS risk, count(*) AS n FROM alerts
           WHERE agent_id = ? AND ts >= ? AND ts < ? GROUP BY bucket`,
        )
        .all(Date.parse(from), bucketMs, query.agentId, Date.parse(from), Date.parse(query.series.to))
        .map((row) => [row.bucket, row]),
    );
    const risk = bucketStarts(query.series).map((at, index) => ({
      at: iso(at),
      maxRiskScore: buckets.get(index)?.risk ?? 0,
      alertCount: buckets.get(index)?.n ?? 0,
    }));
    const { items: alerts } = await this.listAlerts({
      filter: { agentId: [query.agentId] },
      sort: 'timestamp',
      order: 'desc',
      limit: query.limit,
    });
    const asset = alerts[0]?.alert.enrichment.asset;
    return {
      agentId: query.agentId,
      sessions,
      risk,
      alerts,
      inventory: isRecord(asset) ? asset : null,
    };
  }

  async ruleStats(query: SeriesQuery): Promise<RuleStats[]> {
    const db = this.database();
    const from = Date.parse(query.from);
    // Both scan the covering (rule_id, ts) index instead of the table; the name is the latest alert's.
    const rules = db
      .prepare<{ rule_id: string; last: number }>(
        'SELECT rule_id, max(ts) AS last FROM alerts INDEXED BY alerts_by_rule GROUP BY rule_id ORDER BY last DESC, rule_id LIMIT 1000',
      )
      .all();
    const nameOf = db.prepare<{ rule_name: string }>(
      'SELECT rule_name FROM alerts WHERE rule_id = ? ORDER BY ts DESC LIMIT 1',
    );
    const counts = new Map<string, Map<number, number>>();
    const rows = db
      .prepare<{ rule_id: string; bucket: number; n: number }>(
        `SELECT rule_id, (ts - CAST(? AS INTEGER)) / CAST(? AS INTEGER) AS bucket, count(*) AS n
         FROM alerts INDEXED BY alerts_by_rule WHERE ts >= ? AND ts < ? GROUP BY rule_id, bucket`,
      )
      .all(from, query.bucketMs, from, Date.parse(query.to));
    for (const row of rows) {
      const byBucket = counts.get(row.rule_id) ?? new Map<number, number>();
      byBucket.set(row.bucket, row.n);
      counts.set(row.rule_id, byBucket);
    }
    const suppressed = new Map(
      db
        .prepare<{ rule_id: string; n: number }>(
          'SELECT rule_id, sum(suppressed) AS n FROM rule_counts WHERE ts >= ? AND ts < ? GROUP BY rule_id',
        )
        .all(from, Date.parse(query.to))
        .map((row) => [row.rule_id, row.n]),
    );
    const starts = bucketStarts(query);
    return rules.map((rule) => {
      const hits = starts.map((at, index) => ({
        at: iso(at),
        count: counts.get(rule.rule_id)?.get(index) ?? 0,
      }));
      return {
        ruleId: rule.rule_id,
        ruleName: nameOf.get(rule.rule_id)?.rule_name ?? '',
        total: hits.reduce((sum, hit) => sum + hit.count, 0),
        hits,
        lastFired: iso(rule.last),
        suppressed: suppressed.get(rule.rule_id) ?? 0,
      };
    });
  }

  async updateWorkflow(alertId: string, change: WorkflowChange, user: string): Promise<WorkflowState | null> {
    const db = this.database();
    const at = iso(this.clock());
    return db.transaction(() => this.applyWorkflow(alertId, change, user, at))();
  }

  async bulkUpdateWorkflow(filter: AlertFilter, change: WorkflowChange, user: string): Promise<BulkResult> {
    const db = this.database();
    const where = filterSql(filter);
    const at = iso(this.clock());
    return db.transaction(() => {
      const ids = db
        .prepare<{ alert_id: string }>(
          `SELECT alert_id FROM alerts ${whereSql(where)} ORDER BY ts DESC LIMIT ?`,
        )
        .all(...where.values, MAX_BULK_ALERTS + 1)
        .map((row) => row.alert_id);
      const chosen = ids.slice(0, MAX_BULK_ALERTS);
      for (const id of chosen) this.applyWorkflow(id, change, user, at);
      return { updated: chosen.length, truncated: ids.length > MAX_BULK_ALERTS };
    })();
  }

  async recordResponseAction(action: ManualAction): Promise<ResponseActionRecord | null> {
    const db = this.database();
    const now = this.clock();
    return db.transaction(() => {
      if (!db.prepare('SELECT 1 FROM alerts WHERE alert_id = ?').get(action.alertId)) return null;
      db.prepare(
        `INSERT INTO response_actions (idempotency_key, alert_id, action, user, status, detail, requested_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING`,
      ).run(
        action.idempotencyKey,
        action.alertId,
        action.action,
        action.user,
        action.status,
        action.detail ?? null,
        now,
        now,
      );
      return this.actionByKey(action.idempotencyKey);
    })();
  }

  async updateResponseAction(
    idempotencyKey: string,
    status: ResponseActionRecord['status'],
    detail?: string,
  ): Promise<ResponseActionRecord | null> {
    this.database()
      .prepare('UPDATE response_actions SET status = ?, detail = ?, updated_at = ? WHERE idempotency_key = ?')
      .run(status, detail ?? null, this.clock(), idempotencyKey);
    return this.actionByKey(idempotencyKey);
  }

  subscribeAlerts(listener: AlertListener): () => void {
    if (this.listeners.size === 0) {
      const row = this.database().prepare<{ seq: number | null }>('SELECT max(seq) AS seq FROM alerts').get();
      this.lastSeq = row?.seq ?? 0;
      this.timer = setInterval(() => this.poll(), this.options.pollIntervalMs ?? 1_000);
      this.timer.unref();
    }
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) clearInterval(this.timer);
    };
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.listeners.clear();
    this.db?.close();
    this.db = undefined;
  }

  private database(): Database {
    this.db ??= openConsoleDatabase(this.options.path);
    return this.db;
  }

  /** New alerts in insert order, 500 per tick at most (the rest on the next tick). */
  private poll(): void {
    const rows = this.database()
      .prepare<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE seq > ? ORDER BY seq LIMIT 500`)
      .all(this.lastSeq);
    for (const row of rows) {
      this.lastSeq = row.seq;
      const record = recordOf(row);
      for (const listener of this.listeners) {
        try {
          listener(record);
        } catch {
          this.listeners.delete(listener);
        }
      }
    }
  }

  /** Inside a transaction: the state after the change, written with its history entry. */
  private applyWorkflow(
    alertId: string,
    change: WorkflowChange,
    user: string,
    at: string,
  ): WorkflowState | null {
    const db = this.database();
    const row = db.prepare<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE alert_id = ?`).get(alertId);
    if (!row) return null;
    const before = stateOf(row);
    const after = applyChange(before, change, user, at);
    db.prepare(
      'UPDATE alerts SET status = ?, verdict = ?, assignee = ?, updated_at = ?, updated_by = ? WHERE alert_id = ?',
    ).run(after.status, after.verdict, after.assignee, Date.parse(at), user, alertId);
    db.prepare(
      'INSERT INTO workflow_history (alert_id, at, user, change, from_status, to_status) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(alertId, Date.parse(at), user, JSON.stringify(change), before.status, after.status);
    return after;
  }

  private actionByKey(key: string): ResponseActionRecord | null {
    const row = this.database()
      .prepare<ActionRow>('SELECT * FROM response_actions WHERE idempotency_key = ?')
      .get(key);
    return row ? actionOf(row) : null;
  }
}

interface Where {
  clauses: string[];
  values: BindValue[];
}

const marks = (count: number) => new Array(count).fill('?').join(', ');

function inList(where: Where, column: string, values: readonly BindValue[]): void {
  where.clauses.push(`${column} IN (${marks(values.length)})`);
  where.values.push(...values);
}

const whereSql = (where: Where) => (where.clauses.length > 0 ? `WHERE ${where.clauses.join(' AND ')}` : '');

/** LIKE with `\` escaping `%`, `_` and itself: the word is matched literally. */
const likePattern = (word: string) => `%${word.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
/** An FTS5 string: the trigram tokenizer matches it as a substring (quotes doubled, no query syntax). */
const ftsPhrase = (word: string) => `"${word.replaceAll('"', '""')}"`;

function filterSql(filter: AlertFilter): Where {
  const where: Where = { clauses: [], values: [] };
  if (filter.severity) inList(where, 'severity_rank', filter.severity.map(severityRank));
  if (filter.ruleId) inList(where, 'rule_id', filter.ruleId);
  if (filter.agentId) inList(where, 'agent_id', filter.agentId);
  if (filter.sessionId) inList(where, 'session_id', filter.sessionId);
  if (filter.status) inList(where, 'status', filter.status);
  if (filter.verdict) inList(where, 'verdict', filter.verdict);
  if (filter.assignee || filter.unassigned) {
    const parts: string[] = [];
    if (filter.assignee) {
      parts.push(`assignee IN (${marks(filter.assignee.length)})`);
      where.values.push(...filter.assignee);
    }
    if (filter.unassigned) parts.push('assignee IS NULL');
    where.clauses.push(`(${parts.join(' OR ')})`);
  }
  if (filter.from) {
    where.clauses.push('ts >= ?');
    where.values.push(Date.parse(filter.from));
  }
  if (filter.to) {
    where.clauses.push('ts < ?');
    where.values.push(Date.parse(filter.to));
  }
  for (const word of textWords(filter)) {
    // Three characters or more go through the trigram index; shorter words scan the search text.
    const long = [...word.lower].length >= 3;
    const substring = long
      ? 'seq IN (SELECT rowid FROM alert_text WHERE alert_text MATCH ?)'
      : "seq IN (SELECT rowid FROM alert_text WHERE search LIKE ? ESCAPE '\\')";
    where.clauses.push(`(${substring} OR alert_id = ? OR agent_id = ? OR session_id = ?)`);
    where.values.push(
      long ? ftsPhrase(word.lower) : likePattern(word.lower),
      word.exact,
      word.exact,
      word.exact,
    );
  }
  return where;
}

function stateOf(row: AlertRow): WorkflowState {
  return {
    status: row.status,
    verdict: row.verdict,
    assignee: row.assignee,
    updatedAt: row.updated_at === null ? null : iso(row.updated_at),
    updatedBy: row.updated_by,
  };
}

function recordOf(row: AlertRow): AlertRecord {
  return { alert: JSON.parse(row.body) as Alert, workflow: stateOf(row) };
}

interface ActionRow {
  idempotency_key: string;
  alert_id: string;
  action: ResponseActionRecord['action'];
  user: string;
  status: ResponseActionRecord['status'];
  detail: string | null;
  requested_at: number;
  updated_at: number;
}

function actionOf(row: ActionRow): ResponseActionRecord {
  return {
    alertId: row.alert_id,
    action: row.action,
    origin: 'manual',
    user: row.user,
    idempotencyKey: row.idempotency_key,
    status: row.status,
    detail: row.detail,
    attempts: null,
    httpStatus: null,
    requestedAt: iso(row.requested_at),
    updatedAt: iso(row.updated_at),
  };
}

interface DeliveryRow {
  action: StoredDelivery['action'];
  sink: string;
  status: StoredDelivery['status'];
  attempts: number;
  http_status: number | null;
  detail: string | null;
  at: number;
}

function deliveryOf(row: DeliveryRow): StoredDelivery {
  return {
    action: row.action,
    sink: row.sink,
    status: row.status,
    attempts: row.attempts,
    httpStatus: row.http_status,
    detail: row.detail,
    at: iso(row.at),
  };
}

interface HistoryRow {
  alert_id: string;
  at: number;
  user: string;
  change: string;
  from_status: WorkflowEntry['fromStatus'];
  to_status: WorkflowEntry['toStatus'];
}

function historyOf(row: HistoryRow): WorkflowEntry {
  return {
    alertId: row.alert_id,
    at: iso(row.at),
    user: row.user,
    change: JSON.parse(row.change) as WorkflowChange,
    fromStatus: row.from_status,
    toStatus: row.to_status,
  };
}

interface SessionRow {
  session_id: string;
  first_ts: number;
  last_ts: number;
  event_count: number;
  allow_count: number;
  warn_count: number;
  deny_count: number;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += size) result.push(items.slice(start, start + size));
  return result;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
