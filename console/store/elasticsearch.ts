import { createHash } from 'node:crypto';
import { type Client, errors, type estypes } from '@elastic/elasticsearch';
import { type Clock, systemClock } from '../../core/clock.ts';
import { SEVERITIES, type Severity, severityRank } from '../../core/severity.ts';
import type { Alert } from '../../engine/alert.ts';
import type { Envelope } from '../../engine/model/index.ts';
import {
  alertsDataStream,
  createElasticsearchClient,
  ensureReportIndices,
  reportIndex,
} from '../../sinks/index.ts';
import type { ConsoleStoreConfig } from './config.ts';
import {
  alertCursorKind,
  alertKeyShape,
  applyChange,
  bucketStarts,
  decodeCursor,
  encodeCursor,
  filtersWorkflow,
  iso,
  type KeyValues,
  needsWorkflowChange,
  OPEN_STATE,
  orderContributing,
  ruleActionRecords,
  type StoredDelivery,
  TIMELINE_CURSOR,
  TIMELINE_KEY_SHAPE,
  textWords,
  workflowMatches,
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

export type ElasticsearchStoreConfig = Extract<ConsoleStoreConfig, { type: 'elasticsearch' }>;

export interface ElasticsearchStoreDeps {
  client?: Client;
  clock?: Clock;
}

type Source = Record<string, unknown>;
/** A document as read, with the sequence number and primary term a conditional write is checked against. */
interface VersionedSource {
  source: Source;
  seqNo: number;
  primaryTerm: number;
}

/**
 * Field names of one index the queue is queried on: the sink's alert indices, or the console's workflow
 * index, which copies those fields with the same types so a filter means the same on both.
 */
interface QueueFields {
  timestamp: string;
  id: string;
  ruleId: string;
  agentId: string;
  sessionId: string;
  severity: string;
  riskScore: string;
  /**
   * Fields a free-text word is a substring of: keyword fields in their whole value, text fields in one of
   * their words (docs/security.md). Ids (id, agentId, sessionId) match a word only whole.
   */
  text: string[];
}

const ALERT_FIELDS: QueueFields = {
  timestamp: '@timestamp',
  id: 'event.id',
  ruleId: 'rule.id',
  agentId: 'agent.id',
  sessionId: 'clawdstrike.session.id',
  severity: 'clawdstrike.severity',
  riskScore: 'event.risk_score',
  text: ['rule.id', 'rule.name', 'tags', 'clawdstrike.alert.summary'],
};

const WORKFLOW_FIELDS: QueueFields = {
  timestamp: 'timestamp',
  id: 'alert_id',
  ruleId: 'rule_id',
  agentId: 'agent_id',
  sessionId: 'session_id',
  severity: 'severity',
  riskScore: 'risk_score',
  text: ['rule_id', 'rule_name', 'tags', 'summary'],
};

const keyword = { type: 'keyword', ignore_above: 1024 } as const;
const WORKFLOW_MAPPINGS: estypes.MappingTypeMapping = {
  dynamic: 'strict',
  properties: {
    alert_id: keyword,
    status: keyword,
    verdict: keyword,
    assignee: keyword,
    updated_at: { type: 'date' },
    updated_by: keyword,
    timestamp: { type: 'date' },
    severity: keyword,
    severity_rank: { type: 'long' },
    risk_score: { type: 'float' },
    rule_id: keyword,
    rule_name: { type: 'keyword', ignore_above: 8191 },
    agent_id: keyword,
    session_id: keyword,
    tags: keyword,
    summary: { type: 'text', norms: false },
    alert: { type: 'object', enabled: false },
  },
};
const HISTORY_MAPPINGS: estypes.MappingTypeMapping = {
  dynamic: 'strict',
  properties: {
    alert_id: keyword,
    at: { type: 'date' },
    n: { type: 'long' },
    user: keyword,
    change: { type: 'object', enabled: false },
    from_status: keyword,
    to_status: keyword,
  },
};
const ACTION_MAPPINGS: estypes.MappingTypeMapping = {
  dynamic: 'strict',
  properties: {
    idempotency_key: keyword,
    alert_id: keyword,
    action: keyword,
    user: keyword,
    status: keyword,
    detail: { type: 'keyword', index: false },
    requested_at: { type: 'date' },
    updated_at: { type: 'date' },
  },
};

const COUNT_CAP = 100_000;
/** Alerts a live-feed poll looks back past its last ingest time (a batch is refreshed up to a second late). */
const FEED_OVERLAP_MS = 60_000;
const FEED_SEEN_MAX = 10_000;

/**
 * The console store over the Elasticsearch sink's indices (read only; the report indices it creates if the
 * sink has not yet, sinks/elasticsearch/reports.ts) and three indices of its own:
 * `<prefix>-console-workflow` (one document per alert somebody changed, with a copy of the alert's queue
 * fields), `-history` (every change) and `-actions` (manual actions, `_id` from the idempotency key).
 */
export class ElasticsearchConsoleStore implements ConsoleStore {
  readonly kind = 'elasticsearch';
  private readonly client: Client;
  private readonly ownsClient: boolean;
  private readonly clock: Clock;
  private readonly alerts: string;
  private readonly events: string;
  private readonly workflow: string;
  private readonly history: string;
  private readonly actions: string;
  private readonly ruleCounts: string;
  private readonly deliveries: string;
  private readonly listeners = new Set<AlertListener>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private feedSince = 0;
  private seeded = false;
  private readonly feedSeen = new Map<string, number>();
  private historySequence = 0;

  constructor(
    private readonly config: ElasticsearchStoreConfig,
    deps: ElasticsearchStoreDeps = {},
  ) {
    this.client = deps.client ?? createElasticsearchClient({ ...config, compression: false });
    this.ownsClient = deps.client === undefined;
    this.clock = deps.clock ?? systemClock;
    const prefix = config.indexPrefix;
    this.alerts = `${prefix}-alerts-*,${alertsDataStream(prefix)}`;
    this.events = `${prefix}-events-*`;
    this.workflow = `${prefix}-console-workflow`;
    this.history = `${prefix}-console-history`;
    this.actions = `${prefix}-console-actions`;
    this.ruleCounts = reportIndex(prefix, 'rule_counts');
    this.deliveries = reportIndex(prefix, 'action_delivery');
  }

  async start(): Promise<void> {
    const settings = { number_of_shards: 1, number_of_replicas: this.config.replicas };
    for (const [index, mappings] of [
      [this.workflow, WORKFLOW_MAPPINGS],
      [this.history, HISTORY_MAPPINGS],
      [this.actions, ACTION_MAPPINGS],
    ] as const) {
      try {
        await this.client.indices.create({ index, settings, mappings });
      } catch (error) {
        if (
          !(
            error instanceof errors.ResponseError &&
            error.body?.error?.type === 'resource_already_exists_exception'
          )
        )
          throw error;
      }
    }
    // The processor's reports (rule counts, webhook outcomes) are read from before the sink writes any.
    await ensureReportIndices(this.client, this.config.indexPrefix, this.config.replicas);
  }

  async listAlerts(query: AlertQuery): Promise<AlertPage> {
    return (await this.queue(query, false)).page;
  }

  async countAlerts(filter: AlertFilter): Promise<number> {
    if (needsWorkflowChange(filter)) {
      return Math.min(COUNT_CAP, await this.count(this.workflow, changedQuery(filter)));
    }
    const [all, failing] = await Promise.all([
      this.count(this.alerts, queueQuery(ALERT_FIELDS, filter)),
      this.failingCount(filter),
    ]);
    return Math.min(COUNT_CAP, all - failing);
  }

  async listCountedAlerts(query: AlertQuery): Promise<CountedAlertPage> {
    const [{ page, total }, failing] = await Promise.all([
      this.queue(query, true),
      needsWorkflowChange(query.filter) ? 0 : this.failingCount(query.filter),
    ]);
    // No search ran only for a cursor past the last severity segment: count on its own then.
    const all = total ?? (await this.count(this.alerts, queueQuery(ALERT_FIELDS, query.filter)));
    return { ...page, matching: Math.min(COUNT_CAP, all - failing) };
  }

  async alertDetail(alertId: string): Promise<AlertDetail | null> {
    const alert = await this.findAlert(alertId);
    if (!alert) return null;
    const ids = [...new Set(alert.eventIds)];
    const own = await this.search(this.events, {
      query: { bool: { filter: [{ terms: { 'event.id': ids } }, { term: { 'agent.id': alert.agentId } }] } },
      size: ids.length,
    });
    const found = own.map((hit) => eventFromSource(sourceOf(hit)));
    const missing = ids.filter((id) => !found.some((event) => event.eventId === id));
    if (missing.length > 0) {
      // Another agent's event with that id: the lowest agentId's, as the SQLite store picks.
      const others = await this.search(this.events, {
        query: { terms: { 'event.id': missing } },
        collapse: { field: 'event.id' },
        sort: [{ 'agent.id': 'asc' }],
        size: missing.length,
      });
      found.push(...others.map((hit) => eventFromSource(sourceOf(hit))));
    }
    const [states, actionHits, historyHits, deliveryHits] = await Promise.all([
      this.states([alertId]),
      this.search(this.actions, {
        query: { term: { alert_id: alertId } },
        sort: [{ requested_at: 'asc' }, { idempotency_key: 'asc' }],
        size: 1_000,
      }),
      this.search(this.history, {
        query: { term: { alert_id: alertId } },
        sort: [{ at: 'asc' }, { n: 'asc' }],
        size: 10_000,
      }),
      this.search(this.deliveries, { query: { term: { alert_id: alertId } }, size: 1_000 }),
    ]);
    const deliveries = deliveryHits.map((hit) => deliveryFromSource(sourceOf(hit)));
    return {
      alert,
      workflow: states.get(alertId) ?? OPEN_STATE,
      ...orderContributing(alert, found),
      actions: [
        ...ruleActionRecords(alert, deliveries),
        ...actionHits.map((hit) => actionFromSource(sourceOf(hit))),
      ],
      history: historyHits.map((hit) => historyFromSource(sourceOf(hit))),
    };
  }

  async sessionTimeline(query: TimelineQuery): Promise<TimelinePage> {
    const filter: estypes.QueryDslQueryContainer[] = [
      { term: { 'agent.id': query.agentId } },
      { term: { 'clawdstrike.session.id': query.sessionId } },
    ];
    if (query.eventTypes) filter.push({ terms: { 'clawdstrike.event_type': query.eventTypes } });
    const hits = await this.search(this.events, {
      query: { bool: { filter } },
      sort: [{ '@timestamp': 'asc' }, { 'event.id': 'asc' }],
      size: query.limit + 1,
      search_after: query.cursor
        ? decodeCursor(query.cursor, TIMELINE_CURSOR, TIMELINE_KEY_SHAPE)
        : undefined,
    });
    const page = hits.slice(0, query.limit);
    const events = page.map((hit) => eventFromSource(sourceOf(hit)));
    const eventIds = [...new Set(events.map((event) => event.eventId))];
    const alertIds = new Map<string, string[]>();
    if (eventIds.length > 0) {
      const alerts = await this.search(this.alerts, {
        query: { terms: { 'clawdstrike.alert.event_ids': eventIds } },
        _source: ['event.id', 'clawdstrike.alert.event_ids'],
        size: 10_000,
      });
      const wanted = new Set(eventIds);
      for (const hit of alerts) {
        const source = sourceOf(hit);
        const alertId = String(path(source, 'event.id'));
        for (const eventId of strings(path(source, 'clawdstrike.alert.event_ids'))) {
          if (wanted.has(eventId)) alertIds.set(eventId, [...(alertIds.get(eventId) ?? []), alertId]);
        }
      }
    }
    const result: TimelinePage = {
      items: events.map((event) => ({
        event,
        alertIds: [...new Set(alertIds.get(event.eventId) ?? [])].sort(),
      })),
    };
    const last = page.at(-1);
    if (hits.length > query.limit && last) {
      result.nextCursor = encodeCursor(TIMELINE_CURSOR, last.sort as KeyValues);
    }
    return result;
  }

  async agentOverview(query: AgentQuery): Promise<AgentPage> {
    // Three independent requests: sessions (events), risk (alerts), recent alerts.
    const [sessionsResponse, riskResponse, { items: alerts }] = await Promise.all([
      this.client.search({
        index: this.events,
        ignore_unavailable: true,
        allow_no_indices: true,
        size: 0,
        query: { term: { 'agent.id': query.agentId } },
        aggs: {
          sessions: {
            terms: {
              field: 'clawdstrike.session.id',
              size: query.limit,
              order: [{ last: 'desc' }, { _key: 'asc' }],
            },
            aggs: {
              first: { min: { field: '@timestamp' } },
              last: { max: { field: '@timestamp' } },
              outcomes: { terms: { field: 'clawdstrike.decision.outcome', size: 3 } },
            },
          },
        },
      }),
      this.client.search({
        index: this.alerts,
        ignore_unavailable: true,
        allow_no_indices: true,
        size: 0,
        query: {
          bool: {
            filter: [
              { term: { 'agent.id': query.agentId } },
              { range: { '@timestamp': { gte: query.series.from, lt: query.series.to } } },
            ],
          },
        },
        aggs: { risk: histogram(query.series, { max: { max: { field: 'event.risk_score' } } }) },
      }),
      this.listAlerts({
        filter: { agentId: [query.agentId] },
        sort: 'timestamp',
        order: 'desc',
        limit: query.limit,
      }),
    ]);
    const sessions = buckets(sessionsResponse.aggregations?.sessions).map((bucket) => {
      const outcomes = { allow: 0, warn: 0, deny: 0 };
      for (const outcome of buckets(bucket.outcomes)) {
        const key = String(outcome.key);
        if (key === 'allow' || key === 'warn' || key === 'deny') outcomes[key] = outcome.doc_count;
      }
      return {
        sessionId: String(bucket.key),
        firstEventAt: iso(metric(bucket.first)),
        lastEventAt: iso(metric(bucket.last)),
        eventCount: bucket.doc_count,
        outcomes,
      };
    });
    const byBucket = new Map(
      buckets(riskResponse.aggregations?.risk).map((bucket) => [Number(bucket.key), bucket]),
    );
    const risk = bucketStarts(query.series).map((at) => {
      const bucket = byBucket.get(at);
      return {
        at: iso(at),
        maxRiskScore: bucket && bucket.doc_count > 0 ? float32(metric(bucket.max)) : 0,
        alertCount: bucket?.doc_count ?? 0,
      };
    });
    const asset = alerts[0]?.alert.enrichment.asset;
    return { agentId: query.agentId, sessions, risk, alerts, inventory: isRecord(asset) ? asset : null };
  }

  async ruleStats(query: SeriesQuery): Promise<RuleStats[]> {
    const suppressedSearch = this.searchResponse(this.ruleCounts, {
      size: 0,
      query: { range: { at: { gte: query.from, lt: query.to } } },
      aggs: {
        rules: { terms: { field: 'rule_id', size: 10_000 }, aggs: { n: { sum: { field: 'suppressed' } } } },
      },
    });
    const response = await this.client.search({
      index: this.alerts,
      ignore_unavailable: true,
      allow_no_indices: true,
      size: 0,
      aggs: {
        rules: {
          terms: { field: 'rule.id', size: 1_000, order: [{ last: 'desc' }, { _key: 'asc' }] },
          aggs: {
            last: { max: { field: '@timestamp' } },
            latest: { top_hits: { size: 1, sort: [{ '@timestamp': 'desc' }], _source: ['rule.name'] } },
          },
        },
        range: {
          filter: { range: { '@timestamp': { gte: query.from, lt: query.to } } },
          aggs: { rules: { terms: { field: 'rule.id', size: 1_000 }, aggs: { hits: histogram(query) } } },
        },
      },
    });
    const suppressed = new Map(
      buckets((await suppressedSearch).aggregations?.rules).map((rule) => [String(rule.key), metric(rule.n)]),
    );
    const aggregations = response.aggregations as Record<string, unknown> | undefined;
    const counts = new Map<string, Map<number, number>>();
    const ranged = (aggregations?.range as Record<string, unknown> | undefined)?.rules;
    for (const rule of buckets(ranged)) {
      counts.set(
        String(rule.key),
        new Map(buckets(rule.hits).map((hit) => [Number(hit.key), hit.doc_count])),
      );
    }
    const starts = bucketStarts(query);
    return buckets(aggregations?.rules).map((rule) => {
      const ruleId = String(rule.key);
      const latest = (rule.latest as { hits?: { hits?: estypes.SearchHit[] } } | undefined)?.hits?.hits?.[0];
      const hits = starts.map((at) => ({ at: iso(at), count: counts.get(ruleId)?.get(at) ?? 0 }));
      return {
        ruleId,
        ruleName: String(path(latest ? sourceOf(latest) : {}, 'rule.name') ?? ''),
        total: hits.reduce((sum, hit) => sum + hit.count, 0),
        hits,
        lastFired: iso(metric(rule.last)),
        suppressed: suppressed.get(ruleId) ?? 0,
      };
    });
  }

  async updateWorkflow(alertId: string, change: WorkflowChange, user: string): Promise<WorkflowState | null> {
    // Optimistic concurrency: a change made by someone else between read and write is read again.
    for (let attempt = 0; ; attempt++) {
      const current = await this.workflowDocument(alertId);
      const alert = current ? alertOfWorkflow(current.source) : await this.findAlert(alertId);
      if (!alert) return null;
      const before = current ? stateFromSource(current.source) : OPEN_STATE;
      const at = iso(this.clock());
      const after = applyChange(before, change, user, at);
      try {
        await this.client.index({
          index: this.workflow,
          id: workflowId(alertId),
          document: workflowSource(alert, after),
          ...(current
            ? { if_seq_no: current.seqNo, if_primary_term: current.primaryTerm }
            : { op_type: 'create' as const }),
          refresh: true,
        });
      } catch (error) {
        if (error instanceof errors.ResponseError && error.statusCode === 409 && attempt < 5) continue;
        throw error;
      }
      await this.client.index({
        index: this.history,
        document: this.historySource(alertId, at, user, change, before, after),
        refresh: true,
      });
      return after;
    }
  }

  async bulkUpdateWorkflow(filter: AlertFilter, change: WorkflowChange, user: string): Promise<BulkResult> {
    const chosen: AlertRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.listAlerts({ filter, sort: 'timestamp', order: 'desc', limit: 500, cursor });
      chosen.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor && chosen.length <= MAX_BULK_ALERTS);
    const records = chosen.slice(0, MAX_BULK_ALERTS);
    const at = iso(this.clock());
    for (let start = 0; start < records.length; start += 500) {
      await this.bulkChange(
        records.slice(start, start + 500).map((record) => record.alert),
        change,
        user,
        at,
      );
    }
    await this.client.indices.refresh({ index: [this.workflow, this.history] });
    return { updated: records.length, truncated: chosen.length > MAX_BULK_ALERTS };
  }

  /**
   * One chunk of a bulk change, with the single update's optimistic concurrency per document: each workflow
   * document is written only if unchanged since read (if_seq_no, or create when there is none yet); the ones
   * someone else changed in between are read again and the change applied on top, up to 5 times, then the
   * call fails as the single update does. History is written only for the writes that took.
   */
  private async bulkChange(
    alerts: readonly Alert[],
    change: WorkflowChange,
    user: string,
    at: string,
  ): Promise<void> {
    let pending = alerts;
    for (let attempt = 0; pending.length > 0; attempt++) {
      const current = await this.workflowDocuments(pending.map((alert) => alert.alertId));
      const writes = pending.map((alert) => {
        const doc = current.get(alert.alertId);
        const before = doc ? stateFromSource(doc.source) : OPEN_STATE;
        return { alert, before, after: applyChange(before, change, user, at), doc };
      });
      const response = await this.client.bulk({
        operations: writes.flatMap(({ alert, after, doc }) => [
          {
            index: {
              _index: this.workflow,
              _id: workflowId(alert.alertId),
              ...(doc ? { if_seq_no: doc.seqNo, if_primary_term: doc.primaryTerm } : { op_type: 'create' }),
            },
          },
          workflowSource(alert, after),
        ]),
      });
      const conflicted: Alert[] = [];
      const history: Source[] = [];
      response.items.forEach((item, index) => {
        const write = writes[index]!;
        const result = Object.values(item)[0];
        if (result?.status === 409 && attempt < 5) conflicted.push(write.alert);
        else if (result?.error) {
          throw new Error(`bulk workflow update failed: ${JSON.stringify(result.error)}`);
        } else {
          history.push(this.historySource(write.alert.alertId, at, user, change, write.before, write.after));
        }
      });
      if (history.length > 0) {
        const written = await this.client.bulk({
          operations: history.flatMap((document) => [{ index: { _index: this.history } }, document]),
        });
        if (written.errors) throw new Error('bulk workflow history write failed');
      }
      pending = conflicted;
    }
  }

  async recordResponseAction(action: ManualAction): Promise<ResponseActionRecord | null> {
    if (!(await this.findAlert(action.alertId))) return null;
    const now = iso(this.clock());
    const id = keyId(action.idempotencyKey);
    try {
      await this.client.index({
        index: this.actions,
        id,
        op_type: 'create',
        refresh: true,
        document: {
          idempotency_key: action.idempotencyKey,
          alert_id: action.alertId,
          action: action.action,
          user: action.user,
          status: action.status,
          detail: action.detail ?? null,
          requested_at: now,
          updated_at: now,
        },
      });
    } catch (error) {
      // The same key again: the first record stands.
      if (!(error instanceof errors.ResponseError && error.statusCode === 409)) throw error;
    }
    return this.actionByKey(action.idempotencyKey);
  }

  async updateResponseAction(
    idempotencyKey: string,
    status: ResponseActionRecord['status'],
    detail?: string,
  ): Promise<ResponseActionRecord | null> {
    try {
      await this.client.update({
        index: this.actions,
        id: keyId(idempotencyKey),
        doc: { status, detail: detail ?? null, updated_at: iso(this.clock()) },
        refresh: true,
      });
    } catch (error) {
      if (error instanceof errors.ResponseError && error.statusCode === 404) return null;
      throw error;
    }
    return this.actionByKey(idempotencyKey);
  }

  subscribeAlerts(listener: AlertListener): () => void {
    if (this.listeners.size === 0) {
      this.seeded = false;
      void this.poll();
      this.timer = setInterval(() => void this.poll(), this.config.pollIntervalMs);
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
    if (this.ownsClient) await this.client.close();
  }

  /**
   * Where the feed starts: the latest ingest time in the indices (the sink's clock, not ours), the alerts of
   * the minute before it marked as seen.
   */
  private async seedFeed(): Promise<void> {
    const [latest] = await this.search(this.alerts, {
      sort: [{ 'event.ingested': 'desc' }],
      _source: ['event.ingested'],
      size: 1,
    });
    const since = latest ? Date.parse(String(path(sourceOf(latest), 'event.ingested'))) : 0;
    this.feedSince = Number.isNaN(since) ? 0 : since;
    this.feedSeen.clear();
    for (const { alert, ingested } of await this.ingestedSince(this.feedSince - FEED_OVERLAP_MS)) {
      this.feedSeen.set(alert.alertId, ingested);
    }
  }

  /** Up to 5,000 alerts ingested after `since`, oldest first (past that the feed skips ahead; the queue has them). */
  private async ingestedSince(since: number): Promise<Array<{ alert: Alert; ingested: number }>> {
    const found: Array<{ alert: Alert; ingested: number }> = [];
    let after: KeyValues | undefined;
    for (let page = 0; page < 10; page++) {
      const hits = await this.search(this.alerts, {
        query: { range: { 'event.ingested': { gt: iso(Math.max(0, since)) } } },
        sort: [{ 'event.ingested': 'asc' }, { 'event.id': 'asc' }],
        size: 500,
        search_after: after,
      });
      for (const hit of hits) {
        const source = sourceOf(hit);
        found.push({
          alert: alertFromSource(source),
          ingested: Date.parse(String(path(source, 'event.ingested'))),
        });
        after = hit.sort as KeyValues;
      }
      if (hits.length < 500) break;
    }
    return found;
  }

  /** Alerts ingested since the last poll (and a minute before it, for late refreshes), each handed out once. */
  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      if (!this.seeded) {
        await this.seedFeed();
        this.seeded = true;
        return;
      }
      const fresh = (await this.ingestedSince(this.feedSince - FEED_OVERLAP_MS)).filter(
        ({ alert }) => !this.feedSeen.has(alert.alertId),
      );
      const states = await this.states(fresh.map(({ alert }) => alert.alertId));
      for (const { alert, ingested } of fresh) {
        this.feedSeen.set(alert.alertId, ingested);
        this.feedSince = Math.max(this.feedSince, ingested);
        const record = { alert, workflow: states.get(alert.alertId) ?? OPEN_STATE };
        for (const listener of this.listeners) {
          try {
            listener(record);
          } catch {
            this.listeners.delete(listener);
          }
        }
      }
      for (const [id, ingested] of this.feedSeen) {
        if (ingested < this.feedSince - FEED_OVERLAP_MS || this.feedSeen.size > FEED_SEEN_MAX)
          this.feedSeen.delete(id);
      }
    } catch {
      // The cluster did not answer: the next tick asks again from the same point.
    } finally {
      this.polling = false;
    }
  }

  /**
   * A page of the queue. `counted`: the page's first search also counts what the filter selects in the
   * alert indices (or, for a workflow-only filter, in the workflow index), returned as `total`.
   */
  private async queue(
    query: AlertQuery,
    counted: boolean,
  ): Promise<{ page: AlertPage; total: number | undefined }> {
    const after = query.cursor
      ? decodeCursor(query.cursor, alertCursorKind(query), alertKeyShape(query))
      : undefined;
    if (needsWorkflowChange(query.filter)) return this.listChanged(query, after, counted);
    // Workflow state is in another index: scan the alerts in order and keep those whose state passes.
    const postFilter = filtersWorkflow(query.filter);
    const batch = postFilter ? Math.max(query.limit + 1, 500) : query.limit + 1;
    const items: AlertRecord[] = [];
    let scanned = 0;
    let position: KeyValues | undefined;
    let total: number | undefined;
    const done = (more: boolean) => ({
      page:
        more && position ? { items, nextCursor: encodeCursor(alertCursorKind(query), position) } : { items },
      total,
    });
    const segments = queueSegments(query, after);
    for (const [segmentIndex, segment] of segments.entries()) {
      let within = segment.after;
      for (;;) {
        const counting = counted && total === undefined;
        const response = await this.searchResponse(this.alerts, {
          ...(counting
            ? countingSearch(query.filter, segment)
            : { query: queueQuery(ALERT_FIELDS, segment.filter) }),
          sort: segment.sort,
          size: batch,
          search_after: within,
        });
        if (counting) total = matchingOf(response);
        const hits = response.hits.hits;
        const states = await this.states(hits.map((hit) => alertFromSource(sourceOf(hit)).alertId));
        for (const [index, hit] of hits.entries()) {
          const alert = alertFromSource(sourceOf(hit));
          const workflow = states.get(alert.alertId) ?? OPEN_STATE;
          within = hit.sort as KeyValues;
          position = [...segment.key, ...within];
          scanned++;
          if (!workflowMatches(workflow, query.filter)) continue;
          items.push({ alert, workflow });
          if (items.length === query.limit) {
            return done(
              index < hits.length - 1 || hits.length === batch || segmentIndex < segments.length - 1,
            );
          }
        }
        if (hits.length < batch) break;
        if (scanned >= this.config.maxScanAlerts) return done(true);
      }
    }
    return done(false);
  }

  /** Changed alerts the alert filters select whose state fails the workflow filters (0 without those). */
  private async failingCount(filter: AlertFilter): Promise<number> {
    if (!filtersWorkflow(filter)) return 0;
    return this.count(this.workflow, {
      bool: { filter: [queueQuery(WORKFLOW_FIELDS, filter)], must_not: [workflowQuery(filter)] },
    });
  }

  private async count(index: string, query: estypes.QueryDslQueryContainer): Promise<number> {
    return (await this.client.count({ index, query, ignore_unavailable: true, allow_no_indices: true }))
      .count;
  }

  /** Alerts only changed ones can match: the workflow index alone answers, exactly as the alert indices would. */
  private async listChanged(
    query: AlertQuery,
    after: KeyValues | undefined,
    counted: boolean,
  ): Promise<{ page: AlertPage; total: number | undefined }> {
    const response = await this.searchResponse(this.workflow, {
      query: changedQuery(query.filter),
      sort: queueSort(WORKFLOW_FIELDS, query),
      size: query.limit + 1,
      search_after: after,
      track_total_hits: counted ? COUNT_CAP : false,
    });
    const hits = response.hits.hits;
    const page = hits.slice(0, query.limit);
    const items = page.map((hit) => {
      const source = sourceOf(hit);
      return { alert: alertOfWorkflow(source), workflow: stateFromSource(source) };
    });
    const last = page.at(-1);
    return {
      page:
        hits.length > query.limit && last
          ? { items, nextCursor: encodeCursor(alertCursorKind(query), last.sort as KeyValues) }
          : { items },
      total: counted ? matchingOf(response) : undefined,
    };
  }

  private async search(
    index: string,
    request: Omit<estypes.SearchRequest, 'index'>,
  ): Promise<estypes.SearchHit[]> {
    return (await this.searchResponse(index, request)).hits.hits;
  }

  private searchResponse(index: string, request: Omit<estypes.SearchRequest, 'index'>) {
    return this.client.search({
      index,
      ignore_unavailable: true,
      allow_no_indices: true,
      track_total_hits: false,
      ...request,
    });
  }

  private async findAlert(alertId: string): Promise<Alert | undefined> {
    const [hit] = await this.search(this.alerts, { query: { term: { 'event.id': alertId } }, size: 1 });
    return hit ? alertFromSource(sourceOf(hit)) : undefined;
  }

  private async states(alertIds: readonly string[]): Promise<Map<string, WorkflowState>> {
    const documents = await this.workflowDocuments(alertIds);
    return new Map([...documents].map(([alertId, doc]) => [alertId, stateFromSource(doc.source)]));
  }

  private async workflowDocument(alertId: string): Promise<VersionedSource | undefined> {
    try {
      const doc = await this.client.get<Source>({ index: this.workflow, id: workflowId(alertId) });
      if (!doc.found || !doc._source) return undefined;
      return { source: doc._source, seqNo: doc._seq_no ?? 0, primaryTerm: doc._primary_term ?? 1 };
    } catch (error) {
      if (error instanceof errors.ResponseError && error.statusCode === 404) return undefined;
      throw error;
    }
  }

  /** The workflow documents of these alerts that exist, with what a conditional write needs. */
  private async workflowDocuments(alertIds: readonly string[]): Promise<Map<string, VersionedSource>> {
    const documents = new Map<string, VersionedSource>();
    if (alertIds.length === 0) return documents;
    const response = await this.client.mget<Source>({ index: this.workflow, ids: alertIds.map(workflowId) });
    for (const doc of response.docs) {
      if ('found' in doc && doc.found && doc._source) {
        documents.set(String(doc._source.alert_id), {
          source: doc._source,
          seqNo: doc._seq_no ?? 0,
          primaryTerm: doc._primary_term ?? 1,
        });
      }
    }
    return documents;
  }

  private historySource(
    alertId: string,
    at: string,
    user: string,
    change: WorkflowChange,
    before: WorkflowState,
    after: WorkflowState,
  ): Source {
    // `n` orders changes made within one millisecond.
    this.historySequence++;
    return {
      alert_id: alertId,
      at,
      n: this.historySequence,
      user,
      change,
      from_status: before.status,
      to_status: after.status,
    };
  }

  private async actionByKey(key: string): Promise<ResponseActionRecord | null> {
    try {
      const doc = await this.client.get<Source>({ index: this.actions, id: keyId(key) });
      return doc._source ? actionFromSource(doc._source) : null;
    } catch (error) {
      if (error instanceof errors.ResponseError && error.statusCode === 404) return null;
      throw error;
    }
  }
}

