import { errors, type estypes } from '@elastic/elasticsearch';
import type { RetryVerdict } from '../driver/verdict.ts';
import { retryAfterMs } from '../shared/http-verdict.ts';
import { DUPLICATE, type ItemOutcome, WRITTEN } from '../types.ts';

/**
 * Per-item errors that describe the cluster, not the document: a shard not yet recovered after a restart,
 * a full write queue, a memory breaker, no master yet. Waited out, never held against the item.
 */
const CLUSTER_TROUBLE = new Set([
  'unavailable_shards_exception',
  'no_shard_available_action_exception',
  'primary_missing_action_exception',
  'shard_not_found_exception',
  'node_not_connected_exception',
  'node_closed_exception',
  'connect_transport_exception',
  'node_disconnected_exception',
  'send_request_transport_exception',
  'receive_timeout_transport_exception',
  'process_cluster_event_timeout_exception',
  'es_rejected_execution_exception',
  'circuit_breaking_exception',
  'cluster_block_exception',
  'master_not_discovered_exception',
  'not_master_exception',
]);

/** Refusals that need an operator, not another document: a write block, a closed index, no permission. */
const NEEDS_OPERATOR_STATUSES = new Set([401, 403, 404]);
const NEEDS_OPERATOR_TYPES = new Set(['index_closed_exception', 'cluster_block_exception']);

/**
 * A bulk response judged item by item: 409 is an earlier delivery of the same `_id`; 429 and cluster trouble
 * are waited out; a write block, a closed or missing index or a missing permission blocks the route; an
 * unexplained 5xx is retried but held against the item; any other 4xx (a mapping conflict, a document
 * Elasticsearch cannot parse) is that item's own and final.
 */
export function classifyBulkResponse(response: estypes.BulkResponse): RetryVerdict {
  if (!response.errors) return { action: 'ok' };
  return { action: 'retry-these-items', outcomes: response.items.map(itemOutcome) };
}

function itemOutcome(
  entry: Partial<Record<estypes.BulkOperationType, estypes.BulkResponseItem>>,
): ItemOutcome {
  const result = entry.create ?? Object.values(entry)[0];
  if (!result) return { status: 'refused', reason: 'empty bulk response item', code: 'empty_response' };
  const { status, error } = result;
  if (status >= 200 && status < 300) return WRITTEN;
  if (status === 409) return DUPLICATE;
  const type = error?.type ?? `http_${status}`;
  // The index named: a mixed batch spans several, and the fix (a mapping, a block) is per index.
  const where = result._index ? ` in ${result._index}` : '';
  const reason = `${status} ${error?.type ?? 'error'}${where}: ${error?.reason ?? ''}${causeOf(error)}`;
  if (status === 429 || (status >= 500 && CLUSTER_TROUBLE.has(type))) return { status: 'retryable', reason };
  if (NEEDS_OPERATOR_STATUSES.has(status) || NEEDS_OPERATOR_TYPES.has(type))
    return { status: 'blocked', reason };
  // Any other 5xx on one document may be that document's doing: retried, but counted against it.
  if (status >= 500) return { status: 'retryable', reason, suspect: true };
  return { status: 'permanent', reason, code: type };
}

function causeOf(error: estypes.BulkResponseItem['error']): string {
  const cause = error?.caused_by;
  return cause ? ` (${cause.type}: ${cause.reason ?? ''})` : '';
}

/**
 * A request that failed as a whole: transport trouble, 429 and 5xx are an outage; 401/403/404 need an
 * operator; any other 4xx (a 400 for one bad action line, 413 for a huge document) refuses the request,
 * which the driver then splits to find the one item at fault.
 */
export function classifyBulkError(error: unknown, now: number): RetryVerdict {
  if (error instanceof errors.ResponseError) {
    const status = error.statusCode ?? 0;
    const reason = `HTTP ${status}: ${error.message.slice(0, 300)}`;
    if (status === 429 || status >= 500 || status === 0) {
      const verdict: RetryVerdict = { action: 'retry', reason };
      const wait = retryAfterMs(error.headers?.['retry-after'], now);
      if (wait !== undefined) verdict.retryAfterMs = wait;
      return verdict;
    }
    if (NEEDS_OPERATOR_STATUSES.has(status)) return { action: 'unusable', reason };
    return { action: 'refuse', reason, code: `http_${status}` };
  }
  if (
    error instanceof errors.ConnectionError ||
    error instanceof errors.TimeoutError ||
    error instanceof errors.NoLivingConnectionsError
  ) {
    return { action: 'retry', reason: `${error.name}: ${error.message}` };
  }
  return {
    action: 'refuse',
    reason: error instanceof Error ? error.message : String(error),
    code: 'client_error',
  };
}
