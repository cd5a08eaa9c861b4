import type { HttpRequest, HttpResponse } from '../shared/http.ts';
import { classifyHttpStatus } from '../shared/http-verdict.ts';
import { jsonOf, type TicketApi, type TicketRef } from './api.ts';
import type { RequestTemplate, TemplateTarget } from './config.ts';
import { clip, policySuggestionYaml, type TicketContent } from './content.ts';
import { markdownBody } from './markdown.ts';

/**
 * Placeholders a template may use. `{{name}}` inside a longer string is replaced by the value as text; a
 * string that is only `{{name}}` takes the value with its JSON type (numbers, lists). The body is a JSON
 * value: placeholders are filled in the parsed value and the result serialized, so no alert text can break
 * out of its string. In the URL each value is percent-encoded. Headers take no placeholders.
 */
export const TEMPLATE_PLACEHOLDERS = [
  'alertId',
  'ruleId',
  'ruleName',
  'ruleType',
  'severity',
  'riskScore',
  'agentId',
  'sessionId',
  'groupKey',
  'timestamp',
  'detectedAt',
  'eventCount',
  'eventIds',
  'tags',
  'actions',
  'summary',
  'title',
  'markdown',
  'policySuggestion',
  'group.hash',
  'group.label',
  'ticket.id',
] as const;
type Placeholder = (typeof TEMPLATE_PLACEHOLDERS)[number];
type Value = string | number | string[];

const PLACEHOLDER = /\{\{\s*([A-Za-z.]+)\s*\}\}/g;
const WHOLE = /^\{\{\s*([A-Za-z.]+)\s*\}\}$/;

function isPlaceholder(name: string): name is Placeholder {
  return (TEMPLATE_PLACEHOLDERS as readonly string[]).includes(name);
}

/** What is wrong with a request template, checked when the config loads. */
export function templateProblems(template: RequestTemplate, isComment: boolean): string[] {
  const problems: string[] = [];
  const used = [...strings(template.body), template.url].flatMap((text) =>
    Array.from(text.matchAll(PLACEHOLDER), (match) => match[1]!),
  );
  for (const name of new Set(used)) {
    if (!isPlaceholder(name)) problems.push(`unknown placeholder {{${name}}}`);
    else if (name === 'ticket.id' && !isComment) problems.push('{{ticket.id}} exists only in the comment');
  }
  for (const [header, value] of Object.entries({ ...template.headers, ...template.secretHeaders })) {
    if (PLACEHOLDER.test(value) || PLACEHOLDER.test(header))
      problems.push(`header ${header}: no placeholders`);
    PLACEHOLDER.lastIndex = 0;
  }
  try {
    new URL(template.url.replace(PLACEHOLDER, 'x'));
  } catch {
    problems.push(`url ${JSON.stringify(template.url)} is not a URL`);
  }
  return problems;
}

/** Header values read from the environment, by header name (an unset variable is a config error). */
export type ResolvedHeaders = Readonly<Record<string, string>>;

export function templateApi(
  target: TemplateTarget,
  secrets: { create: ResolvedHeaders; comment: ResolvedHeaders },
  maxFieldChars: number,
): TicketApi {
  return {
    lookupSettleMs: 0,
    mutationIntervalMs: 0,
    create(content: TicketContent): HttpRequest {
      const vars = variables(content, maxFieldChars, undefined);
      return render(target.create, secrets.create, vars, `edr-ticket-${content.group.hash}`);
    },
    parseCreated(response: HttpResponse): TicketRef | undefined {
      const id = pointer(jsonOf(response), target.ticketIdPointer);
      if (typeof id !== 'string' && typeof id !== 'number') return undefined;
      return { id: String(id), url: '' };
    },
    comment(ticket: TicketRef, content: TicketContent): HttpRequest | undefined {
      if (!target.comment) return undefined;
      const vars = variables(content, maxFieldChars, ticket);
      return render(target.comment, secrets.comment, vars, `edr-comment-${content.marker.split(' ').pop()}`);
    },
    classify: classifyHttpStatus,
  };
}

function render(
  template: RequestTemplate,
  secrets: ResolvedHeaders,
  vars: ReadonlyMap<string, Value>,
  idempotencyKey: string,
): HttpRequest {
  const text = (value: Value) => (Array.isArray(value) ? value.join(', ') : String(value));
  const url = template.url.replace(PLACEHOLDER, (_, name: string) =>
    encodeURIComponent(text(vars.get(name) ?? '')),
  );
  const fill = (value: unknown): unknown => {
    if (typeof value === 'string') {
      const whole = WHOLE.exec(value);
      if (whole) return vars.get(whole[1]!) ?? '';
      return value.replace(PLACEHOLDER, (_, name: string) => text(vars.get(name) ?? ''));
    }
    if (Array.isArray(value)) return value.map(fill);
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([key, each]) => [key, fill(each)]));
    }
    return value;
  };
  const headers = Object.fromEntries(
    Object.entries({ ...template.headers, ...secrets }).map(([key, value]) => [key.toLowerCase(), value]),
  );
  return {
    url,
    method: template.method,
    headers: {
      ...headers,
      'content-type': 'application/json',
      'user-agent': 'clawdstrike-edr',
      'idempotency-key': idempotencyKey,
    },
    body: JSON.stringify(fill(template.body)),
  };
}

function variables(
  content: TicketContent,
  maxFieldChars: number,
  ticket: TicketRef | undefined,
): Map<string, Value> {
  const { alert } = content;
  const field = (value: string) => clip(value, maxFieldChars);
  const list = (values: readonly string[]) => values.map(field);
  const entries: Array<[Placeholder, Value]> = [
    ['alertId', field(alert.alertId)],
    ['ruleId', field(alert.ruleId)],
    ['ruleName', field(alert.ruleName)],
    ['ruleType', alert.ruleType],
    ['severity', alert.severity],
    ['riskScore', alert.riskScore],
    ['agentId', field(alert.agentId)],
    ['sessionId', field(alert.sessionId)],
    ['groupKey', field(alert.groupKey)],
    ['timestamp', alert.timestamp],
    ['detectedAt', alert.detectedAt],
    ['eventCount', alert.eventCount],
    ['eventIds', list(alert.eventIds)],
    ['tags', list(alert.tags)],
    ['actions', [...alert.actions]],
    ['summary', field(alert.summary)],
    ['title', content.title],
    [
      'markdown',
      markdownBody(content, ticket ? 'Another alert of this group.' : 'Opened by clawdstrike-edr.'),
    ],
    ['policySuggestion', policySuggestionYaml(alert) ?? ''],
    ['group.hash', content.group.hash],
    ['group.label', content.group.label],
  ];
  if (ticket) entries.push(['ticket.id', ticket.id]);
  return new Map(entries);
}

function* strings(value: unknown): Generator<string> {
  if (typeof value === 'string') yield value;
  else if (Array.isArray(value)) for (const each of value) yield* strings(each);
  else if (typeof value === 'object' && value !== null) {
    for (const each of Object.values(value)) yield* strings(each);
  }
}

/** RFC 6901 JSON pointer lookup. */
function pointer(document: unknown, path: string): unknown {
  let current = document;
  for (const raw of path.split('/').slice(1)) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
