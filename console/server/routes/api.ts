import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { EdrError } from '../../../core/errors.ts';
import { ResponseActionSchema } from '../../../core/response-actions.ts';
import {
  AlertFilterSchema,
  ManualActionSchema,
  TimelineQuerySchema,
  type WorkflowChange,
  WorkflowChangeSchema,
} from '../../store/types.ts';
import { isForm } from '../app.ts';
import type { LoginLinks } from '../auth/login-links.ts';
import { principalOf } from '../auth/plugin.ts';
import { RoleSchema } from '../config.ts';
import { href } from '../html.ts';
import { alertFilter, alertQuery, type QueryParams, queueForm } from '../queue-query.ts';
import { field, type RouteDeps } from './shared.ts';

/** Selected alerts one bulk call changes by id (a page of the queue at most). */
const MAX_SELECTED = 500;

function parsed<T extends z.ZodType>(schema: T, input: unknown, what: string): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || what}: ${issue.message}`);
  throw new EdrError('EDR_ERR_BAD_REQUEST', problems.join('; '));
}

/** The workflow form's fields as a change: blank fields are left as they are, `unassign` clears the assignee. */
function formChange(body: unknown): unknown {
  const change: Record<string, unknown> = {};
  const status = field(body, 'status');
  const verdict = field(body, 'verdict');
  const assignee = field(body, 'assignee')?.trim();
  const note = field(body, 'note')?.trim();
  if (status) change.status = status;
  if (verdict) change.verdict = verdict;
  if (field(body, 'unassign')) change.assignee = null;
  else if (assignee) change.assignee = assignee;
  if (note) change.note = note;
  return change;
}

const selectedIds = (body: unknown): string[] => {
  const ids = (body as Record<string, unknown> | undefined)?.ids;
  const list = Array.isArray(ids) ? ids : ids === undefined ? [] : [ids];
  return parsed(z.array(z.string().min(1).max(512)).max(MAX_SELECTED), list, 'ids');
};

const JsonBulkSchema = z.strictObject({
  filter: AlertFilterSchema.optional(),
  ids: z.array(z.string().min(1).max(512)).max(MAX_SELECTED).optional(),
  change: z.unknown(),
});

export const apiRoutes: FastifyPluginAsync<RouteDeps & { links: LoginLinks }> = async (app, deps) => {
  const { store, responder, clock, links } = deps;
  const viewer = { config: { access: 'viewer' as const } };
  const responderOnly = { config: { access: 'responder' as const } };
  const deliveries = new Set<Promise<void>>();
  app.addHook('onClose', async () => {
    await Promise.allSettled([...deliveries]);
  });
  /** A form post goes back to a page; an API call gets JSON. */
  const done = (request: FastifyRequest, reply: FastifyReply, page: string, json: unknown, status = 200) =>
    isForm(request) ? reply.redirect(page, 303) : reply.code(status).send(json);

  app.get<{ Querystring: QueryParams }>('/api/alerts', viewer, async (request) => {
    const cursor = typeof request.query.cursor === 'string' ? request.query.cursor : undefined;
    return store.listAlerts(alertQuery(queueForm(request.query), cursor));
  });

  app.get<{ Params: { id: string } }>('/api/alerts/:id', viewer, async (request) => {
    const detail = await store.alertDetail(request.params.id);
    if (!detail) throw new EdrError('EDR_ERR_NOT_FOUND', 'no such alert');
    return detail;
  });

  app.post<{ Params: { id: string } }>('/api/alerts/:id/workflow', responderOnly, async (request, reply) => {
    const change = parsed(
      WorkflowChangeSchema,
      isForm(request) ? formChange(request.body) : request.body,
      'change',
    );
    const { id } = request.params;
    const workflow = await store.updateWorkflow(id, change, principalOf(request).user);
    if (!workflow) throw new EdrError('EDR_ERR_NOT_FOUND', 'no such alert');
    return done(request, reply, href(['alerts', id]), { workflow });
  });

  app.post<{ Querystring: QueryParams }>('/api/alerts/bulk', responderOnly, async (request, reply) => {
    let change: WorkflowChange;
    let ids: string[];
    let filter = alertFilter(queueForm(request.query));
    if (isForm(request)) {
      change = parsed(WorkflowChangeSchema, formChange(request.body), 'change');
      ids = selectedIds(request.body);
    } else {
      const body = parsed(JsonBulkSchema, request.body, 'body');
      change = parsed(WorkflowChangeSchema, body.change, 'change');
      ids = body.ids ?? [];
      filter = body.filter ?? filter;
    }
    const user = principalOf(request).user;
    let result: { updated: number; truncated: boolean };
    if (ids.length > 0) {
      let updated = 0;
      for (const id of ids) if (await store.updateWorkflow(id, change, user)) updated++;
      result = { updated, truncated: false };
    } else {
      result = await store.bulkUpdateWorkflow(filter, change, user);
    }
    const back = request.url.slice(request.url.indexOf('?') + 1);
    return done(request, reply, request.url.includes('?') ? `/alerts?${back}` : '/alerts', result);
  });

  app.post<{ Params: { id: string } }>('/api/alerts/:id/respond', responderOnly, async (request, reply) => {
    const action = parsed(ResponseActionSchema, field(request.body, 'action'), 'action');
    const user = principalOf(request).user;
    const detail = await store.alertDetail(request.params.id);
    if (!detail) throw new EdrError('EDR_ERR_NOT_FOUND', 'no such alert');
    if (!responder?.actions.includes(action)) throw new EdrError('EDR_ERR_ACTION_UNAVAILABLE', action);
    const { alert } = detail;
    // The webhook sink's own id for this alert and action: what the receiver deduplicates on.
    const idempotencyKey = `${alert.alertId}:${action}`;
    const earlier = detail.actions.find((each) => each.idempotencyKey === idempotencyKey);
    if (earlier && earlier.status !== 'failed') {
      return done(request, reply, href(['alerts', alert.alertId]), { action: earlier, repeated: true });
    }
    const record = earlier
      ? await store.updateResponseAction(idempotencyKey, 'pending', `retried by ${user}`)
      : await store.recordResponseAction(
          ManualActionSchema.parse({ alertId: alert.alertId, action, user, idempotencyKey }),
        );
    if (!record) throw new EdrError('EDR_ERR_NOT_FOUND', 'no such alert');
    const delivery = responder
      .run(alert, action, user, new Date(clock()).toISOString())
      .then((outcome) => store.updateResponseAction(idempotencyKey, outcome.status, outcome.detail))
      .then(
        () => {},
        (error: Error) =>
          request.log.error({ err: error, alertId: alert.alertId, action }, 'manual response failed'),
      )
      .finally(() => deliveries.delete(delivery));
    deliveries.add(delivery);
    return done(request, reply, href(['alerts', alert.alertId]), { action: record, repeated: false }, 202);
  });

  app.get<{ Querystring: QueryParams }>('/api/timeline', viewer, async (request) => {
    const { agent, session, cursor } = request.query;
    return store.sessionTimeline(
      parsed(TimelineQuerySchema, { agentId: agent, sessionId: session, cursor }, 'query'),
    );
  });

  app.post('/api/login-links', { config: { access: 'admin' } }, async (request, reply) => {
    const grant = parsed(
      z.strictObject({
        user: z
          .string()
          .min(1)
          .max(64)
          .regex(/^[A-Za-z0-9._@-]+$/),
        role: RoleSchema,
      }),
      request.body,
      'body',
    );
    const path = `/login?token=${encodeURIComponent(links.issue(grant))}`;
    return reply.code(201).send({ path, expiresInSeconds: deps.settings.loginLinkTtlSeconds });
  });
};
