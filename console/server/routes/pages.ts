import { readFile } from 'node:fs/promises';
import type { FastifyPluginAsync } from 'fastify';
import { EdrError } from '../../../core/errors.ts';
import { type EventType, EventTypeSchema } from '../../../engine/model/index.ts';
import {
  AgentQuerySchema,
  type ConsoleStore,
  type CountedAlertPage,
  TimelineQuerySchema,
} from '../../store/types.ts';
import { href } from '../html.ts';
import { alertQuery, formQuery, type QueryParams, queueForm } from '../queue-query.ts';
import type { RuleInfo } from '../rules.ts';
import { agentPage } from '../views/agent.ts';
import { detailPage } from '../views/detail.ts';
import { queuePage } from '../views/queue.ts';
import { rulesPage } from '../views/rules.ts';
import { timelinePage } from '../views/timeline.ts';
import { HTML, type RouteDeps } from './shared.ts';

const HOUR_MS = 3_600_000;
const DEFAULT_DAYS = 7;
/** A series has at most 1,000 hourly buckets (console/store/types.ts SeriesQuerySchema). */
const MAX_DAYS = 41;

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;
const needed = (value: unknown, name: string): string => {
  const found = text(value);
  if (!found || found.length > 512) throw new EdrError('EDR_ERR_BAD_REQUEST', `${name}: expected an id`);
  return found;
};

/**
 * Charts end at the newest alert (of the agent, or overall), not at the wall clock: replayed or old
 * telemetry still shows. Hour buckets, `days` back.
 */
async function chartRange(store: ConsoleStore, days: unknown, agentId?: string) {
  const newest = await store.listAlerts({
    filter: agentId ? { agentId: [agentId] } : {},
    sort: 'timestamp',
    order: 'desc',
    limit: 1,
  });
  const latest = newest.items[0] ? Date.parse(newest.items[0].alert.timestamp) : Date.now();
  const span = Math.min(MAX_DAYS, Math.max(1, Number(days) || DEFAULT_DAYS)) * 24 * HOUR_MS;
  const to = Math.floor(latest / HOUR_MS) * HOUR_MS + HOUR_MS;
  return { from: new Date(to - span).toISOString(), to: new Date(to).toISOString(), bucketMs: HOUR_MS };
}

export function ruleLink(settings: RouteDeps['settings'], rule: RuleInfo): string {
  if (settings.ruleFileUrl)
    return settings.ruleFileUrl.replace(
      '{file}',
      rule.relativeFile.split('/').map(encodeURIComponent).join('/'),
    );
  return href(['rules', 'file'], { id: rule.id });
}

export const pageRoutes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  const { store, rules, contextOf, settings } = deps;
  const viewer = { config: { access: 'viewer' as const } };
  const context = (request: Parameters<typeof contextOf>[0]) => contextOf(request)!;

  app.get('/', viewer, async (_request, reply) => reply.redirect('/alerts', 303));

  app.get<{ Querystring: QueryParams }>('/alerts', viewer, async (request, reply) => {
    const form = queueForm(request.query);
    const cursor = text(request.query.cursor);
    let error: string | undefined;
    let rows: CountedAlertPage = { items: [], matching: 0 };
    try {
      rows = await store.listCountedAlerts(alertQuery(form, cursor));
    } catch (failure) {
      if (!(failure instanceof EdrError) || failure.code !== 'EDR_ERR_BAD_REQUEST') throw failure;
      error = failure.message;
    }
    const filterQuery = formQuery(form);
    const nextHref = rows.nextCursor
      ? `/alerts?${filterQuery}${filterQuery ? '&' : ''}${new URLSearchParams({ cursor: rows.nextCursor })}`
      : undefined;
    const ruleIds = [...new Set([...rules.keys(), ...form.rule])].sort();
    return reply
      .code(error ? 400 : 200)
      .type(HTML)
      .send(
        queuePage({
          context: context(request),
          form,
          rows: rows.items,
          matching: rows.matching,
          ruleIds,
          filterQuery,
          nextHref,
          ...(error ? { error } : {}),
        }).value,
      );
  });

  app.get<{ Params: { id: string } }>('/alerts/:id', viewer, async (request, reply) => {
    const detail = await store.alertDetail(needed(request.params.id, 'alert'));
    if (!detail) throw new EdrError('EDR_ERR_NOT_FOUND', 'no such alert');
    const page = detailPage({
      context: context(request),
      detail,
      rule: rules.get(detail.alert.ruleId),
      manualActions: deps.responder?.actions ?? [],
    });
    return reply.type(HTML).send(page.value);
  });

  app.get<{ Querystring: QueryParams }>('/timeline', viewer, async (request, reply) => {
    const agentId = needed(request.query.agent, 'agent');
    const sessionId = needed(request.query.session, 'session');
    const focusAlert = text(request.query.alert);
    const types = [request.query.type ?? []].flat();
    const eventTypes: EventType[] = [];
    for (const type of types) {
      const parsed = EventTypeSchema.safeParse(type);
      if (!parsed.success) throw new EdrError('EDR_ERR_BAD_REQUEST', 'type: unknown event type');
      eventTypes.push(parsed.data);
    }
    const cursor = text(request.query.cursor);
    const page = await store.sessionTimeline(
      TimelineQuerySchema.parse({
        agentId,
        sessionId,
        limit: 2_000,
        ...(eventTypes.length ? { eventTypes } : {}),
        ...(cursor ? { cursor } : {}),
      }),
    );
    const next = page.nextCursor
      ? href(['timeline'], {
          agent: agentId,
          session: sessionId,
          alert: focusAlert,
          type: eventTypes,
          cursor: page.nextCursor,
        })
      : undefined;
    const body = timelinePage({
      context: context(request),
      agentId,
      sessionId,
      focusAlert,
      eventTypes,
      events: page.items,
      nextHref: next,
    });
    return reply.type(HTML).send(body.value);
  });

  app.get<{ Querystring: QueryParams }>('/agent', viewer, async (request, reply) => {
    const agentId = needed(request.query.id, 'id');
    const series = await chartRange(store, request.query.days, agentId);
    const agent = await store.agentOverview(AgentQuerySchema.parse({ agentId, series }));
    return reply.type(HTML).send(agentPage({ context: context(request), agent, range: series }).value);
  });

  app.get<{ Querystring: QueryParams }>('/rules', viewer, async (request, reply) => {
    const series = await chartRange(store, request.query.days);
    const stats = await store.ruleStats(series);
    const body = rulesPage({
      context: context(request),
      stats,
      catalog: rules,
      ruleLink: (rule) => ruleLink(settings, rule),
      range: series,
      focus: text(request.query.rule),
    });
    return reply.type(HTML).send(body.value);
  });

  // Only files of loaded rules, found by rule id: the path never comes from the request.
  app.get<{ Querystring: QueryParams }>('/rules/file', viewer, async (request, reply) => {
    const rule = rules.get(needed(request.query.id, 'id'));
    if (!rule) throw new EdrError('EDR_ERR_NOT_FOUND', 'no such rule');
    return reply.type('text/plain; charset=utf-8').send(await readFile(rule.file, 'utf8'));
  });
};
