import { type RecordedRequest, ScriptedHttpServer, type ScriptedResponse } from './http-server.ts';

/**
 * A GitHub REST API stand-in for the Issues endpoints the ticket sink uses, answering as GitHub documents:
 * - `POST /repos/{owner}/{repo}/issues` {title, body?, labels?, assignees?, milestone?} → 201 with the issue
 *   (`number`, `html_url`, ...); 422 "Validation Failed" for a missing title or a bad field;
 * - `GET /repos/{owner}/{repo}/issues?labels=a,b&state=&sort=&direction=&per_page=&page=` → 200 array;
 * - `POST /repos/{owner}/{repo}/issues/{number}/comments` {body} → 201; `GET` the same path → 200 array;
 * - 401 "Bad credentials" for a token it does not know; every answer carries the `x-ratelimit-*` headers.
 * Requests are checked against the documented shape (Bearer token, `Accept: application/vnd.github+json`,
 * `X-GitHub-Api-Version: 2022-11-28`, a User-Agent, JSON bodies, body at most 65,536 characters); a request
 * that breaks it is refused (400/415/422) and listed in `refusals`, which a passing test expects empty.
 * `failNext` scripts the documented rate-limit and error answers; `holdCreates` records an issue and never
 * answers (a client killed between the create and its checkpoint).
 */

export interface GithubIssue {
  number: number;
  title: string;
  body: string;
  labels: string[];
  state: 'open' | 'closed';
  comments: GithubComment[];
}

export interface GithubComment {
  id: number;
  body: string;
}

export type GithubFailure =
  | 'bad-credentials'
  | 'primary-rate-limit'
  | 'secondary-rate-limit'
  | 'secondary-rate-limit-no-header'
  | 'too-many-requests'
  | 'server-error';

const API_VERSIONS = new Set(['2022-11-28', '2026-03-10']);
const BODY_MAX = 65_536;
const TITLE_MAX = 256;
const LABEL_MAX = 50;
const ISSUE_FIELDS = new Set(['title', 'body', 'labels', 'assignees', 'assignee', 'milestone', 'type']);
const RATE_LIMIT = 5_000;

export class GithubReceiver {
  readonly issues: GithubIssue[] = [];
  /** Requests refused for their shape: what and why. */
  readonly refusals: Array<{ method: string; path: string; reason: string }> = [];
  readonly requests: RecordedRequest[] = [];
  /** Seconds to wait that the scripted rate-limit answers give. */
  waitSeconds = 1;
  private failures: GithubFailure[] = [];
  private holding: (() => void) | undefined;
  private nextCommentId = 1;
  private used = 0;

  private constructor(
    private readonly server: ScriptedHttpServer,
    readonly owner: string,
    readonly repo: string,
    private readonly token: string,
  ) {}

  static async start(options: { owner: string; repo: string; token: string }): Promise<GithubReceiver> {
    let receiver: GithubReceiver | undefined;
    const server = await ScriptedHttpServer.start((request) => receiver!.handle(request));
    receiver = new GithubReceiver(server, options.owner, options.repo, options.token);
    return receiver;
  }

  /** The API root to configure as `apiUrl`. */
  get url(): string {
    return this.server.url;
  }

  /** The next requests (one per entry, in order) get these answers instead of being served. */
  failNext(...failures: GithubFailure[]): void {
    this.failures.push(...failures);
  }

  /** From now on a create records the issue, calls `onCreated` and never answers. */
  holdCreates(onCreated: () => void): void {
    this.holding = onCreated;
  }

  release(): void {
    this.holding = undefined;
  }

