import { type RecordedRequest, ScriptedHttpServer, type ScriptedResponse } from './http-server.ts';

/**
 * A Jira Cloud REST v3 stand-in for the endpoints the ticket sink uses, answering as Atlassian documents:
 * - `POST /rest/api/3/issue` {fields: {project: {key}, issuetype: {name}, summary, labels?, description?}}
 *   → 201 {id, key, self}; 400 {errorMessages, errors} for a bad field;
 * - `POST /rest/api/3/issue/{key}/comment` {body: ADF} → 201; `GET` the same path → 200 {startAt,
 *   maxResults, total, comments};
 * - `POST /rest/api/3/search/jql` {jql, fields?, maxResults?} → 200 {issues, isLast}: eventually consistent
 *   like Jira's, an issue becomes searchable `searchLagMs` after it was created;
 * - 401 for credentials it does not know (basic auth, account email and API token).
 * Every description and comment body must be an Atlassian Document Format document: `type: doc`,
 * `version: 1`, block nodes from the ADF schema with their required attributes and content, text nodes
 * non-empty, marks known (the checks `validAdf` makes). A request that breaks the documented shape is refused
 * (400/415) and listed in `refusals`. `failNext` scripts 429 with Retry-After, 503 and 401.
 */

export interface JiraIssue {
  id: string;
  key: string;
  summary: string;
  labels: string[];
  description: unknown;
  comments: unknown[];
  createdAt: number;
}

export type JiraFailure = 'rate-limited' | 'unavailable' | 'unauthorized';

const SUMMARY_MAX = 255;

export class JiraReceiver {
  readonly issues: JiraIssue[] = [];
  readonly refusals: Array<{ method: string; path: string; reason: string }> = [];
  readonly requests: RecordedRequest[] = [];
  waitSeconds = 1;
  /** How long a created issue stays invisible to JQL search. */
  searchLagMs = 0;
  private failures: JiraFailure[] = [];
  private holding: (() => void) | undefined;

  private constructor(
    private readonly server: ScriptedHttpServer,
    readonly projectKey: string,
    private readonly email: string,
    private readonly token: string,
    private readonly issueTypes: readonly string[],
  ) {}

  static async start(options: {
    projectKey: string;
    email: string;
    token: string;
    issueTypes?: string[];
  }): Promise<JiraReceiver> {
    let receiver: JiraReceiver | undefined;
    const server = await ScriptedHttpServer.start((request) => receiver!.handle(request));
    receiver = new JiraReceiver(
      server,
      options.projectKey,
      options.email,
      options.token,
      options.issueTypes ?? ['Task', 'Bug'],
    );
    return receiver;
  }

  get url(): string {
    return this.server.url;
  }

  failNext(...failures: JiraFailure[]): void {
    this.failures.push(...failures);
  }

  holdCreates(onCreated: () => void): void {
    this.holding = onCreated;
  }

