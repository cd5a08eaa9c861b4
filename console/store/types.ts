import { z } from 'zod';
import { ResponseActionSchema } from '../../core/response-actions.ts';
import { SeveritySchema } from '../../core/severity.ts';
import { AlertSchema } from '../../engine/alert.ts';
import { EnvelopeSchema, EventTypeSchema, OUTCOMES } from '../../engine/model/index.ts';

/**
 * The one interface the console reads and writes through; SQLite (embedded, `start`) and Elasticsearch (full
 * stack) implement it and answer the same queries with the same results (console/store/contract.test.ts).
 * Everything that crosses it from the HTTP side is parsed with these schemas first: they are the bounds
 * (docs/security.md, "Console").
 */

/** Ids as the pipeline bounds them (engine/model/limits.ts maxIdBytes ≤ 512); a rule id is shorter still. */
const IdSchema = z.string().min(1).max(512);
const TimeSchema = z.iso.datetime();
/** A console user name (config) or API token name: who made a change. */
export const UserSchema = z.string().min(1).max(128);

export const ALERT_STATUSES = ['open', 'acknowledged', 'closed'] as const;
export const AlertStatusSchema = z.enum(ALERT_STATUSES);
export type AlertStatus = z.infer<typeof AlertStatusSchema>;

export const VERDICTS = ['true_positive', 'false_positive', 'benign'] as const;
export const VerdictSchema = z.enum(VERDICTS);
export type Verdict = z.infer<typeof VerdictSchema>;

/** Longest free-text query and note: a query word is matched as a substring, so its length bounds the cost. */
export const MAX_TEXT_QUERY_CHARS = 200;
export const MAX_NOTE_CHARS = 4_000;
/** At most this many values per multi-value filter (a `severity=...&severity=...` list). */
export const MAX_FILTER_VALUES = 50;

const values = <T extends z.ZodType>(item: T) => z.array(item).min(1).max(MAX_FILTER_VALUES).optional();

/**
 * Which alerts: fields AND together, values within one field OR together. Time bounds are on the alert's
 * `timestamp` (event time), `from` inclusive, `to` exclusive. `text`: every whitespace-separated word must be a
 * case-insensitive substring of the rule id, rule name, a tag or the summary, or equal (case and all) an alert,
 * agent or session id (Elasticsearch matches a word inside one token of the summary; docs/security.md).
 * `matchesAlertFilter` (query.ts) is the same test over one record in memory.
 */
export const AlertFilterSchema = z.strictObject({
  severity: values(SeveritySchema),
  ruleId: values(IdSchema),
  agentId: values(IdSchema),
  sessionId: values(IdSchema),
  status: values(AlertStatusSchema),
  verdict: values(VerdictSchema),
  assignee: values(UserSchema),
  /** With `assignee`: either assigned to one of them or unassigned. Alone: unassigned only. */
  unassigned: z.boolean().optional(),
  from: TimeSchema.optional(),
  to: TimeSchema.optional(),
  text: z.string().trim().min(1).max(MAX_TEXT_QUERY_CHARS).optional(),
});
export type AlertFilter = z.infer<typeof AlertFilterSchema>;

/** Sort keys of the queue; ties always break on alertId so keyset paging is total. */
export const ALERT_SORTS = ['timestamp', 'severity', 'riskScore'] as const;
export const AlertSortSchema = z.enum(ALERT_SORTS);

export const AlertQuerySchema = z.strictObject({
  filter: AlertFilterSchema.prefault({}),
  /** severity and riskScore sort by that, then by timestamp, then alertId. */
  sort: AlertSortSchema.default('timestamp'),
  order: z.enum(['desc', 'asc']).default('desc'),
  limit: z.int().min(1).max(500).default(50),
  /** `nextCursor` of the previous page, unchanged (opaque; a store refuses one it did not make). */
  cursor: z.string().min(1).max(2_048).optional(),
});
export type AlertQuery = z.infer<typeof AlertQuerySchema>;
export type AlertQueryInput = z.input<typeof AlertQuerySchema>;

