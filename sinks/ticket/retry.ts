import type { RetryVerdict } from '../driver/verdict.ts';
import type { HttpResponse } from '../shared/http.ts';
import { classifyHttpStatus, retryAfterMs } from '../shared/http-verdict.ts';

/** GitHub: when a rate limit says nothing of how long, wait at least a minute. */
const GITHUB_DEFAULT_WAIT_MS = 60_000;

/**
 * GitHub's documented rate-limit answers, on top of the shared HTTP classification:
 * - 403 or 429 with `retry-after`: wait that many seconds (a secondary rate limit);
 * - 403 or 429 with `x-ratelimit-remaining: 0`: wait until `x-ratelimit-reset` (UTC epoch seconds), the
 *   primary rate limit;
 * - 429, or a 403 whose message names a rate limit, without either: wait at least one minute;
 * - any other 403 (no permission), 401 (bad token), 404 (no such repository) and 410 (issues disabled):
 *   nothing works until an operator acts;
 * - 422 (validation failed) refuses that one alert.
 */
export function classifyGithubResponse(response: HttpResponse, now: number): RetryVerdict {
  const { status } = response;
  if (status === 403 || status === 429) {
    const wait = githubRateLimitWait(response, now);
    if (wait !== undefined)
      return { action: 'retry', reason: `GitHub rate limit (HTTP ${status})`, retryAfterMs: wait };
  }
  if (status === 410)
    return { action: 'unusable', reason: 'HTTP 410: issues are disabled for this repository' };
  return classifyHttpStatus(response, now);
}

function githubRateLimitWait(response: HttpResponse, now: number): number | undefined {
  const after = retryAfterMs(response.headers['retry-after'], now);
  if (after !== undefined) return after;
  if (header(response, 'x-ratelimit-remaining') === '0') {
    const reset = Number(header(response, 'x-ratelimit-reset'));
    if (Number.isFinite(reset) && reset > 0) return Math.max(0, reset * 1000 - now);
    return GITHUB_DEFAULT_WAIT_MS;
  }
  if (response.status === 429 || /rate limit/i.test(response.body)) return GITHUB_DEFAULT_WAIT_MS;
  return undefined;
}

/** Jira: a 429 without Retry-After or X-RateLimit-Reset waits this long. */
const JIRA_DEFAULT_WAIT_MS = 10_000;

/**
 * Jira Cloud: 429 waits `Retry-After` seconds, else until `X-RateLimit-Reset` (an ISO 8601 time); a 5xx with
 * Retry-After (503 at a resource limit) waits likewise. 401 and 403 are unusable, 400 refuses the alert.
 */
export function classifyJiraResponse(response: HttpResponse, now: number): RetryVerdict {
  if (response.status === 429) {
    const wait =
      retryAfterMs(response.headers['retry-after'], now) ??
      retryAfterMs(header(response, 'x-ratelimit-reset'), now) ??
      JIRA_DEFAULT_WAIT_MS;
    return { action: 'retry', reason: 'Jira rate limit (HTTP 429)', retryAfterMs: wait };
  }
  return classifyHttpStatus(response, now);
}

function header(response: HttpResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
