import type { HttpRequest, HttpResponse } from '../shared/http.ts';
import {
  type CommentPage,
  type FoundTicket,
  isRecord,
  jsonOf,
  type TicketApi,
  type TicketRef,
} from './api.ts';
import type { GithubTarget } from './config.ts';
import type { TicketContent } from './content.ts';
import type { TicketGroup } from './group.ts';
import { markdownBody } from './markdown.ts';
import { classifyGithubResponse } from './retry.ts';
import type { Secret } from './secret.ts';

/** GitHub's REST API version these requests follow (the X-GitHub-Api-Version header). */
export const GITHUB_API_VERSION = '2022-11-28';
const PAGE_SIZE = 100;

/**
 * GitHub Issues REST: create an issue (`POST /repos/{owner}/{repo}/issues`), comment on it
 * (`POST .../issues/{number}/comments`), find a group's issue by its label (`GET .../issues?labels=`,
 * state all, oldest first) and read an issue's comments.
 */
export function githubApi(target: GithubTarget, token: Secret): TicketApi {
  const repo = `${target.apiUrl.replace(/\/+$/, '')}/repos/${target.owner}/${target.repo}`;
  const headers = (): Record<string, string> => ({
    accept: 'application/vnd.github+json',
    authorization: `Bearer ${token.reveal()}`,
    'x-github-api-version': GITHUB_API_VERSION,
    'user-agent': 'clawdstrike-edr',
  });
  const post = (url: string, payload: unknown): HttpRequest => ({
    url,
    method: 'POST',
    headers: { ...headers(), 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  return {
    lookupSettleMs: target.lookupSettleMs,
    mutationIntervalMs: target.mutationIntervalMs,
    find(group: TicketGroup): HttpRequest {
      const query = new URLSearchParams({
        labels: group.label,
        state: 'all',
        sort: 'created',
        direction: 'asc',
        per_page: '10',
      });
      return { url: `${repo}/issues?${query}`, method: 'GET', headers: headers() };
    },
    parseFound(response: HttpResponse): FoundTicket | undefined {
      const issues = jsonOf(response);
      if (!Array.isArray(issues)) return undefined;
      // The issues endpoint lists pull requests too; ours are issues.
      const issue = issues.find((each) => isRecord(each) && !('pull_request' in each));
      const ticket = isRecord(issue) ? issueRef(issue) : undefined;
      if (!ticket || !isRecord(issue)) return undefined;
      return { ticket, openedBy: markerOf(issue.body) };
    },
    comments(ticket: TicketRef, page: number): HttpRequest {
      const query = new URLSearchParams({ per_page: String(PAGE_SIZE), page: String(page + 1) });
      return { url: `${repo}/issues/${ticket.id}/comments?${query}`, method: 'GET', headers: headers() };
    },
    parseComments(response: HttpResponse, page: number): CommentPage {
      const comments = jsonOf(response);
      if (!Array.isArray(comments)) return { markers: [] };
      const markers = comments.flatMap((comment) => {
        const marker = isRecord(comment) ? markerOf(comment.body) : undefined;
        return marker ? [marker] : [];
      });
      return comments.length === PAGE_SIZE ? { markers, next: page + 1 } : { markers };
    },
    create(content: TicketContent): HttpRequest {
      return post(`${repo}/issues`, {
        title: content.title,
        body: markdownBody(content, 'Opened by **clawdstrike-edr** for a detection.'),
        labels: [...new Set([...target.labels, content.group.label])],
      });
    },
    parseCreated(response: HttpResponse): TicketRef | undefined {
      const issue = jsonOf(response);
      return isRecord(issue) ? issueRef(issue) : undefined;
    },
    comment(ticket: TicketRef, content: TicketContent): HttpRequest {
      return post(`${repo}/issues/${ticket.id}/comments`, {
        body: markdownBody(content, 'Another alert of this group.'),
      });
    },
    classify: classifyGithubResponse,
  };
}

function issueRef(issue: Record<string, unknown>): TicketRef | undefined {
  const { number, html_url: url } = issue;
  if (typeof number !== 'number' || !Number.isInteger(number) || typeof url !== 'string') return undefined;
  return { id: String(number), url };
}

/** The marker of a body we wrote: its first line, `<!-- clawdstrike-edr alert <id> -->`. */
function markerOf(body: unknown): string | undefined {
  if (typeof body !== 'string') return undefined;
  return /^<!-- (clawdstrike-edr alert \S+) -->(?:\n|$)/.exec(body)?.[1];
}
