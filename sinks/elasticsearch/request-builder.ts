import type { estypes } from '@elastic/elasticsearch';
import { itemId, itemTimestamp, type SinkItem } from '../types.ts';
import { alertDocument, type EcsDocument, eventDocument, indexName } from './documents.ts';

/**
 * The `_bulk` body for a batch: one `create` per item, `_id` = eventId / alertId, so a redelivered item is
 * answered 409 instead of being stored twice. Response items come back in this order.
 */
export function bulkOperations(
  items: readonly SinkItem[],
  prefix: string,
): Array<estypes.BulkOperationContainer | EcsDocument> {
  const operations: Array<estypes.BulkOperationContainer | EcsDocument> = [];
  for (const item of items) {
    operations.push(
      { create: { _index: indexName(prefix, item.kind, itemTimestamp(item)), _id: itemId(item) } },
      item.kind === 'event' ? eventDocument(item.event) : alertDocument(item.alert),
    );
  }
  return operations;
}
