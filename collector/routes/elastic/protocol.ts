import { EdrError } from '../../../core/errors.ts';
import {
  type Candidate,
  forEachLine,
  type IngestOutcome,
  type IngestProtocol,
  malformed,
  type ProtocolReply,
  type RecordResult,
  readJson,
  tooManyRecords,
} from '../../ingest/index.ts';
import { type BulkActionName, BulkActionSchema } from './schema.ts';

/** Accepted documents look indexed to the sender: its `_id` is our eventId. */
function created(index: string, id: string) {
  return {
    _index: index,
    _id: id,
    _version: 1,
    result: 'created',
    _shards: { total: 1, successful: 1, failed: 0 },
    _seq_no: 0,
    _primary_term: 1,
  };
}

function documentError(result: Extract<RecordResult, { errors: unknown }>) {
  const reason = result.errors.map((error) => `${error.field}: ${error.message}`).join('; ');
  return { type: 'document_parsing_exception', reason };
}

/** A refused item as Elasticsearch reports it: 429 (the client retries that item) or 400 (it never will). */
function refusedItem(result: Extract<RecordResult, { errors: unknown }>) {
  if (result.reason !== 'rate_limited') return { status: 400, error: documentError(result) };
  const reason = result.errors.map((error) => error.message).join('; ');
  return { status: 429, error: { type: 'es_rejected_execution_exception', reason } };
}

const ERROR_TYPE: Readonly<Record<number, string>> = {
  401: 'security_exception',
  403: 'security_exception',
  413: 'content_too_long_exception',
  429: 'es_rejected_execution_exception',
  503: 'unavailable_shards_exception',
};

function elasticFail(error: EdrError): ProtocolReply {
  const type = ERROR_TYPE[error.status] ?? (error.status < 500 ? 'illegal_argument_exception' : 'exception');
  return { status: error.status, body: { error: { type, reason: error.message }, status: error.status } };
}

function routeParam(request: { params: unknown }, name: string): string | undefined {
  const value = (request.params as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
}

/** `POST /<index>/_doc`: one document (hushd's audit_forward elastic sink sends its AuditEvent as is). */
export const elasticDocProtocol: IngestProtocol<{ index: string }> = {
  name: 'elastic_doc',
  mediaTypes: ['application/json'],
  extract(text, request) {
    return { candidates: [{ index: 0, text }], context: { index: routeParam(request, 'index') ?? '_doc' } };
  },
  reply(outcome, { index }) {
    const result = outcome.results[0]!;
    if ('eventId' in result) return { status: 201, body: created(index, result.eventId) };
    return { status: 400, body: { error: documentError(result), status: 400 } };
  },
  fail: elasticFail,
};

interface BulkItem {
  action: BulkActionName;
  index: string;
  id?: string;
}

interface BulkContext {
  items: BulkItem[];
  startedAt: number;
}

/**
 * `POST /_bulk`: NDJSON action/document pairs (hushd's SIEM elastic exporter). index and create carry a
 * document; update and delete are refused per item. A broken action line fails the whole request, as in
 * Elasticsearch, because the pairing after it cannot be trusted.
 */
export const elasticBulkProtocol: IngestProtocol<BulkContext> = {
  name: 'elastic_bulk',
  mediaTypes: ['application/x-ndjson', 'application/json'],
  extract(text, request, { maxRecords, maxDepth }) {
    const defaultIndex = routeParam(request, 'index') ?? '_bulk';
    const candidates: Candidate[] = [];
    const items: BulkItem[] = [];
    /** The action whose document line comes next, if any. */
    let pending = undefined as { item: number; name: BulkActionName } | undefined;
    forEachLine(text, (line, lineNumber) => {
      if (pending) {
        const { item } = pending;
        const name = pending.name;
        pending = undefined;
        if (name === 'update') {
          candidates.push(malformed(item, '(action)', 'update is not supported', lineNumber));
          return;
        }
        candidates.push({ index: item, line: lineNumber, text: line });
        return;
      }
      if (line.trim() === '') return;
      if (items.length === maxRecords) throw tooManyRecords(maxRecords);
      const action = parseAction(line, lineNumber, maxDepth);
      const bulkItem: BulkItem = { action: action.name, index: action.meta._index ?? defaultIndex };
      if (action.meta._id !== undefined) bulkItem.id = action.meta._id;
      const index = items.length;
      items.push(bulkItem);
      if (action.name === 'delete') {
        candidates.push(malformed(index, '(action)', 'delete is not supported', lineNumber));
        return;
      }
      pending = { item: index, name: action.name };
    });
    // An action on the last line whose document never came.
    if (pending) {
      const { item } = pending;
      candidates.push(malformed(item, '(document)', 'missing the document line after its action'));
    }
    return { candidates, context: { items, startedAt: performance.now() } };
  },
  reply(outcome: IngestOutcome, { items, startedAt }) {
    const responses = outcome.results.map((result) => {
      const item = items[result.index]!;
      const body =
        'eventId' in result
          ? { ...created(item.index, result.eventId), status: 201 }
          : { _index: item.index, _id: item.id ?? null, ...refusedItem(result) };
      return { [item.action]: body };
    });
    const took = Math.round(performance.now() - startedAt);
    return { status: 200, body: { took, errors: outcome.rejected > 0, items: responses } };
  },
  fail: elasticFail,
};

function parseAction(line: string, lineNumber: number, maxDepth: number) {
  const read = readJson(line, maxDepth);
  if (!read.ok) throw new EdrError('EDR_ERR_BAD_REQUEST', `malformed action/metadata line [${lineNumber}]`);
  const parsed = BulkActionSchema.safeParse(read.value);
  if (!parsed.success)
    throw new EdrError('EDR_ERR_BAD_REQUEST', `malformed action/metadata line [${lineNumber}]`);
  const [name, meta] = Object.entries(parsed.data)[0]! as [BulkActionName, { _index?: string; _id?: string }];
  return { name, meta };
}
