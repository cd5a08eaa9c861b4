import type { RetryVerdict } from '../driver/verdict.ts';
import type { HttpResponse } from '../shared/http.ts';
import { classifyHttpStatus, retryAfterMs } from '../shared/http-verdict.ts';
import type { ItemOutcome } from '../types.ts';
import { type HecReply, PER_EVENT_HEC_CODES, RETRYABLE_HEC_CODES, UNUSABLE_HEC_CODES } from './codes.ts';

export function parseHecReply(body: string): HecReply | undefined {
  try {
    const reply: unknown = JSON.parse(body);
    if (typeof reply === 'object' && reply !== null && typeof (reply as HecReply).code === 'number') {
      return reply as HecReply;
    }
  } catch {
    // Not a HEC reply (a proxy's error page, say): the HTTP status decides.
  }
  return undefined;
}

/**
 * HEC replies judged by their `code`: busy / internal errors retry; one bad event (invalid-event-number) goes
 * to the dead letters while the others are resent; token, channel and ack settings make the endpoint
 * unusable until fixed; anything else refuses the request (split to find the event at fault).
 */
export function classifyHecResponse(response: HttpResponse, count: number, now: number): RetryVerdict {
  const reply = parseHecReply(response.body);
  if (!reply) return classifyHttpStatus(response, now);
  if (reply.code === 0) return { action: 'ok' };
  const reason = `HEC code ${reply.code} (HTTP ${response.status}): ${reply.text}`;
  if (RETRYABLE_HEC_CODES.has(reply.code)) {
    const verdict: RetryVerdict = { action: 'retry', reason };
    const wait = retryAfterMs(response.headers['retry-after'], now);
    if (wait !== undefined) verdict.retryAfterMs = wait;
    return verdict;
  }
  const culprit = reply['invalid-event-number'];
  if (PER_EVENT_HEC_CODES.has(reply.code) && culprit !== undefined && culprit >= 0 && culprit < count) {
    // HEC may already have taken the events before the culprit: resending them is at-least-once.
    const retry: ItemOutcome = { status: 'retryable', reason: `resent after event ${culprit} was rejected` };
    const outcomes = new Array<ItemOutcome>(count).fill(retry);
    outcomes[culprit] = { status: 'permanent', reason, code: `hec_${reply.code}` };
    return { action: 'retry-these-items', outcomes };
  }
  if (UNUSABLE_HEC_CODES.has(reply.code)) return { action: 'unusable', reason };
  return { action: 'refuse', reason, code: `hec_${reply.code}` };
}
