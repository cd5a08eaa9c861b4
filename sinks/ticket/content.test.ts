import { describe, expect, it } from 'vitest';
import { OVERLAY_VERSION, type PolicyOverlay } from '../../engine/index.ts';
import { adfProblem } from '../../test/support/jira-receiver.ts';
import { makeAlert } from '../../test/support/sink-items.ts';
import type { HttpResponse } from '../shared/http.ts';
import { adfDocument, JIRA_TEXT_MAX } from './adf.ts';
import { ticketContent } from './content.ts';
import { groupOf } from './group.ts';
import { GITHUB_BODY_MAX, markdownBody } from './markdown.ts';
import { classifyGithubResponse, classifyJiraResponse } from './retry.ts';

const LIMITS = { maxFieldChars: 2_000, maxEventsListed: 20 };
const content = (overrides: Parameters<typeof makeAlert>[0] = {}, limits = LIMITS) => {
  const alert = makeAlert(overrides);
  return ticketContent(alert, groupOf(alert, ['ruleId', 'agentId', 'groupKey']), limits);
};

/** The markdown outside fenced code blocks: what GitHub would interpret. */
function outsideFences(markdown: string): string {
  const lines = markdown.split('\n');
  const outside: string[] = [];
  let fence: string | undefined;
  for (const line of lines) {
    const opening = /^(`{3,})/.exec(line)?.[1];
    if (fence === undefined && opening) fence = opening;
    else if (fence !== undefined && line.startsWith(fence) && line.slice(fence.length).trim() === '')
      fence = undefined;
    else if (fence === undefined) outside.push(line);
  }
  expect(fence, 'every fence is closed').toBeUndefined();
  return outside.join('\n');
}

describe('ticket bodies from hostile alert text', () => {
  const hostile = [
    '````\n@octocat see [click](https://evil.example) <img src=x onerror=alert(1)>',
    '```\n</details><!-- -->',
    '#1 closes #2 \u202eevil\u202c ![x](https://evil.example/x.png)',
  ].join('\n');

  it('GitHub markdown: alert text only inside fences it cannot close; no mention, link or HTML outside', () => {
    const body = markdownBody(
      content({ summary: hostile, agentId: '@admin `x`', eventIds: ['```', '[a](b)'] }),
      'Opened.',
    );
    const interpreted = outsideFences(body);
    expect(interpreted).not.toMatch(/@|\]\(|<img|evil|<\/details>/);
    // The longest backtick run in the summary is 4, so its fence is 5.
    expect(body).toContain('`````text\n````\n@octocat');
    expect(body).not.toContain('\u202e');
  });

  it('the title carries no mention or issue reference, on one line', () => {
    const { title } = content({ agentId: '@team\n#12', ruleName: 'x' });
    expect(title).toBe('[critical] x: @\u200bteam #\u200b12');
  });

  it('bodies stay within GitHub and Jira limits whatever the field sizes, and the ADF stays valid', () => {
    const huge = 'A'.repeat(1_000_000);
    const big = content(
      {
        summary: huge,
        agentId: huge,
        ruleName: huge,
        tags: [huge],
        eventIds: Array(500).fill(huge),
        eventCount: 500,
        enrichment: { x: huge },
      },
      { maxFieldChars: 8_192, maxEventsListed: 100 },
    );
    const markdown = markdownBody(big, 'Opened.');
    expect(markdown.length).toBeLessThanOrEqual(GITHUB_BODY_MAX);
    outsideFences(markdown);
    const document = adfDocument(big, 'Opened.');
    expect(adfProblem(document)).toBeUndefined();
    const text = JSON.stringify(document).length;
    expect(text).toBeLessThan(JIRA_TEXT_MAX * 2);
  });

  it('a suggested policy is shown whole, or left out with a note, never cut', () => {
    const policy: PolicyOverlay = {
      version: OVERLAY_VERSION,
      extends: 'default',
      merge_strategy: 'deep_merge',
      guards: { forbidden_path: { additional_patterns: ['**/.ssh/**'] } },
    };
    const fits = markdownBody(content({ response: { policySuggestion: policy } }), 'Opened.');
    expect(fits).toContain('#### Suggested policy\n\n```yaml\nversion: 1.2.0\n');
    const plain = markdownBody(content({ alertId: 'alr-1', enrichment: {} }), 'Opened.');
    const max = plain.length + 70;
    const tight = markdownBody(
      content({ alertId: 'alr-1', enrichment: {}, response: { policySuggestion: policy } }),
      'Opened.',
      max,
    );
    expect(tight).toContain('#### Suggested policy\n\n_(left out: the body size limit)_');
    expect(tight.length).toBeLessThanOrEqual(max);
  });
});

describe('rate-limit classification as GitHub and Jira document it', () => {
  const now = Date.parse('2026-03-14T09:00:00Z');
  const response = (status: number, headers: Record<string, string> = {}, body = '{}'): HttpResponse => ({
    status,
    headers,
    body,
  });

  it.each([
    ['403 secondary limit with retry-after', response(403, { 'retry-after': '30' }), 30_000],
    ['429 with retry-after', response(429, { 'retry-after': '5' }), 5_000],
    [
      '403 primary limit: remaining 0 until reset',
      response(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 + 120) }),
      120_000,
    ],
    [
      '429 primary limit',
      response(429, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 + 7) }),
      7_000,
    ],
    [
      '403 secondary limit without headers: at least a minute',
      response(403, {}, '{"message":"You have exceeded a secondary rate limit"}'),
      60_000,
    ],
    ['429 without headers: at least a minute', response(429), 60_000],
  ])('GitHub %s', (_, answer, wait) => {
    expect(classifyGithubResponse(answer, now)).toMatchObject({ action: 'retry', retryAfterMs: wait });
  });

  it('GitHub: 401, a 403 without rate-limit signs, 404 and 410 give up; 422 refuses; 5xx retries', () => {
    expect(classifyGithubResponse(response(401), now).action).toBe('unusable');
    expect(
      classifyGithubResponse(
        response(
          403,
          { 'x-ratelimit-remaining': '4999' },
          '{"message":"Resource not accessible by integration"}',
        ),
        now,
      ).action,
    ).toBe('unusable');
    expect(classifyGithubResponse(response(404), now).action).toBe('unusable');
    expect(classifyGithubResponse(response(410), now).action).toBe('unusable');
    expect(classifyGithubResponse(response(422), now)).toMatchObject({ action: 'refuse', code: 'http_422' });
    expect(classifyGithubResponse(response(502), now).action).toBe('retry');
    expect(classifyGithubResponse(response(201), now).action).toBe('ok');
  });

  it('Jira: 429 waits Retry-After, else X-RateLimit-Reset; 503 Retry-After; 401/403 give up; 400 refuses', () => {
    expect(classifyJiraResponse(response(429, { 'retry-after': '9' }), now)).toMatchObject({
      retryAfterMs: 9_000,
    });
    expect(
      classifyJiraResponse(response(429, { 'x-ratelimit-reset': '2026-03-14T09:02Z' }), now),
    ).toMatchObject({ retryAfterMs: 120_000 });
    expect(classifyJiraResponse(response(503, { 'retry-after': '3' }), now)).toMatchObject({
      action: 'retry',
      retryAfterMs: 3_000,
    });
    expect(classifyJiraResponse(response(401), now).action).toBe('unusable');
    expect(classifyJiraResponse(response(403), now).action).toBe('unusable');
    expect(classifyJiraResponse(response(400), now)).toMatchObject({ action: 'refuse', code: 'http_400' });
  });
});