/** The alert filters (not workflow) as a query on one index's fields. */
function queueQuery(fields: QueueFields, filter: AlertFilter): estypes.QueryDslQueryContainer {
  const clauses: estypes.QueryDslQueryContainer[] = [];
  if (filter.severity) clauses.push({ terms: { [fields.severity]: filter.severity } });
  if (filter.ruleId) clauses.push({ terms: { [fields.ruleId]: filter.ruleId } });
  if (filter.agentId) clauses.push({ terms: { [fields.agentId]: filter.agentId } });
  if (filter.sessionId) clauses.push({ terms: { [fields.sessionId]: filter.sessionId } });
  if (filter.from || filter.to) {
    clauses.push({ range: { [fields.timestamp]: { gte: filter.from, lt: filter.to } } });
  }
  for (const word of textWords(filter)) {
    const pattern = `*${word.lower.replace(/[\\*?]/g, (char) => `\\${char}`)}*`;
    clauses.push({
      bool: {
        should: [
          ...fields.text.map((field) => ({
            wildcard: { [field]: { value: pattern, case_insensitive: true } },
          })),
          ...[fields.id, fields.agentId, fields.sessionId].map((field) => ({
            term: { [field]: word.exact },
          })),
        ],
        minimum_should_match: 1,
      },
    });
  }
  return { bool: { filter: clauses } };
}

