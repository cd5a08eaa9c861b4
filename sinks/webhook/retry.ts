import type { RetryVerdict } from '../driver/verdict.ts';
import type { HttpResponse } from '../shared/http.ts';
import { classifyHttpStatus } from '../shared/http-verdict.ts';

/**
 * The shared HTTP classification, plus: 409 Conflict means the receiver already acted on this
 * Idempotency-Key, so the action is done (a duplicate, not a failure).
 */
export function classifyWebhookResponse(response: HttpResponse, now: number): RetryVerdict {
  if (response.status === 409) return { action: 'ok', duplicate: true };
  return classifyHttpStatus(response, now);
}
