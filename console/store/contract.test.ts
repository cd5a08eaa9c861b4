import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionDeliveryReport, Report } from '../../core/reports.ts';
import { severityRank } from '../../core/severity.ts';
import type { Alert } from '../../engine/alert.ts';
import type { Envelope, EventType, Outcome } from '../../engine/model/index.ts';
import {
  createElasticsearchClient,
  createSinkRouter,
  ElasticsearchSinkConfigSchema,
  MemoryDeadLetterWriter,
  type SinkRouter,
  SinksConfigSchema,
} from '../../sinks/index.ts';
import {
  dropIndexPrefix,
  requireElasticsearchUrl,
  uniqueIndexPrefix,
} from '../../test/support/elasticsearch.ts';
import { makeAlert, makeEnvelope, uniqueId } from '../../test/support/sink-items.ts';
import { ConsoleStoreConfigSchema } from './config.ts';
import { createConsoleStore } from './index.ts';
import { matchesAlertFilter, OPEN_STATE } from './query.ts';
import {
  type AlertFilter,
  type AlertQueryInput,
  AlertQuerySchema,
  type AlertRecord,
  type ConsoleStore,
  TimelineQuerySchema,
  type WorkflowState,
} from './types.ts';

/**
 * One suite, two stores: the same events and alerts go through the real sink paths (SQLite sink and
 * Elasticsearch sink, one router), then every query is asked of both and compared with each other and
 * with an answer computed here from the data.
 */

const DAY = '2026-03-14';
const at = (seconds: number) => new Date(Date.parse(`${DAY}T08:00:00.000Z`) + seconds * 1_000).toISOString();
const TYPES: EventType[] = ['file_read', 'network_egress', 'command_exec', 'tool_call'];
const OUTCOMES: Outcome[] = ['allow', 'warn', 'deny'];
const RULES = [
  { ruleId: 'credential-exfiltration', ruleName: 'Credential read followed by egress' },
  { ruleId: 'shell-spawn', ruleName: 'Agent spawns a shell' },
  { ruleId: 'mcp-tool-abuse', ruleName: 'MCP tool called with secrets' },
  { ruleId: 'prompt-injection', ruleName: 'Prompt injection marker' },
];
const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
const FIXED_NOW = Date.parse('2026-03-15T10:00:00.000Z');

function dataset() {
  const events: Envelope[] = [];
  for (const agent of [1, 2, 3]) {
    for (const session of [1, 2]) {
      for (let index = 0; index < 8; index++) {
        const eventType = TYPES[index % TYPES.length]!;
        // Two events per session share a timestamp: the tie breaks on eventId.
        const second = agent * 1_000 + session * 100 + (index === 3 ? 2 : index) * 7;
        events.push(
          makeEnvelope({
            agentId: `agent-${agent}`,
            sessionId: `sess-${agent}-${session}`,
            timestamp: at(second),
            receivedAt: at(second + 1),
            eventType,
            target: `target-${index}`,
            data: { type: eventType === 'file_read' ? 'file' : 'custom', path: `/home/dev/file-${index}` },
            decision: { outcome: OUTCOMES[index % 3]!, severity: 'medium', guard: 'forbidden_path' },
          }),
        );
      }
    }
  }
  const alerts: Alert[] = [];
  for (let index = 0; index < 30; index++) {
    const agent = (index % 3) + 1;
    const session = (index % 2) + 1;
    const sessionEvents = events.filter((event) => event.sessionId === `sess-${agent}-${session}`);
    const rule = RULES[index % RULES.length]!;
    alerts.push(
      makeAlert({
        ...rule,
        severity: SEVERITIES[index % SEVERITIES.length]!,
        riskScore: (index * 7) % 100,
        agentId: `agent-${agent}`,
        sessionId: `sess-${agent}-${session}`,
        groupKey: `agent-${agent}|sess-${agent}-${session}`,
        // Ties on timestamp every fifth alert.
        timestamp: at(5_000 + Math.floor(index / 2) * 60),
        detectedAt: at(5_001 + index * 60),
        eventIds: [sessionEvents[index % 8]!.eventId, sessionEvents[(index + 1) % 8]!.eventId],
        tags: index % 2 === 0 ? ['attack.t1552.004', 'attack.exfiltration'] : ['atlas.aml.t0051'],
        summary: `agent-${agent} read ~/.ssh/id_rsa then connected to ${index % 2 ? 'evil.example' : 'paste.example'}:443`,
        enrichment: agent === 1 ? { asset: { agentId: 'agent-1', owner: 'ana', known: true } } : {},
      }),
    );
  }
  return { events, alerts };
}