/** The workflow filters on the workflow index. */
function workflowQuery(filter: AlertFilter): estypes.QueryDslQueryContainer {
  const clauses: estypes.QueryDslQueryContainer[] = [];
  if (filter.status) clauses.push({ terms: { status: filter.status } });
  if (filter.verdict) clauses.push({ terms: { verdict: filter.verdict } });
  if (filter.assignee || filter.unassigned) {
    const should: estypes.QueryDslQueryContainer[] = [];
    if (filter.assignee) should.push({ terms: { assignee: filter.assignee } });
    if (filter.unassigned) should.push({ bool: { must_not: [{ exists: { field: 'assignee' } }] } });
    clauses.push({ bool: { should, minimum_should_match: 1 } });
  }
  return { bool: { filter: clauses } };
}

function changedQuery(filter: AlertFilter): estypes.QueryDslQueryContainer {
  return { bool: { filter: [queueQuery(WORKFLOW_FIELDS, filter), workflowQuery(filter)] } };
}

/** Sort of the workflow index, which holds a severity rank. */
function queueSort(fields: QueueFields, query: AlertQuery): estypes.SortCombinations[] {
  const order = query.order;
  const tail: estypes.SortCombinations[] = [{ [fields.timestamp]: order }, { [fields.id]: order }];
  if (query.sort === 'severity') return [{ severity_rank: order }, ...tail];
  if (query.sort === 'riskScore') return [{ [fields.riskScore]: order }, ...tail];
  return tail;
}