/** An alert's workflow state; an alert nobody touched is open, unassigned, without verdict. */
export const WorkflowStateSchema = z.object({
  status: AlertStatusSchema,
  verdict: VerdictSchema.nullable(),
  assignee: UserSchema.nullable(),
  /** Last change (null: never changed). */
  updatedAt: TimeSchema.nullable(),
  updatedBy: UserSchema.nullable(),
});
export type WorkflowState = z.infer<typeof WorkflowStateSchema>;

export const AlertRecordSchema = z.object({ alert: AlertSchema, workflow: WorkflowStateSchema });
export type AlertRecord = z.infer<typeof AlertRecordSchema>;

export const AlertPageSchema = z.object({
  items: z.array(AlertRecordSchema),
  /**
   * Present while more may follow. A page can hold fewer than `limit` items with a cursor still present (the
   * Elasticsearch store bounds the alerts it scans per request when filtering open alerts): keep following it.
   */
  nextCursor: z.string().optional(),
});
export type AlertPage = z.infer<typeof AlertPageSchema>;

/** The queue page: a page of alerts and how many the filter selects (what `countAlerts` answers). */
export const CountedAlertPageSchema = AlertPageSchema.extend({ matching: z.int().min(0) });
export type CountedAlertPage = z.infer<typeof CountedAlertPageSchema>;

/** One workflow change as requested: at least one key. `assignee: null` unassigns; a note is appended. */
export const WorkflowChangeSchema = z
  .strictObject({
    status: AlertStatusSchema.optional(),
    verdict: VerdictSchema.nullable().optional(),
    assignee: UserSchema.nullable().optional(),
    note: z.string().trim().min(1).max(MAX_NOTE_CHARS).optional(),
  })
  .refine((change) => Object.values(change).some((value) => value !== undefined), 'an empty change');
export type WorkflowChange = z.infer<typeof WorkflowChangeSchema>;

/** A recorded change: who, when, what it asked for and the status before and after. */
export const WorkflowEntrySchema = z.object({
  alertId: IdSchema,
  at: TimeSchema,
  user: UserSchema,
  change: WorkflowChangeSchema,
  fromStatus: AlertStatusSchema,
  toStatus: AlertStatusSchema,
});
export type WorkflowEntry = z.infer<typeof WorkflowEntrySchema>;

/** Bulk updates change at most this many alerts per call (the result says when more matched). */
export const MAX_BULK_ALERTS = 10_000;

export const BulkResultSchema = z.object({
  updated: z.int().min(0),
  /** More alerts matched the filter than one call changes: call again. */
  truncated: z.boolean(),
});
export type BulkResult = z.infer<typeof BulkResultSchema>;

/**
 * What is known of a response action's delivery. `requested`: the rule asked for it and no delivery report
 * reached the store yet (the processor reports automated webhooks every processor.reportIntervalMs, and
 * not at all when no webhook route is configured for the action).
 */
export const ACTION_STATUSES = ['requested', 'pending', 'delivered', 'failed'] as const;
export const ActionStatusSchema = z.enum(ACTION_STATUSES);

export const ResponseActionRecordSchema = z.object({
  alertId: IdSchema,
  action: ResponseActionSchema,
  /** `rule`: asked for by the alert's rule; `manual`: run by a user from the console. */
  origin: z.enum(['rule', 'manual']),
  user: UserSchema.nullable(),
  idempotencyKey: z.string().min(1).max(256).nullable(),
  status: ActionStatusSchema,
  /** Bounded detail of the last delivery attempt (the webhook route, HTTP status, error), when known. */
  detail: z.string().max(1_000).nullable(),
  /** Requests sent for it, when reported (automated actions: the webhook route's attempts). */
  attempts: z.int().min(0).nullable(),
  /** The receiver's last HTTP status, when reported. */
  httpStatus: z.int().min(100).max(599).nullable(),
  requestedAt: TimeSchema,
  updatedAt: TimeSchema,
});
export type ResponseActionRecord = z.infer<typeof ResponseActionRecordSchema>;