  release(): void {
    this.holding = undefined;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private handle(request: RecordedRequest): ScriptedResponse | Promise<ScriptedResponse> {
    this.requests.push(request);
    const url = new URL(request.path, 'http://jira');
    const refuse = (reason: string, errors: Record<string, string> = {}, status = 400) => {
      this.refusals.push({ method: request.method, path: url.pathname, reason });
      return json(status, { errorMessages: Object.keys(errors).length === 0 ? [reason] : [], errors });
    };
    const expected = `Basic ${Buffer.from(`${this.email}:${this.token}`).toString('base64')}`;
    if (request.headers.authorization !== expected) {
      return {
        status: 401,
        headers: { 'content-type': 'text/plain' },
        body: 'Client must be authenticated to access this resource.',
      };
    }
    const failure = this.failures.shift();
    if (failure) return this.failure(failure);
    if (!String(request.headers.accept ?? '').includes('application/json')) {
      return refuse(`Accept ${request.headers.accept ?? '(none)'}`, {}, 415);
    }
    const comment = /^\/rest\/api\/3\/issue\/([A-Z][A-Z0-9_]*-\d+)\/comment$/.exec(url.pathname);
    if (url.pathname === '/rest/api/3/issue' && request.method === 'POST')
      return this.create(request, refuse);
    if (url.pathname === '/rest/api/3/search/jql' && request.method === 'POST')
      return this.search(request, refuse);
    if (comment && request.method === 'POST') return this.addComment(comment[1]!, request, refuse);
    if (comment && request.method === 'GET') return this.listComments(comment[1]!, url);
    return json(404, { errorMessages: ['Not found'], errors: {} });
  }

  private create(request: RecordedRequest, refuse: Refuse): ScriptedResponse | Promise<ScriptedResponse> {
    const payload = body(request, refuse);
    if ('status' in payload) return payload;
    const fields = payload.value.fields;
    if (!isRecord(fields)) return refuse('fields is required');
    const project = fields.project;
    if (!isRecord(project) || project.key !== this.projectKey) {
      return refuse('project', { project: 'valid project is required' });
    }
    const type = fields.issuetype;
    if (!isRecord(type) || typeof type.name !== 'string' || !this.issueTypes.includes(type.name)) {
      return refuse('issuetype', { issuetype: 'Specify a valid issue type' });
    }
    const { summary, labels = [], description } = fields;
    if (typeof summary !== 'string' || summary.trim() === '')
      return refuse('summary', { summary: 'You must specify a summary of the issue.' });
    if (summary.length > SUMMARY_MAX)
      return refuse('summary', { summary: 'Summary must be less than 255 characters.' });
    if (/[\r\n]/.test(summary))
      return refuse('summary', { summary: 'The summary is invalid because it contains newline characters.' });
    if (
      !Array.isArray(labels) ||
      !labels.every((label) => typeof label === 'string' && /^\S{1,255}$/.test(label))
    ) {
      return refuse('labels', { labels: 'The label contains spaces or is too long.' });
    }
    if (description !== undefined) {
      const problem = adfProblem(description);
      if (problem)
        return refuse(`description: ${problem}`, {
          description: 'Operation value must be an Atlassian Document (see the Atlassian Document Format).',
        });
    }
    const id = String(10_000 + this.issues.length);
    const issue: JiraIssue = {
      id,
      key: `${this.projectKey}-${this.issues.length + 1}`,
      summary,
      labels: labels as string[],
      description,
      comments: [],
      createdAt: Date.now(),
    };
    this.issues.push(issue);
    if (this.holding) {
      this.holding();
      return new Promise<ScriptedResponse>(() => {});
    }
    return json(201, { id, key: issue.key, self: `${this.url}/rest/api/3/issue/${id}` });
  }

  private search(request: RecordedRequest, refuse: Refuse): ScriptedResponse {
    const payload = body(request, refuse);
    if ('status' in payload) return payload;
    const { jql, maxResults = 50, fields = [] } = payload.value;
    if (typeof jql !== 'string') return refuse('jql is required');
    // The subset of JQL the sink writes: project, one label, ordered by creation.
    const match = /^project = "([^"]+)" AND labels = "([^"]+)" ORDER BY created ASC$/.exec(jql);
    if (!match) return refuse(`unsupported JQL ${jql}`);
    if (typeof maxResults !== 'number' || maxResults < 1 || maxResults > 5_000) return refuse('maxResults');
    if (!Array.isArray(fields)) return refuse('fields');
    const now = Date.now();
    const issues = this.issues
      .filter((issue) => `${match[1]}` === this.projectKey && issue.labels.includes(match[2]!))
      .filter((issue) => now - issue.createdAt >= this.searchLagMs)
      .slice(0, maxResults)
      .map((issue) => ({
        id: issue.id,
        key: issue.key,
        self: `${this.url}/rest/api/3/issue/${issue.id}`,
        fields: Object.fromEntries(
          (fields as string[]).flatMap((name) =>
            name === 'description'
              ? [['description', issue.description ?? null]]
              : name === 'summary'
                ? [['summary', issue.summary]]
                : [],
          ),
        ),
      }));
    return json(200, { issues, isLast: true });
  }

  private addComment(key: string, request: RecordedRequest, refuse: Refuse): ScriptedResponse {
    const issue = this.issues.find((each) => each.key === key);
    if (!issue)
      return json(404, {
        errorMessages: ['Issue does not exist or you do not have permission to see it.'],
        errors: {},
      });
    const payload = body(request, refuse);
    if ('status' in payload) return payload;
    const problem = adfProblem(payload.value.body);
    if (problem)
      return refuse(`comment body: ${problem}`, {
        comment: 'Comment body is not a valid Atlassian Document.',
      });
    issue.comments.push(payload.value.body);
    const id = String(issue.comments.length);
    return json(201, {
      id,
      self: `${this.url}/rest/api/3/issue/${issue.id}/comment/${id}`,
      body: payload.value.body,
      created: new Date().toISOString(),
    });
  }

  private listComments(key: string, url: URL): ScriptedResponse {
    const issue = this.issues.find((each) => each.key === key);
    if (!issue)
      return json(404, {
        errorMessages: ['Issue does not exist or you do not have permission to see it.'],
        errors: {},
      });
    const startAt = Number(url.searchParams.get('startAt') ?? 0);
    const maxResults = Math.min(100, Number(url.searchParams.get('maxResults') ?? 50));
    const comments = issue.comments
      .slice(startAt, startAt + maxResults)
      .map((comment, index) => ({ id: String(startAt + index + 1), body: comment }));
    return json(200, { startAt, maxResults, total: issue.comments.length, comments });
  }

  private failure(failure: JiraFailure): ScriptedResponse {
    const wait = this.waitSeconds;
    switch (failure) {
      case 'rate-limited':
        return json(
          429,
          { errorMessages: ['Rate limit exceeded.'], errors: {} },
          {
            'retry-after': String(wait),
            'x-ratelimit-limit': '100',
            'x-ratelimit-remaining': '0',
            'x-ratelimit-reset': new Date(Date.now() + wait * 1000).toISOString(),
            'ratelimit-reason': 'jira-burst-based',
          },
        );
      case 'unavailable':
        return json(
          503,
          { errorMessages: ['Service unavailable'], errors: {} },
          { 'retry-after': String(wait) },
        );
      case 'unauthorized':
        return {
          status: 401,
          headers: { 'content-type': 'text/plain' },
          body: 'Client must be authenticated to access this resource.',
        };
    }
  }
}

type Refuse = (reason: string, errors?: Record<string, string>, status?: number) => ScriptedResponse;

function json(status: number, value: unknown, headers: Record<string, string> = {}): ScriptedResponse {
  return {
    status,
    headers: { 'content-type': 'application/json;charset=UTF-8', ...headers },
    body: JSON.stringify(value),
  };
}

function body(
  request: RecordedRequest,
  refuse: Refuse,
): { value: Record<string, unknown> } | ScriptedResponse {
  if (!String(request.headers['content-type'] ?? '').startsWith('application/json')) {
    return refuse(`Content-Type ${request.headers['content-type'] ?? '(none)'}`, {}, 415);
  }
  try {
    const value = JSON.parse(request.body.toString('utf8')) as unknown;
    if (isRecord(value)) return { value };
  } catch {
    // answered below
  }
  return refuse('Unexpected character: the body is not a JSON object');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * ADF block and inline nodes with what each must carry (from the ADF JSON schema): the subset a Jira
 * description can hold. Anything else is refused, as Jira refuses an invalid document.
 */
const BLOCKS = new Set([
  'paragraph',
  'heading',
  'codeBlock',
  'bulletList',
  'orderedList',
  'blockquote',
  'rule',
  'panel',
]);
const MARKS = new Set(['code', 'em', 'strong', 'strike', 'underline', 'link', 'subsup', 'textColor']);

/** What makes a value not an ADF document, or undefined when it is one. */
export function adfProblem(document: unknown): string | undefined {
  if (!isRecord(document)) return 'not an object';
  if (document.type !== 'doc') return `type ${String(document.type)}, expected doc`;
  if (document.version !== 1) return `version ${String(document.version)}, expected 1`;
  const extra = Object.keys(document).filter((key) => !['type', 'version', 'content'].includes(key));
  if (extra.length > 0) return `unknown keys ${extra.join(', ')}`;
  if (!Array.isArray(document.content)) return 'content must be an array';
  for (const [index, node] of document.content.entries()) {
    const problem = blockProblem(node);
    if (problem) return `content[${index}]: ${problem}`;
  }
  return undefined;
}

function blockProblem(node: unknown): string | undefined {
  if (!isRecord(node) || typeof node.type !== 'string') return 'not a node';
  if (!BLOCKS.has(node.type)) return `${node.type} is not a block node`;
  const attrs = isRecord(node.attrs) ? node.attrs : {};
  switch (node.type) {
    case 'heading':
      if (typeof attrs.level !== 'number' || attrs.level < 1 || attrs.level > 6)
        return 'heading needs attrs.level 1-6';
      return inlineProblems(node.content, true);
    case 'paragraph':
      return inlineProblems(node.content ?? [], true);
    case 'codeBlock':
      if (node.attrs !== undefined && !isRecord(node.attrs)) return 'codeBlock attrs must be an object';
      if (attrs.language !== undefined && typeof attrs.language !== 'string')
        return 'codeBlock language must be a string';
      // A code block holds text only, without marks.
      return inlineProblems(node.content ?? [], false);
    default:
      return undefined;
  }
}

function inlineProblems(content: unknown, marksAllowed: boolean): string | undefined {
  if (!Array.isArray(content)) return 'content must be an array';
  for (const node of content) {
    if (!isRecord(node)) return 'inline node is not an object';
    if (node.type === 'hardBreak') continue;
    if (node.type !== 'text') return `${String(node.type)} is not allowed here`;
    if (typeof node.text !== 'string' || node.text === '') return 'text nodes need non-empty text';
    if (node.marks !== undefined) {
      if (!marksAllowed) return 'code block text takes no marks';
      if (
        !Array.isArray(node.marks) ||
        !node.marks.every((mark) => isRecord(mark) && MARKS.has(String(mark.type)))
      ) {
        return 'unknown mark';
      }
    }
  }
  return undefined;
}