interface Segment {
  /** Cursor values before the index's own sort values (the severity rank of this segment). */
  key: KeyValues;
  filter: AlertFilter;
  sort: estypes.SortCombinations[];
  after: KeyValues | undefined;
}

/**
 * The alert indices hold severity as a keyword, which sorts by name: the severity sort reads one severity
 * after the other, each by time (no script, each an index range), the rank leading the cursor.
 */
function queueSegments(query: AlertQuery, after: KeyValues | undefined): Segment[] {
  const sort = queueSort(ALERT_FIELDS, query);
  if (query.sort !== 'severity') return [{ key: [], filter: query.filter, sort, after }];
  const ranked = SEVERITIES.filter(
    (severity) => !query.filter.severity || query.filter.severity.includes(severity),
  );
  if (query.order === 'desc') ranked.reverse();
  const fromRank = after ? Number(after[0]) : undefined;
  return ranked
    .filter((severity) => {
      if (fromRank === undefined) return true;
      const rank = severityRank(severity);
      return query.order === 'desc' ? rank <= fromRank : rank >= fromRank;
    })
    .map((severity) => ({
      key: [severityRank(severity)],
      filter: { ...query.filter, severity: [severity] },
      sort: sort.slice(1),
      after: after && severityRank(severity) === fromRank ? after.slice(1) : undefined,
    }));
}

