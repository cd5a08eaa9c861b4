import type { SinkItem } from '../types.ts';
import type { ElasticsearchSinkConfig } from './config.ts';
import { conformDocument } from './conform.ts';
import { alertDocument, documentId, eventDocument, indexFor } from './documents.ts';
import { ALERT_PROPERTIES, EVENT_PROPERTIES } from './mappings.ts';

type BuildOptions = Pick<
  ElasticsearchSinkConfig,
  'indexPrefix' | 'indexDays' | 'documents' | 'maxBulkBytes'
> & {
  /** When the request is built (ISO): alerts' event.ingested. */
  ingestedAt: string;
  /** Alerts go to this data stream instead of their daily index (templates.ts, installTemplates). */
  alertsDataStream: string | undefined;
};

/** Where an item is written: its daily index, or for an alert the alerts data stream when there is one. */
export function targetOf(
  item: SinkItem,
  options: Pick<BuildOptions, 'indexPrefix' | 'indexDays' | 'alertsDataStream'>,
): string {
  if (item.kind === 'alert' && options.alertsDataStream !== undefined) return options.alertsDataStream;
  return indexFor(options.indexPrefix, item, options.indexDays);
}

/** Consecutive items of a batch that go out as one `_bulk` request, already serialized. */
export interface BulkChunk {
  /** Positions in the batch, in the order of the request (and of its response items). */
  positions: number[];
  /** NDJSON lines: a `create` action, then its document, per item. */
  lines: string[];
}

/** The two NDJSON lines of one item: `create` with a deterministic `_id`, so a redelivery answers 409. */
export function bulkLines(item: SinkItem, options: Omit<BuildOptions, 'maxBulkBytes'>): [string, string] {
  const action = {
    create: { _index: targetOf(item, options), _id: documentId(item) },
  };
  const document =
    item.kind === 'event'
      ? conformDocument(eventDocument(item.event), EVENT_PROPERTIES, options.documents)
      : conformDocument(alertDocument(item.alert, options.ingestedAt), ALERT_PROPERTIES, options.documents);
  return [JSON.stringify(action), JSON.stringify(document)];
}

/**
 * The `_bulk` requests for a batch, each at most `maxBulkBytes` (a single larger item goes alone). An item
 * whose document cannot be built at all is returned apart with the reason, so it fails alone.
 */
export function bulkChunks(
  items: readonly SinkItem[],
  options: BuildOptions,
): { chunks: BulkChunk[]; unbuildable: Array<{ position: number; reason: string }> } {
  const chunks: BulkChunk[] = [];
  const unbuildable: Array<{ position: number; reason: string }> = [];
  let current: BulkChunk = { positions: [], lines: [] };
  let bytes = 0;
  items.forEach((item, position) => {
    let lines: [string, string];
    try {
      lines = bulkLines(item, options);
    } catch (error) {
      unbuildable.push({ position, reason: error instanceof Error ? error.message : String(error) });
      return;
    }
    const size = Buffer.byteLength(lines[0]) + Buffer.byteLength(lines[1]) + 2;
    if (current.positions.length > 0 && bytes + size > options.maxBulkBytes) {
      chunks.push(current);
      current = { positions: [], lines: [] };
      bytes = 0;
    }
    current.positions.push(position);
    current.lines.push(...lines);
    bytes += size;
  });
  if (current.positions.length > 0) chunks.push(current);
  return { chunks, unbuildable };
}