  issuesWithLabel(label: string): GithubIssue[] {
    return this.issues.filter((issue) => issue.labels.includes(label));
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private handle(request: RecordedRequest): ScriptedResponse | Promise<ScriptedResponse> {
    this.requests.push(request);
    const url = new URL(request.path, 'http://github');
    const refuse = (status: number, reason: string, body: Record<string, unknown> = { message: reason }) => {
      this.refusals.push({ method: request.method, path: url.pathname, reason });
      return this.json(status, body);
    };
    const auth = request.headers.authorization;
    if (auth !== `Bearer ${this.token}` && auth !== `token ${this.token}`) {
      return this.json(401, {
        message: 'Bad credentials',
        documentation_url: 'https://docs.github.com/rest',
        status: '401',
      });
    }
    const failure = this.failures.shift();
    if (failure) return this.failure(failure);
    this.used++;
    if (!request.headers['user-agent']) return refuse(403, 'requests must carry a User-Agent');
    if (request.headers.accept !== 'application/vnd.github+json') {
      return refuse(
        415,
        `Accept ${request.headers.accept ?? '(none)'}; expected application/vnd.github+json`,
      );
    }
    const version = request.headers['x-github-api-version'];
    if (typeof version !== 'string' || !API_VERSIONS.has(version)) {
      return refuse(400, `Unsupported 'X-GitHub-Api-Version': ${version ?? '(none)'}`);
    }
    const base = `/repos/${this.owner}/${this.repo}/issues`;
    const comments = new RegExp(`^${base}/(\\d+)/comments$`).exec(url.pathname);
    if (url.pathname === base && request.method === 'GET') return this.listIssues(url, refuse);
    if (url.pathname === base && request.method === 'POST') return this.createIssue(request, refuse);
    if (comments && request.method === 'GET') return this.listComments(Number(comments[1]), url);
    if (comments && request.method === 'POST')
      return this.createComment(Number(comments[1]), request, refuse);
    return this.json(404, { message: 'Not Found', status: '404' });
  }

  private listIssues(url: URL, refuse: Refuse): ScriptedResponse {
    const { searchParams: query } = url;
    for (const key of query.keys()) {
      if (
        ![
          'labels',
          'state',
          'sort',
          'direction',
          'per_page',
          'page',
          'since',
          'milestone',
          'assignee',
          'creator',
          'mentioned',
          'type',
        ].includes(key)
      ) {
        return refuse(422, `unknown query parameter ${key}`);
      }
    }
    const state = query.get('state') ?? 'open';
    if (!['open', 'closed', 'all'].includes(state)) return refuse(422, `state ${state}`);
    const perPage = Number(query.get('per_page') ?? 30);
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > 100) return refuse(422, `per_page ${perPage}`);
    const page = Number(query.get('page') ?? 1);
    const labels = (query.get('labels') ?? '').split(',').filter((label) => label !== '');
    let found = this.issues.filter(
      (issue) =>
        (state === 'all' || issue.state === state) && labels.every((label) => issue.labels.includes(label)),
    );
    if ((query.get('direction') ?? 'desc') === 'desc') found = [...found].reverse();
    return this.json(
      200,
      found.slice((page - 1) * perPage, page * perPage).map((issue) => this.issueJson(issue)),
    );
  }

  private createIssue(
    request: RecordedRequest,
    refuse: Refuse,
  ): ScriptedResponse | Promise<ScriptedResponse> {
    const payload = this.body(request, refuse);
    if ('status' in payload) return payload;
    const { value } = payload;
    for (const key of Object.keys(value)) {
      if (!ISSUE_FIELDS.has(key)) return validation(refuse, 'Issue', key, 'invalid');
    }
    if (typeof value.title !== 'string' || value.title.trim() === '') {
      return validation(refuse, 'Issue', 'title', 'missing_field');
    }
    if (value.title.length > TITLE_MAX) return validation(refuse, 'Issue', 'title', 'invalid');
    if (value.body !== undefined && (typeof value.body !== 'string' || value.body.length > BODY_MAX)) {
      return validation(refuse, 'Issue', 'body', 'invalid');
    }
    const labels = value.labels ?? [];
    if (
      !Array.isArray(labels) ||
      !labels.every((label) => typeof label === 'string' && label.length > 0 && label.length <= LABEL_MAX)
    ) {
      return validation(refuse, 'Label', 'name', 'invalid');
    }
    const issue: GithubIssue = {
      number: this.issues.length + 1,
      title: value.title,
      body: (value.body as string | undefined) ?? '',
      labels: [...new Set(labels as string[])],
      state: 'open',
      comments: [],
    };
    this.issues.push(issue);
    const onCreated = this.holding;
    if (onCreated) {
      onCreated();
      return new Promise<ScriptedResponse>(() => {});
    }
    return this.json(201, this.issueJson(issue), {
      location: `${this.url}/repos/${this.owner}/${this.repo}/issues/${issue.number}`,
    });
  }

  private listComments(number: number, url: URL): ScriptedResponse {
    const issue = this.issues.find((each) => each.number === number);
    if (!issue) return this.json(404, { message: 'Not Found', status: '404' });
    const perPage = Math.min(100, Number(url.searchParams.get('per_page') ?? 30));
    const page = Number(url.searchParams.get('page') ?? 1);
    const slice = issue.comments.slice((page - 1) * perPage, page * perPage);
    return this.json(
      200,
      slice.map((comment) => this.commentJson(issue, comment)),
    );
  }