/**
 * The first search of a counted page, which also counts every alert the filter selects: in its total (exact
 * when workflow filters will take the failing changed alerts away, else up to the cap), or, for a severity
 * segment, in an aggregation over the whole filter, the segment's one severity applied after it.
 */
function countingSearch(filter: AlertFilter, segment: Segment): Omit<estypes.SearchRequest, 'index'> {
  const query = queueQuery(ALERT_FIELDS, filter);
  if (segment.filter === filter)
    return { query, track_total_hits: filtersWorkflow(filter) ? true : COUNT_CAP };
  return {
    query,
    post_filter: queueQuery(ALERT_FIELDS, { severity: segment.filter.severity }),
    aggs: { matching: { filter: { match_all: {} } } },
  };
}

/** What `countingSearch` (or a search with `track_total_hits`) counted. */
function matchingOf(response: estypes.SearchResponse): number {
  const aggregated = response.aggregations?.matching as estypes.AggregationsFilterAggregate | undefined;
  if (aggregated) return aggregated.doc_count;
  const total = response.hits.total;
  return typeof total === 'number' ? total : (total?.value ?? 0);
}

/** Buckets of `bucketMs` from `from`: a fixed interval whose offset puts a bucket edge on `from`. */
function histogram(
  query: SeriesQuery,
  aggs?: Record<string, estypes.AggregationsAggregationContainer>,
): estypes.AggregationsAggregationContainer {
  const offset = ((Date.parse(query.from) % query.bucketMs) + query.bucketMs) % query.bucketMs;
  return {
    date_histogram: {
      field: '@timestamp',
      fixed_interval: `${query.bucketMs}ms`,
      offset: `+${offset}ms`,
      min_doc_count: 1,
    },
    aggs,
  };
}