export const ManualActionSchema = z.strictObject({
  alertId: IdSchema,
  action: ResponseActionSchema,
  user: UserSchema,
  /** The same key twice records one action: the second call returns the first record. */
  idempotencyKey: z.string().min(1).max(256),
  status: ActionStatusSchema.default('pending'),
  detail: z.string().max(1_000).optional(),
});
export type ManualAction = z.infer<typeof ManualActionSchema>;
export type ManualActionInput = z.input<typeof ManualActionSchema>;

/** A stored event and the alerts (of the store) that list it among their contributing events. */
export const StoredEventSchema = z.object({ event: EnvelopeSchema, alertIds: z.array(IdSchema) });
export type StoredEvent = z.infer<typeof StoredEventSchema>;

export const AlertDetailSchema = z.object({
  alert: AlertSchema,
  workflow: WorkflowStateSchema,
  /** Contributing events found in the store, in the order of `alert.eventIds` (missing ones left out). */
  events: z.array(EnvelopeSchema),
  /** `alert.eventIds` not found in the store (not yet written, or never routed to it). */
  missingEventIds: z.array(z.string()),
  /**
   * Per action the rule asked for: one record per webhook route that reported its delivery, or one
   * `requested` record while none did; then the manual ones, oldest first.
   */
  actions: z.array(ResponseActionRecordSchema),
  /** Every workflow change, oldest first. */
  history: z.array(WorkflowEntrySchema),
});
export type AlertDetail = z.infer<typeof AlertDetailSchema>;

export const TimelineQuerySchema = z.strictObject({
  agentId: IdSchema,
  sessionId: IdSchema,
  eventTypes: values(EventTypeSchema),
  /** Ascending event time, ties by eventId. */
  limit: z.int().min(1).max(2_000).default(500),
  cursor: z.string().min(1).max(2_048).optional(),
});
export type TimelineQuery = z.infer<typeof TimelineQuerySchema>;
export type TimelineQueryInput = z.input<typeof TimelineQuerySchema>;

export const TimelinePageSchema = z.object({
  items: z.array(StoredEventSchema),
  nextCursor: z.string().optional(),
});
export type TimelinePage = z.infer<typeof TimelinePageSchema>;

/** Time-bucketed series: `bucketMs` wide buckets from `from` (inclusive) to `to` (exclusive). */
export const SeriesQuerySchema = z
  .strictObject({
    from: TimeSchema,
    to: TimeSchema,
    /** At least a minute; at most 1,000 buckets per series. */
    bucketMs: z.int().min(60_000),
  })
  .refine(({ from, to }) => Date.parse(from) < Date.parse(to), 'from must be before to')
  .refine(
    ({ from, to, bucketMs }) => (Date.parse(to) - Date.parse(from)) / bucketMs <= 1_000,
    'at most 1000 buckets',
  );
export type SeriesQuery = z.infer<typeof SeriesQuerySchema>;

export const AgentQuerySchema = z.strictObject({
  agentId: IdSchema,
  series: SeriesQuerySchema,
  /** Most recent sessions and alerts shown. */
  limit: z.int().min(1).max(500).default(100),
});
export type AgentQuery = z.infer<typeof AgentQuerySchema>;
export type AgentQueryInput = z.input<typeof AgentQuerySchema>;

export const SessionSummarySchema = z.object({
  sessionId: IdSchema,
  firstEventAt: TimeSchema,
  lastEventAt: TimeSchema,
  eventCount: z.int().min(0),
  /** Outcome counts of the session's events. */
  outcomes: z.record(z.enum(OUTCOMES), z.int().min(0)),
});
export type SessionSummary = z.infer<typeof SessionSummarySchema>;

export const RiskPointSchema = z.object({
  /** Bucket start. */
  at: TimeSchema,
  /** Highest alert risk score in the bucket (0 when no alert). */
  maxRiskScore: z.number().min(0).max(100),
  alertCount: z.int().min(0),
});