  private createComment(number: number, request: RecordedRequest, refuse: Refuse): ScriptedResponse {
    const issue = this.issues.find((each) => each.number === number);
    if (!issue) return this.json(404, { message: 'Not Found', status: '404' });
    const payload = this.body(request, refuse);
    if ('status' in payload) return payload;
    const { value } = payload;
    if (Object.keys(value).some((key) => key !== 'body'))
      return validation(refuse, 'IssueComment', 'body', 'invalid');
    if (typeof value.body !== 'string' || value.body === '')
      return validation(refuse, 'IssueComment', 'body', 'missing_field');
    if (value.body.length > BODY_MAX) return validation(refuse, 'IssueComment', 'body', 'invalid');
    const comment = { id: this.nextCommentId++, body: value.body };
    issue.comments.push(comment);
    return this.json(201, this.commentJson(issue, comment));
  }

  private body(
    request: RecordedRequest,
    refuse: Refuse,
  ): { value: Record<string, unknown> } | ScriptedResponse {
    if (!String(request.headers['content-type'] ?? '').startsWith('application/json')) {
      return refuse(415, `Content-Type ${request.headers['content-type'] ?? '(none)'}`);
    }
    try {
      const value = JSON.parse(request.body.toString('utf8')) as unknown;
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        return { value: value as Record<string, unknown> };
      }
    } catch {
      // answered below
    }
    return refuse(400, 'Problems parsing JSON');
  }

  private failure(failure: GithubFailure): ScriptedResponse {
    const wait = this.waitSeconds;
    const reset = String(Math.ceil(Date.now() / 1000) + wait);
    switch (failure) {
      case 'bad-credentials':
        return this.json(401, { message: 'Bad credentials', status: '401' });
      case 'primary-rate-limit':
        return this.json(
          403,
          { message: 'API rate limit exceeded for user ID 1.', status: '403' },
          { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset },
        );
      case 'secondary-rate-limit':
        return this.json(
          403,
          {
            message:
              'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
          },
          { 'retry-after': String(wait) },
        );
      case 'secondary-rate-limit-no-header':
        return this.json(403, {
          message:
            'You have exceeded a secondary rate limit and have been temporarily blocked from content creation.',
        });
      case 'too-many-requests':
        return this.json(429, { message: 'Too Many Requests' }, { 'retry-after': String(wait) });
      case 'server-error':
        return this.json(502, { message: 'Server Error' });
    }
  }

  private json(status: number, body: unknown, headers: Record<string, string> = {}): ScriptedResponse {
    return {
      status,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'x-github-api-version-selected': '2022-11-28',
        'x-ratelimit-limit': String(RATE_LIMIT),
        'x-ratelimit-remaining': String(Math.max(0, RATE_LIMIT - this.used)),
        'x-ratelimit-used': String(this.used),
        'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 3_600),
        'x-ratelimit-resource': 'core',
        ...headers,
      },
      body: JSON.stringify(body),
    };
  }

  private issueJson(issue: GithubIssue): Record<string, unknown> {
    const path = `${this.owner}/${this.repo}/issues/${issue.number}`;
    return {
      id: 1_000 + issue.number,
      node_id: `I_${issue.number}`,
      url: `${this.url}/repos/${path}`,
      html_url: `https://github.com/${path}`,
      number: issue.number,
      state: issue.state,
      title: issue.title,
      body: issue.body,
      labels: issue.labels.map((name, index) => ({ id: index + 1, name, color: 'ededed', default: false })),
      comments: issue.comments.length,
    };
  }

  private commentJson(issue: GithubIssue, comment: GithubComment): Record<string, unknown> {
    return {
      id: comment.id,
      node_id: `IC_${comment.id}`,
      body: comment.body,
      html_url: `https://github.com/${this.owner}/${this.repo}/issues/${issue.number}#issuecomment-${comment.id}`,
      issue_url: `${this.url}/repos/${this.owner}/${this.repo}/issues/${issue.number}`,
    };
  }
}

type Refuse = (status: number, reason: string, body?: Record<string, unknown>) => ScriptedResponse;

function validation(refuse: Refuse, resource: string, field: string, code: string): ScriptedResponse {
  return refuse(422, `Validation Failed: ${resource}.${field} ${code}`, {
    message: 'Validation Failed',
    errors: [{ resource, field, code }],
    documentation_url: 'https://docs.github.com/rest/issues/issues#create-an-issue',
    status: '422',
  });
}