interface Bucket {
  key: string | number;
  doc_count: number;
  [name: string]: unknown;
}

function buckets(aggregation: unknown): Bucket[] {
  const list = (aggregation as { buckets?: unknown } | undefined)?.buckets;
  return Array.isArray(list) ? (list as Bucket[]) : [];
}

function metric(aggregation: unknown): number {
  return Number((aggregation as { value?: unknown } | undefined)?.value ?? 0);
}

/** A float field's aggregation comes back as float32: the shortest decimal that rounds to it is the value stored. */
function float32(value: number): number {
  return Number(Math.fround(value).toPrecision(7));
}

function sourceOf(hit: estypes.SearchHit): Source {
  return (hit._source ?? {}) as Source;
}

/** A dotted path of an object, where Elasticsearch may have been sent either nested objects or dotted keys. */
function path(source: Source, dotted: string): unknown {
  let value: unknown = source;
  for (const key of dotted.split('.')) {
    if (!isRecord(value)) return undefined;
    value = value[key];
  }
  return value;
}

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];

function optional<T extends string>(value: unknown): T | undefined {
  return typeof value === 'string' ? (value as T) : undefined;
}

/** An Alert from the sink's ECS alert document (sinks/elasticsearch/documents.ts alertDocument). */
function alertFromSource(source: Source): Alert {
  return {
    schemaVersion: 1,
    alertId: String(path(source, 'event.id')),
    ruleId: String(path(source, 'rule.id')),
    ruleName: String(path(source, 'rule.name') ?? ''),
    ruleType: path(source, 'clawdstrike.alert.rule_type') as Alert['ruleType'],
    severity: path(source, 'clawdstrike.severity') as Severity,
    riskScore: Number(path(source, 'event.risk_score') ?? 0),
    agentId: String(path(source, 'agent.id')),
    sessionId: String(path(source, 'clawdstrike.session.id')),
    groupKey: String(path(source, 'clawdstrike.alert.group_key') ?? ''),
    timestamp: String(path(source, '@timestamp')),
    detectedAt: String(path(source, 'event.created')),
    eventIds: strings(path(source, 'clawdstrike.alert.event_ids')),
    eventCount: Number(path(source, 'clawdstrike.alert.event_count') ?? 1),
    actions: strings(path(source, 'clawdstrike.alert.actions')) as Alert['actions'],
    tags: strings(path(source, 'tags')),
    summary: String(path(source, 'clawdstrike.alert.summary') ?? ''),
    enrichment: (path(source, 'clawdstrike.enrichment') as Record<string, unknown> | undefined) ?? {},
  };
}

