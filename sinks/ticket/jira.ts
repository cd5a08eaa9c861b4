import type { HttpRequest, HttpResponse } from '../shared/http.ts';
import { adfDocument, firstParagraphText } from './adf.ts';
import {
  type CommentPage,
  type FoundTicket,
  isRecord,
  jsonOf,
  type TicketApi,
  type TicketRef,
} from './api.ts';
import type { JiraTarget } from './config.ts';
import type { TicketContent } from './content.ts';
import type { TicketGroup } from './group.ts';
import { classifyJiraResponse } from './retry.ts';
import type { Secret } from './secret.ts';

const PAGE_SIZE = 100;

/**
 * Jira Cloud REST v3: create an issue (`POST /rest/api/3/issue`, description in ADF), comment on it
 * (`POST /rest/api/3/issue/{key}/comment`, ADF body), find a group's issue by label with JQL
 * (`POST /rest/api/3/search/jql`) and read its comments. Basic auth with the account email and an API token.
 */
export function jiraApi(target: JiraTarget, token: Secret): TicketApi {
  const site = target.baseUrl.replace(/\/+$/, '');
  const api = `${site}/rest/api/3`;
  const headers = (): Record<string, string> => ({
    accept: 'application/json',
    authorization: `Basic ${Buffer.from(`${target.email}:${token.reveal()}`).toString('base64')}`,
    'user-agent': 'clawdstrike-edr',
  });
  const post = (url: string, payload: unknown): HttpRequest => ({
    url,
    method: 'POST',
    headers: { ...headers(), 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  const ref = (key: string): TicketRef => ({ id: key, url: `${site}/browse/${key}` });
  return {
    lookupSettleMs: target.lookupSettleMs,
    mutationIntervalMs: 0,
    find(group: TicketGroup): HttpRequest {
      // Project keys and our labels are plain tokens (config schema, group hash): nothing to escape in JQL.
      return post(`${api}/search/jql`, {
        jql: `project = "${target.projectKey}" AND labels = "${group.label}" ORDER BY created ASC`,
        fields: ['description'],
        maxResults: 10,
      });
    },
    parseFound(response: HttpResponse): FoundTicket | undefined {
      const result = jsonOf(response);
      const issues = isRecord(result) && Array.isArray(result.issues) ? result.issues : [];
      const issue = issues.find((each) => isRecord(each) && typeof each.key === 'string');
      if (!isRecord(issue) || typeof issue.key !== 'string') return undefined;
      const fields = isRecord(issue.fields) ? issue.fields : {};
      return { ticket: ref(issue.key), openedBy: markerIn(firstParagraphText(fields.description)) };
    },
    comments(ticket: TicketRef, page: number): HttpRequest {
      const query = new URLSearchParams({
        startAt: String(page * PAGE_SIZE),
        maxResults: String(PAGE_SIZE),
        orderBy: 'created',
      });
      return { url: `${api}/issue/${ticket.id}/comment?${query}`, method: 'GET', headers: headers() };
    },
    parseComments(response: HttpResponse, page: number): CommentPage {
      const result = jsonOf(response);
      if (!isRecord(result) || !Array.isArray(result.comments)) return { markers: [] };
      const markers = result.comments.flatMap((comment) => {
        const marker = isRecord(comment) ? markerIn(firstParagraphText(comment.body)) : undefined;
        return marker ? [marker] : [];
      });
      const total = typeof result.total === 'number' ? result.total : 0;
      return (page + 1) * PAGE_SIZE < total ? { markers, next: page + 1 } : { markers };
    },
    create(content: TicketContent): HttpRequest {
      return post(`${api}/issue`, {
        fields: {
          project: { key: target.projectKey },
          issuetype: { name: target.issueType },
          summary: content.title,
          labels: [...new Set([...target.labels, content.group.label])],
          description: adfDocument(content, 'Opened by clawdstrike-edr for a detection.'),
        },
      });
    },
    parseCreated(response: HttpResponse): TicketRef | undefined {
      const created = jsonOf(response);
      return isRecord(created) && typeof created.key === 'string' ? ref(created.key) : undefined;
    },
    comment(ticket: TicketRef, content: TicketContent): HttpRequest {
      return post(`${api}/issue/${ticket.id}/comment`, {
        body: adfDocument(content, 'Another alert of this group.'),
      });
    },
    classify: classifyJiraResponse,
  };
}

function markerIn(text: string | undefined): string | undefined {
  return text !== undefined && /^clawdstrike-edr alert \S+$/.test(text) ? text : undefined;
}