export const AgentPageSchema = z.object({
  agentId: IdSchema,
  /** Most recent first (by last event). */
  sessions: z.array(SessionSummarySchema),
  /** One point per bucket of the query, empty buckets included. */
  risk: z.array(RiskPointSchema),
  /** Most recent first. */
  alerts: z.array(AlertRecordSchema),
  /** The inventory record the engine attached to the agent's latest alert (enrichment.asset), if any. */
  inventory: z.record(z.string(), z.unknown()).nullable(),
});
export type AgentPage = z.infer<typeof AgentPageSchema>;

export const RuleStatsSchema = z.object({
  ruleId: IdSchema,
  ruleName: z.string(),
  /** Alerts of the rule in the whole query range. */
  total: z.int().min(0),
  /** One count per bucket of the query, empty buckets included. */
  hits: z.array(z.object({ at: TimeSchema, count: z.int().min(0) })),
  /** Alert time of the rule's latest alert ever (not only in range). */
  lastFired: TimeSchema,
  /**
   * Alerts of the rule that suppression swallowed in the range, as the processor reported them (core/reports.ts,
   * bucketed by the partition's event time when the counts were taken).
   */
  suppressed: z.int().min(0),
});
export type RuleStats = z.infer<typeof RuleStatsSchema>;

/** What the live feed hands out: the alert as stored, with its (initial) workflow state. */
export type AlertListener = (record: AlertRecord) => void;

export interface ConsoleStore {
  /** `sqlite` or `elasticsearch`: shown in the console footer and health. */
  readonly kind: 'sqlite' | 'elasticsearch';

  /** Opens or creates what the store needs (schema, workflow index); idempotent. */
  start(): Promise<void>;

  /** Alert queue: filtered, sorted, keyset-paged (no OFFSET: page N costs what page 1 costs). */
  listAlerts(query: AlertQuery): Promise<AlertPage>;

  /** Counts the alerts a filter selects (for a bulk action's confirmation); exact up to 100,000. */
  countAlerts(filter: AlertFilter): Promise<number>;

  /**
   * `listAlerts(query)` and `countAlerts(query.filter)` at once, for the queue page: Elasticsearch counts
   * with the page's own search, so a costly filter (free text) runs once per page, not twice.
   */
  listCountedAlerts(query: AlertQuery): Promise<CountedAlertPage>;

  /** One alert with its contributing events in full, response actions and workflow history; null if unknown. */
  alertDetail(alertId: string): Promise<AlertDetail | null>;

  /** A session's events in event-time order, each with the ids of the alerts that include it. */
  sessionTimeline(query: TimelineQuery): Promise<TimelinePage>;

  /** Agent page: recent sessions, risk over time, recent alerts, inventory record. */
  agentOverview(query: AgentQuery): Promise<AgentPage>;

  /** Rules page: every rule that fired (ever), with hits per bucket of the range; most recently fired first. */
  ruleStats(query: SeriesQuery): Promise<RuleStats[]>;

  /**
   * Applies one change to one alert and records it (user, time). Returns the new state, or null when the alert
   * is unknown. Every status may move to every other (reopening included); each move is in the history.
   */
  updateWorkflow(alertId: string, change: WorkflowChange, user: string): Promise<WorkflowState | null>;

  /** The same change for every alert the filter selects, each recorded as its own history entry. */
  bulkUpdateWorkflow(filter: AlertFilter, change: WorkflowChange, user: string): Promise<BulkResult>;

  /**
   * Records a manual response action before it is sent (status `pending`). Idempotent on the key: a second
   * call with the same key returns the first record unchanged. Null when the alert is unknown.
   */
  recordResponseAction(action: ManualAction): Promise<ResponseActionRecord | null>;

  /** Updates the delivery status of a recorded manual action (after the webhook answered); null if unknown. */
  updateResponseAction(
    idempotencyKey: string,
    status: z.infer<typeof ActionStatusSchema>,
    detail?: string,
  ): Promise<ResponseActionRecord | null>;

  /**
   * Live feed: calls `listener` for each alert stored after this call (SQLite: as the sink commits it;
   * Elasticsearch: polled by ingest time). Returns the unsubscribe function. A listener that throws is
   * dropped, not retried.
   */
  subscribeAlerts(listener: AlertListener): () => void;

  /** Stops polling and closes connections and files. */
  close(): Promise<void>;
}
