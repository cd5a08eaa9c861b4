import { isRetriable } from '../../core/errors.ts';
import type { RetryVerdict } from '../driver/verdict.ts';
import type { HttpClient, HttpRequest, HttpResponse } from './http.ts';

/** Statuses that say the endpoint refuses us, not the request: wrong credentials, no permission, wrong path. */
const UNUSABLE_STATUSES: ReadonlySet<number> = new Set([401, 403, 404, 407]);

/**
 * The classifier every HTTP sink starts from: 2xx ok; 408, 429 and 5xx retry; 401, 403, 404 and 407 make the
 * endpoint unusable until an operator acts; any other status refuses the request.
 */
export function classifyHttpStatus(response: HttpResponse, now: number): RetryVerdict {
  const { status } = response;
  if (status >= 200 && status < 300) return { action: 'ok' };
  const reason = `HTTP ${status}${snippet(response.body)}`;
  if (status === 408 || status === 429 || status >= 500) {
    const verdict: RetryVerdict = { action: 'retry', reason };
    const wait = retryAfterMs(response.headers['retry-after'], now);
    if (wait !== undefined) verdict.retryAfterMs = wait;
    return verdict;
  }
  if (UNUSABLE_STATUSES.has(status)) return { action: 'unusable', reason };
  return { action: 'refuse', reason, code: `http_${status}` };
}

/** Retry-After as delta-seconds or an HTTP date (RFC 9110 §10.2.3), in ms from `now`. */
export function retryAfterMs(header: string | string[] | undefined, now: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Sends one request and classifies what came back; a connection failure or timeout is a retry. */
export async function sendClassified(
  client: HttpClient,
  request: HttpRequest,
  classify: (response: HttpResponse) => RetryVerdict,
): Promise<RetryVerdict> {
  let response: HttpResponse;
  try {
    response = await client.send(request);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return isRetriable(error) ? { action: 'retry', reason } : { action: 'refuse', reason };
  }
  return classify(response);
}

function snippet(body: string): string {
  const text = body.trim().slice(0, 200);
  return text ? `: ${text}` : '';
}