/** The oracle's order of the queue: the sort key, then timestamp, then alertId. */
function expectedOrder(
  alerts: readonly Alert[],
  sort: 'timestamp' | 'severity' | 'riskScore',
  order: 'asc' | 'desc',
) {
  const key = (alert: Alert): Array<number | string> => {
    const ts = Date.parse(alert.timestamp);
    if (sort === 'severity') return [severityRank(alert.severity), ts, alert.alertId];
    if (sort === 'riskScore') return [alert.riskScore, ts, alert.alertId];
    return [ts, alert.alertId];
  };
  const sign = order === 'asc' ? 1 : -1;
  return [...alerts]
    .sort((a, b) => {
      const [ka, kb] = [key(a), key(b)];
      for (let index = 0; index < ka.length; index++) {
        if (ka[index]! < kb[index]!) return -sign;
        if (ka[index]! > kb[index]!) return sign;
      }
      return 0;
    })
    .map((alert) => alert.alertId);
}

describe('console stores answer alike (SQLite and real Elasticsearch)', () => {
  const prefix = uniqueIndexPrefix('console');
  const deadLetters = new MemoryDeadLetterWriter();
  const { events, alerts } = dataset();
  let directory: string;
  let client: Client;
  let router: SinkRouter;
  let stores: ConsoleStore[];
  const states = new Map<string, WorkflowState['status']>();

  /** Asks both stores, asserts they agree, returns the answer. */
  async function both<T>(ask: (store: ConsoleStore) => Promise<T>): Promise<T> {
    const [sqlite, elasticsearch] = await Promise.all(stores.map(ask));
    expect(elasticsearch).toEqual(sqlite);
    return sqlite as T;
  }

  /** Every page of a query; each page also asked as the queue page asks it, with its count. */
  async function allPages(store: ConsoleStore, input: AlertQueryInput): Promise<AlertRecord[]> {
    const records: AlertRecord[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 100; pages++) {
      const query = AlertQuerySchema.parse({ ...input, cursor });
      const page = await store.listAlerts(query);
      expect(await store.listCountedAlerts(query)).toEqual({
        ...page,
        matching: await store.countAlerts(query.filter),
      });
      records.push(...page.items);
      cursor = page.nextCursor;
      if (!cursor) return records;
    }
    throw new Error('paging did not end');
  }

  const idsOf = async (input: AlertQueryInput) =>
    both(async (store) => (await allPages(store, input)).map((record) => record.alert.alertId));

  beforeAll(async () => {
    const node = requireElasticsearchUrl();
    directory = await mkdtemp(join(tmpdir(), 'edr-console-contract-'));
    const path = join(directory, 'console.db');
    client = createElasticsearchClient(ElasticsearchSinkConfigSchema.parse({ type: 'elasticsearch', node }));
    router = createSinkRouter(
      SinksConfigSchema.parse({
        sinks: [
          { type: 'sqlite', path },
          { type: 'elasticsearch', node, indexPrefix: prefix, refresh: true, templates: { replicas: 0 } },
        ],
      }),
      { deadLetters, elasticsearchClient: client },
    );
    await router.start();
    const clock = () => FIXED_NOW;
    stores = [
      createConsoleStore(ConsoleStoreConfigSchema.parse({ type: 'sqlite', path, pollIntervalMs: 100 }), {
        clock,
      }),
      createConsoleStore(
        ConsoleStoreConfigSchema.parse({
          type: 'elasticsearch',
          node,
          indexPrefix: prefix,
          replicas: 0,
          pollIntervalMs: 200,
          maxScanAlerts: 100,
        }),
        { clock, elasticsearchClient: client },
      ),
    ];
    for (const store of stores) await store.start();
  });

  afterAll(async () => {
    for (const store of stores ?? []) await store.close();
    await router?.close();
    if (client) {
      await dropIndexPrefix(client, prefix);
      await client.close();
    }
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  it('stores every item once through both sinks; a redelivery is counted as duplicates by id', async () => {
    const first = await router.deliver({ events, alerts });
    const again = await router.deliver({ events: [...events].reverse(), alerts });
    const total = events.length + alerts.length;
    expect(first.routes.sqlite).toEqual({ written: total, duplicates: 0, deadLettered: 0 });
    expect(first.routes.elasticsearch).toEqual({ written: total, duplicates: 0, deadLettered: 0 });
    expect(again.routes.sqlite).toEqual({ written: 0, duplicates: total, deadLettered: 0 });
    expect(again.routes.elasticsearch).toEqual({ written: 0, duplicates: total, deadLettered: 0 });
    expect(deadLetters.letters).toEqual([]);
    const listed = await idsOf({ limit: 500 });
    expect(listed.sort()).toEqual(alerts.map((alert) => alert.alertId).sort());
  });

  it.each([
    ['timestamp', 'desc'],
    ['timestamp', 'asc'],
    ['severity', 'desc'],
    ['severity', 'asc'],
    ['riskScore', 'asc'],
  ] as const)('pages the queue by %s %s with keyset cursors, in the oracle order', async (sort, order) => {
    expect(await idsOf({ sort, order, limit: 7 })).toEqual(expectedOrder(alerts, sort, order));
  });

  it.each<[string, AlertFilter, (alert: Alert) => boolean]>([
    [
      'severity',
      { severity: ['high', 'critical'] },
      (a) => a.severity === 'high' || a.severity === 'critical',
    ],
    ['rule', { ruleId: ['shell-spawn'] }, (a) => a.ruleId === 'shell-spawn'],
    [
      'agent and session',
      { agentId: ['agent-2'], sessionId: ['sess-2-1'] },
      (a) => a.sessionId === 'sess-2-1',
    ],
    [
      'time range',
      { from: at(5_120), to: at(5_600) },
      (a) => a.timestamp >= at(5_120) && a.timestamp < at(5_600),
    ],
    [
      'text in a rule id or tag, any case',
      { text: 'EXFIL' },
      (a) => a.ruleId.includes('exfil') || a.tags.some((tag) => tag.includes('exfil')),
    ],
    ['text in the summary', { text: 'evil.example' }, (a) => a.summary.includes('evil.example')],
    [
      'two words',
      { text: 'shell evil.example' },
      (a) => a.ruleName.toLowerCase().includes('shell') && a.summary.includes('evil.example'),
    ],
    ['a short word', { text: 'ss' }, (a) => a.ruleId.includes('ss') || a.summary.includes('ss')],
    [
      'a whole agent id',
      { text: 'agent-2' },
      (a) => a.agentId === 'agent-2' || a.summary.includes('agent-2'),
    ],
    ['a whole session id, not part of one', { text: 'sess-2' }, () => false],
    ['a whole alert id', { text: 'ALERT_ID' }, (a) => a === alerts[3]],
    ['LIKE and glob characters taken literally', { text: '%' }, () => false],
    ['a wildcard taken literally', { text: 'ev*' }, () => false],
    ['quotes taken literally', { text: '"evil"' }, () => false],
    ['FTS query syntax taken literally', { text: 'NEAR(evil example) OR' }, () => false],
    ['an SQL-looking rule id as a value', { ruleId: ["shell-spawn' OR '1'='1"] }, () => false],
  ])('filters by %s', async (_name, input, matches) => {
    const filter = input.text === 'ALERT_ID' ? { text: alerts[3]!.alertId } : input;
    const expected = expectedOrder(alerts.filter(matches), 'timestamp', 'desc');
    expect(await idsOf({ filter, limit: 4 })).toEqual(expected);
    expect(await both((store) => store.countAlerts(filter))).toBe(expected.length);
    // The live feed's in-memory test agrees with the stores.
    const inMemory = alerts.filter((alert) => matchesAlertFilter({ alert, workflow: OPEN_STATE }, filter));
    expect(expectedOrder(inMemory, 'timestamp', 'desc')).toEqual(expected);
  });

  it('refuses a cursor made for another sort', async () => {
    const page = await stores[0]!.listAlerts(AlertQuerySchema.parse({ limit: 2 }));
    for (const store of stores) {
      await expect(
        store.listAlerts(AlertQuerySchema.parse({ sort: 'severity', cursor: page.nextCursor })),
      ).rejects.toThrow(/cursor/);
      await expect(store.listAlerts(AlertQuerySchema.parse({ cursor: 'bm90IGEgY3Vyc29y' }))).rejects.toThrow(
        /cursor/,
      );
    }
  });

  it('records workflow changes with user and time, and filters on them', async () => {
    const [first, second, third] = expectedOrder(alerts, 'timestamp', 'desc');
    const apply = async (
      alertId: string,
      change: Parameters<ConsoleStore['updateWorkflow']>[1],
      user: string,
    ) => {
      const state = await both((store) => store.updateWorkflow(alertId, change, user));
      if (state) states.set(alertId, state.status);
      return state;
    };
    expect(await apply(first!, { status: 'acknowledged', assignee: 'ana' }, 'ana')).toEqual({
      status: 'acknowledged',
      verdict: null,
      assignee: 'ana',
      updatedAt: new Date(FIXED_NOW).toISOString(),
      updatedBy: 'ana',
    });
    await apply(
      first!,
      { status: 'closed', verdict: 'false_positive', note: 'test run of the red team' },
      'ana',
    );
    await apply(second!, { assignee: 'bob' }, 'lead');
    await apply(third!, { status: 'acknowledged' }, 'bob');
    expect(
      await both((store) => store.updateWorkflow('no-such-alert', { status: 'closed' }, 'ana')),
    ).toBeNull();

    const detail = await both((store) => store.alertDetail(first!));
    expect(detail?.history.map((entry) => [entry.user, entry.fromStatus, entry.toStatus])).toEqual([
      ['ana', 'open', 'acknowledged'],
      ['ana', 'acknowledged', 'closed'],
    ]);
    expect(detail?.history[1]?.change.note).toBe('test run of the red team');

    const cases: Array<[AlertFilter, string[]]> = [
      [{ status: ['closed'] }, [first!]],
      [{ status: ['acknowledged', 'closed'] }, [first!, third!]],
      [{ verdict: ['false_positive'] }, [first!]],
      [{ assignee: ['bob'] }, [second!]],
      [{ assignee: ['ana'], status: ['closed'] }, [first!]],
    ];
    for (const [filter, expected] of cases) {
      expect(await idsOf({ filter, limit: 2 })).toEqual(expected);
      expect(await both((store) => store.countAlerts(filter))).toBe(expected.length);
    }
    const open = expectedOrder(alerts, 'timestamp', 'desc').filter((id) => id !== first && id !== third);
    expect(await idsOf({ filter: { status: ['open'] }, limit: 6 })).toEqual(open);
    expect(await both((store) => store.countAlerts({ status: ['open'] }))).toBe(open.length);
    const unassigned = expectedOrder(alerts, 'timestamp', 'desc').filter(
      (id) => id !== first && id !== second,
    );
    expect(await idsOf({ filter: { unassigned: true }, limit: 6 })).toEqual(unassigned);
    expect(await idsOf({ filter: { unassigned: true, assignee: ['bob'] }, limit: 6 })).toEqual(
      expectedOrder(alerts, 'timestamp', 'desc').filter((id) => id !== first),
    );
  });

  it('applies a bulk change to every alert a filter selects, one history entry each', async () => {
    const filter: AlertFilter = { ruleId: ['mcp-tool-abuse'], status: ['open'] };
    const selected = await idsOf({ filter, limit: 500 });
    expect(selected.length).toBeGreaterThan(0);
    expect(
      await both((store) =>
        store.bulkUpdateWorkflow(filter, { status: 'acknowledged', assignee: 'lead' }, 'lead'),
      ),
    ).toEqual({
      updated: selected.length,
      truncated: false,
    });
    expect(await idsOf({ filter: { ruleId: ['mcp-tool-abuse'], assignee: ['lead'] }, limit: 3 })).toEqual(
      selected,
    );
    const detail = await both((store) => store.alertDetail(selected[0]!));
    expect(detail?.history).toHaveLength(1);
  });

  it('shows an alert with its contributing events in full, actions and history', async () => {
    const alert = alerts[4]!;
    const detail = await both((store) => store.alertDetail(alert.alertId));
    expect(detail?.alert).toEqual(alert);
    expect(detail?.events).toEqual(alert.eventIds.map((id) => events.find((event) => event.eventId === id)));
    expect(detail?.missingEventIds).toEqual([]);
    expect(detail?.actions.map((action) => [action.origin, action.action, action.status])).toEqual(
      alert.actions.map((action) => ['rule', action, 'requested']),
    );
    expect(await both((store) => store.alertDetail('no-such-alert'))).toBeNull();
  });

  it('records a manual action once per idempotency key and updates its delivery status', async () => {
    const alertId = alerts[5]!.alertId;
    const action = {
      alertId,
      action: 'terminate_session' as const,
      user: 'rita',
      idempotencyKey: uniqueId('key'),
    };
    const recorded = await both((store) => store.recordResponseAction({ ...action, status: 'pending' }));
    expect(recorded).toMatchObject({ origin: 'manual', user: 'rita', status: 'pending' });
    expect(
      await both((store) => store.recordResponseAction({ ...action, user: 'mallory', status: 'pending' })),
    ).toEqual(recorded);
    expect(
      await both((store) => store.updateResponseAction(action.idempotencyKey, 'delivered', 'HTTP 204')),
    ).toMatchObject({ status: 'delivered', detail: 'HTTP 204' });
    const detail = await both((store) => store.alertDetail(alertId));
    expect(detail?.actions.filter((record) => record.origin === 'manual')).toHaveLength(1);
    expect(
      await both((store) =>
        store.recordResponseAction({ ...action, alertId: 'no-such-alert', status: 'pending' }),
      ),
    ).toBeNull();
  });

  it('lays out a session in event-time order, each event with the alerts that include it', async () => {
    const sessionEvents = events
      .filter((event) => event.sessionId === 'sess-1-1')
      .sort((a, b) => a.timestamp.localeCompare(b.timestamp) || a.eventId.localeCompare(b.eventId));
    const pages = await both(async (store) => {
      const items = [];
      let cursor: string | undefined;
      do {
        const page = await store.sessionTimeline(
          TimelineQuerySchema.parse({ agentId: 'agent-1', sessionId: 'sess-1-1', limit: 3, cursor }),
        );
        items.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      return items;
    });
    expect(pages.map((item) => item.event)).toEqual(sessionEvents);
    for (const item of pages) {
      const including = alerts.filter((alert) => alert.eventIds.includes(item.event.eventId));
      expect(item.alertIds).toEqual(including.map((alert) => alert.alertId).sort());
    }
    const reads = await both((store) =>
      store.sessionTimeline(
        TimelineQuerySchema.parse({ agentId: 'agent-1', sessionId: 'sess-1-1', eventTypes: ['file_read'] }),
      ),
    );
    expect(reads.items.map((item) => item.event.eventType)).toEqual(['file_read', 'file_read']);
  });

  it('summarizes an agent: sessions, risk over time, alerts and inventory record', async () => {
    const series = { from: at(4_800), to: at(7_200), bucketMs: 600_000 };
    const page = await both((store) => store.agentOverview({ agentId: 'agent-1', series, limit: 100 }));
    expect(page.sessions.map((session) => [session.sessionId, session.eventCount])).toEqual([
      ['sess-1-2', 8],
      ['sess-1-1', 8],
    ]);
    const own = alerts.filter((alert) => alert.agentId === 'agent-1');
    expect(page.alerts.map((record) => record.alert.alertId)).toEqual(
      expectedOrder(own, 'timestamp', 'desc'),
    );
    expect(page.risk.reduce((sum, point) => sum + point.alertCount, 0)).toBe(own.length);
    expect(Math.max(...page.risk.map((point) => point.maxRiskScore))).toBe(
      Math.max(...own.map((a) => a.riskScore)),
    );
    expect(page.inventory).toMatchObject({ owner: 'ana' });
  });

  it('counts each rule’s hits per bucket with its last firing', async () => {
    const stats = await both((store) =>
      store.ruleStats({ from: at(4_800), to: at(7_200), bucketMs: 600_000 }),
    );
    expect(stats.map((rule) => [rule.ruleId, rule.total]).sort()).toEqual(
      RULES.map((rule) => [
        rule.ruleId,
        alerts.filter((alert) => alert.ruleId === rule.ruleId).length,
      ]).sort(),
    );
    for (const rule of stats) {
      const last = alerts
        .filter((alert) => alert.ruleId === rule.ruleId)
        .map((alert) => alert.timestamp)
        .sort()
        .at(-1);
      expect(rule.lastFired).toBe(last);
    }
  });

  it('shows what the processor reports: suppressed alerts per rule in range, automated webhook outcomes', async () => {
    const [exfiltration, shell] = RULES.map((rule) => rule.ruleId);
    const counts = (id: string, ruleId: string, second: number, suppressed: number): Report => ({
      kind: 'rule_counts',
      id,
      ruleId: ruleId!,
      partition: '0',
      at: at(second),
      alerts: 1,
      suppressed,
    });
    const alert = alerts[7]!;
    const [action, untouched] = alert.actions;
    const delivery = (sink: string, second: number, outcome: Partial<ActionDeliveryReport>): Report => ({
      kind: 'action_delivery',
      alertId: alert.alertId,
      action: action!,
      sink,
      status: 'delivered',
      attempts: 1,
      httpStatus: 204,
      detail: null,
      at: at(second),
      ...outcome,
    });
    const reports: Report[] = [
      counts('p1:0:1:a', exfiltration!, 5_000, 3),
      counts('p1:0:2:a', exfiltration!, 6_000, 4),
      // After the range: not counted.
      counts('p1:0:3:a', exfiltration!, 7_200, 100),
      counts('p1:0:2:b', shell!, 6_000, 0),
      delivery(`hooks.${action}`, 5_500, { status: 'failed', attempts: 2, httpStatus: 503, detail: 'x' }),
      delivery(`backup.${action}`, 5_600, {
        status: 'failed',
        attempts: 3,
        httpStatus: 500,
        detail: 'dead-lettered (retries_exhausted): retries exhausted after 3 attempts: HTTP 500',
      }),
      // The later report of the same route replaces the earlier.
      delivery(`hooks.${action}`, 5_700, {}),
    ];
    await router.report(reports);
    // Written again (a retry after a partial failure): each report is stored once.
    await router.report(reports.slice(0, 2));
    expect(router.reportStats().map((queue) => queue.pending)).toEqual([0, 0]);
    const stats = await both((store) =>
      store.ruleStats({ from: at(4_800), to: at(7_200), bucketMs: 600_000 }),
    );
    const suppressed = Object.fromEntries(stats.map((rule) => [rule.ruleId, rule.suppressed]));
    expect(suppressed).toEqual(
      Object.fromEntries(RULES.map((rule) => [rule.ruleId, rule.ruleId === exfiltration ? 7 : 0])),
    );
    const detail = await both((store) => store.alertDetail(alert.alertId));
    const rule = detail?.actions.filter((record) => record.origin === 'rule');
    expect(rule?.map((record) => [record.action, record.status, record.attempts, record.httpStatus])).toEqual(
      [
        [action, 'failed', 3, 500],
        [action, 'delivered', 1, 204],
        [untouched, 'requested', null, null],
      ],
    );
    expect(rule?.[0]).toMatchObject({
      detail: `backup.${action}: dead-lettered (retries_exhausted): retries exhausted after 3 attempts: HTTP 500`,
      updatedAt: at(5_600),
      requestedAt: alert.detectedAt,
    });
    expect(rule?.[1]).toMatchObject({ detail: `hooks.${action}: HTTP 204`, updatedAt: at(5_700) });
  });

  it('hands a newly stored alert to live subscribers', async () => {
    const received = stores.map(() => [] as string[]);
    const stops = stores.map((store, index) =>
      store.subscribeAlerts((record) => received[index]!.push(record.alert.alertId)),
    );
    const fresh = makeAlert({ timestamp: at(9_000), detectedAt: at(9_001) });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await router.deliver({ alerts: [fresh] });
    const deadline = Date.now() + 10_000;
    while (received.some((ids) => !ids.includes(fresh.alertId)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const stop of stops) stop();
    expect(received).toEqual([[fresh.alertId], [fresh.alertId]]);
  });

  it('keeps a single edit made while a bulk change is under way (Elasticsearch writes each conditionally)', async () => {
    const elasticsearch = stores[1]!;
    const filter: AlertFilter = { ruleId: ['shell-spawn'] };
    const selected = (await allPages(elasticsearch, { filter, limit: 500 })).map(
      ({ alert }) => alert.alertId,
    );
    const target = selected[0]!;
    // A client whose first bulk request waits for a single edit of one selected alert: the edit lands after
    // the bulk change read the workflow documents and before it writes them.
    const racing = createElasticsearchClient(
      ElasticsearchSinkConfigSchema.parse({ type: 'elasticsearch', node: requireElasticsearchUrl() }),
    );
    const bulk = racing.bulk.bind(racing);
    let raced = false;
    racing.bulk = (async (...args: Parameters<typeof bulk>) => {
      if (!raced) {
        raced = true;
        await elasticsearch.updateWorkflow(target, { assignee: 'carol', note: 'mine' }, 'carol');
      }
      return bulk(...args);
    }) as typeof racing.bulk;
    const bulkStore = createConsoleStore(
      ConsoleStoreConfigSchema.parse({
        type: 'elasticsearch',
        node: requireElasticsearchUrl(),
        indexPrefix: prefix,
      }),
      { clock: () => FIXED_NOW + 60_000, elasticsearchClient: racing },
    );
    try {
      expect(
        await bulkStore.bulkUpdateWorkflow(filter, { status: 'closed', verdict: 'benign' }, 'lead'),
      ).toEqual({
        updated: selected.length,
        truncated: false,
      });
    } finally {
      await bulkStore.close();
      await racing.close();
    }
    expect(raced).toBe(true);
    const detail = await elasticsearch.alertDetail(target);
    expect(detail?.workflow).toMatchObject({
      status: 'closed',
      verdict: 'benign',
      assignee: 'carol',
      updatedBy: 'lead',
    });
    expect(detail?.history.slice(-2).map((entry) => [entry.user, entry.change])).toEqual([
      ['carol', { assignee: 'carol', note: 'mine' }],
      ['lead', { status: 'closed', verdict: 'benign' }],
    ]);
    const closed = await allPages(elasticsearch, { filter: { ...filter, status: ['closed'] }, limit: 500 });
    expect(closed.map(({ alert }) => alert.alertId)).toEqual(selected);
  });
});
