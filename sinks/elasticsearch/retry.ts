import { errors, type estypes } from '@elastic/elasticsearch';
import type { RetryVerdict } from '../driver/verdict.ts';
import { retryAfterMs } from '../shared/http-verdict.ts';
import { DUPLICATE, type ItemOutcome, WRITTEN } from '../types.ts';

/** A bulk response judged item by item: only 429s and 5xx are sent again. */
export function classifyBulkResponse(response: estypes.BulkResponse): RetryVerdict {
  if (!response.errors) return { action: 'ok' };
  return { action: 'retry-these-items', outcomes: response.items.map(itemOutcome) };
}

function itemOutcome(
  entry: Partial<Record<estypes.BulkOperationType, estypes.BulkResponseItem>>,
): ItemOutcome {
  const result = entry.create ?? Object.values(entry)[0];
  if (!result) return { status: 'permanent', reason: 'empty bulk response item' };
  const { status, error } = result;
  if (status >= 200 && status < 300) return WRITTEN;
  // create with an _id that exists: the item was written by an earlier delivery.
  if (status === 409) return DUPLICATE;
  const reason = `${status} ${error?.type ?? 'error'}: ${error?.reason ?? ''}${causeOf(error)}`;
  return status === 429 || status >= 500 ? { status: 'retryable', reason } : { status: 'permanent', reason };
}

function causeOf(error: estypes.BulkResponseItem['error']): string {
  const cause = error?.caused_by;
  return cause ? ` (${cause.type}: ${cause.reason ?? ''})` : '';
}

/** A bulk request that failed as a whole: transport trouble, 429 and 5xx retry; 4xx (auth, bad request) gives up. */
export function classifyBulkError(error: unknown, now: number): RetryVerdict {
  if (error instanceof errors.ResponseError) {
    const status = error.statusCode ?? 0;
    const reason = `HTTP ${status}: ${error.message.slice(0, 300)}`;
    if (status === 429 || status >= 500) {
      const verdict: RetryVerdict = { action: 'retry', reason };
      const wait = retryAfterMs(error.headers?.['retry-after'], now);
      if (wait !== undefined) verdict.retryAfterMs = wait;
      return verdict;
    }
    return { action: 'give-up', reason };
  }
  if (
    error instanceof errors.ConnectionError ||
    error instanceof errors.TimeoutError ||
    error instanceof errors.NoLivingConnectionsError
  ) {
    return { action: 'retry', reason: `${error.name}: ${error.message}` };
  }
  return { action: 'give-up', reason: error instanceof Error ? error.message : String(error) };
}