/** An Envelope from the sink's ECS event document (eventDocument); `integrity` is not in that document. */
function eventFromSource(source: Source): Envelope {
  const event: Envelope = {
    schemaVersion: 1,
    eventId: String(path(source, 'event.id')),
    timestamp: String(path(source, '@timestamp')),
    receivedAt: String(path(source, 'event.created')),
    agentId: String(path(source, 'agent.id')),
    sessionId: String(path(source, 'clawdstrike.session.id')),
    eventType: path(source, 'clawdstrike.event_type') as Envelope['eventType'],
    target: String(path(source, 'clawdstrike.target') ?? ''),
    data: (path(source, 'clawdstrike.data') as Record<string, unknown> | undefined) ?? {},
    decision: path(source, 'clawdstrike.decision') as Envelope['decision'],
    source: path(source, 'clawdstrike.source') as Envelope['source'],
    metadata: (path(source, 'clawdstrike.metadata') as Record<string, unknown> | undefined) ?? {},
  };
  const runId = optional(path(source, 'clawdstrike.run_id'));
  const originalType = optional(path(source, 'clawdstrike.original_type'));
  const policyHash = optional(path(source, 'clawdstrike.policy_hash'));
  if (runId !== undefined) event.runId = runId;
  if (originalType !== undefined) event.originalType = originalType;
  if (policyHash !== undefined) event.policyHash = policyHash;
  return event;
}

