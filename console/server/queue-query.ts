import { EdrError } from '../../core/errors.ts';
import { type AlertFilter, type AlertQuery, AlertQuerySchema } from '../store/types.ts';
import { href } from './html.ts';
import { type QueueForm, UNASSIGNED } from './views/queue.ts';

export type QueryParams = Readonly<Record<string, string | string[] | undefined>>;

const list = (value: string | string[] | undefined): string[] =>
  (Array.isArray(value) ? value : value === undefined ? [] : [value]).filter((each) => each !== '');
const one = (value: string | string[] | undefined): string => list(value)[0] ?? '';

export function queueForm(query: QueryParams): QueueForm {
  return {
    severity: list(query.severity),
    rule: list(query.rule),
    agent: one(query.agent),
    status: list(query.status),
    assignee: one(query.assignee),
    from: one(query.from),
    to: one(query.to),
    q: one(query.q),
    sort: one(query.sort) || 'timestamp',
    order: one(query.order) || 'desc',
  };
}

/** A `datetime-local` value (no zone: read as UTC) or a full ISO time, as ISO; refused when unreadable. */
function isoTime(text: string, field: string): string | undefined {
  if (text === '') return undefined;
  const zoned = /(Z|[+-]\d\d:\d\d)$/.test(text) ? text : `${text}Z`;
  const ms = Date.parse(zoned);
  if (!Number.isFinite(ms)) throw new EdrError('EDR_ERR_BAD_REQUEST', `${field}: not a time`);
  return new Date(ms).toISOString();
}

export function alertFilter(form: QueueForm): AlertFilter {
  const filter: Record<string, unknown> = {};
  if (form.severity.length) filter.severity = form.severity;
  if (form.rule.length) filter.ruleId = form.rule;
  if (form.agent) filter.agentId = [form.agent];
  if (form.status.length) filter.status = form.status;
  if (form.assignee === UNASSIGNED) filter.unassigned = true;
  else if (form.assignee) filter.assignee = [form.assignee];
  const from = isoTime(form.from, 'from');
  const to = isoTime(form.to, 'to');
  if (from) filter.from = from;
  if (to) filter.to = to;
  if (form.q.trim()) filter.text = form.q;
  return parseQuery({ filter }).filter;
}

export function alertQuery(form: QueueForm, cursor: string | undefined, limit = 50): AlertQuery {
  return parseQuery({
    filter: alertFilter(form),
    sort: form.sort,
    order: form.order,
    limit,
    ...(cursor ? { cursor } : {}),
  });
}

function parseQuery(input: unknown): AlertQuery {
  const parsed = AlertQuerySchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  throw new EdrError('EDR_ERR_BAD_REQUEST', problems.join('; '));
}

/** The form as a query string again (for links, the live feed and the bulk form). */
export function formQuery(form: QueueForm): string {
  const link = href([], {
    severity: form.severity,
    rule: form.rule,
    agent: form.agent,
    status: form.status,
    assignee: form.assignee,
    from: form.from,
    to: form.to,
    q: form.q,
    sort: form.sort === 'timestamp' ? undefined : form.sort,
    order: form.order === 'desc' ? undefined : form.order,
  });
  return link.slice(link.indexOf('?') + 1 || link.length);
}