function workflowSource(alert: Alert, state: WorkflowState): Source {
  return {
    alert_id: alert.alertId,
    status: state.status,
    verdict: state.verdict,
    assignee: state.assignee,
    updated_at: state.updatedAt,
    updated_by: state.updatedBy,
    timestamp: alert.timestamp,
    severity: alert.severity,
    severity_rank: severityRank(alert.severity),
    risk_score: alert.riskScore,
    rule_id: alert.ruleId,
    rule_name: alert.ruleName,
    agent_id: alert.agentId,
    session_id: alert.sessionId,
    tags: alert.tags,
    summary: alert.summary,
    alert,
  };
}

const alertOfWorkflow = (source: Source): Alert => source.alert as Alert;

function stateFromSource(source: Source): WorkflowState {
  return {
    status: source.status as WorkflowState['status'],
    verdict: (source.verdict ?? null) as WorkflowState['verdict'],
    assignee: optional(source.assignee) ?? null,
    updatedAt: optional(source.updated_at) ?? null,
    updatedBy: optional(source.updated_by) ?? null,
  };
}

function actionFromSource(source: Source): ResponseActionRecord {
  return {
    alertId: String(source.alert_id),
    action: source.action as ResponseActionRecord['action'],
    origin: 'manual',
    user: optional(source.user) ?? null,
    idempotencyKey: optional(source.idempotency_key) ?? null,
    status: source.status as ResponseActionRecord['status'],
    detail: optional(source.detail) ?? null,
    attempts: null,
    httpStatus: null,
    requestedAt: String(source.requested_at),
    updatedAt: String(source.updated_at),
  };
}

function deliveryFromSource(source: Source): StoredDelivery {
  return {
    action: source.action as StoredDelivery['action'],
    sink: String(source.sink),
    status: source.status as StoredDelivery['status'],
    attempts: Number(source.attempts),
    httpStatus: typeof source.http_status === 'number' ? source.http_status : null,
    detail: optional(source.detail) ?? null,
    at: iso(Date.parse(String(source.at))),
  };
}

function historyFromSource(source: Source): WorkflowEntry {
  return {
    alertId: String(source.alert_id),
    at: String(source.at),
    user: String(source.user),
    change: source.change as WorkflowChange,
    fromStatus: source.from_status as WorkflowEntry['fromStatus'],
    toStatus: source.to_status as WorkflowEntry['toStatus'],
  };
}

/** `_id` of an alert's workflow document: the alertId (a 64-digit digest), digested if it were ever too long. */
function workflowId(alertId: string): string {
  return Buffer.byteLength(alertId) <= 512 ? alertId : keyId(alertId);
}

const keyId = (value: string) => createHash('sha256').update(value).digest('base64url');

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
