import { EdrError } from '../../../core/errors.ts';
import { detectFormat } from '../../../engine/model/index.ts';
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
import type { RecordRejectReason } from '../../plugins/metrics/index.ts';
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

/**
 * How Elasticsearch reports a refused item of each kind: the status its clients act on (helpers.bulk and
 * Beats retry 429 and 503 items, drop 4xx ones) and the error type it names. Anything not listed is a
 * document the cluster could not parse: 400 document_parsing_exception.
 */
const ITEM_REFUSAL: Partial<Record<RecordRejectReason, { status: number; type: string }>> = {
  rate_limited: { status: 429, type: 'es_rejected_execution_exception' },
  broker_unavailable: { status: 503, type: 'unavailable_shards_exception' },
  forbidden_agent: { status: 403, type: 'security_exception' },
  conflict: { status: 409, type: 'version_conflict_engine_exception' },
  too_large: { status: 400, type: 'illegal_argument_exception' },
  internal: { status: 500, type: 'exception' },
};
const UNPARSABLE = { status: 400, type: 'document_parsing_exception' };

function refusedItem(result: Extract<RecordResult, { errors: unknown }>) {
  const { status, type } = ITEM_REFUSAL[result.reason] ?? UNPARSABLE;
  const reason = result.errors.map((error) => `${error.field}: ${error.message}`).join('; ');
  return { status, error: { type, reason } };
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

/**
 * An ECS document without `event.id` (Beats-style shippers send none) takes the `_id` it was sent under;
 * one sent without either gets a digest of its content when it is normalized (engine/model/inputs/ecs.ts).
 * Other formats carry ids of their own and are left as they are.
 */
function withDocumentId(candidate: Candidate, id: string | undefined): Candidate {
  const { record } = candidate;
  if (id === undefined || typeof record !== 'object' || record === null || Array.isArray(record))
    return candidate;
  const document = record as Record<string, unknown>;
  if (detectFormat(document) !== 'hushd_ecs') return candidate;
  const event = document.event;
  const fields = typeof event === 'object' && event !== null && !Array.isArray(event) ? event : {};
  const own = (fields as Record<string, unknown>).id;
  if (own !== undefined && own !== null) return candidate;
  return { ...candidate, record: { ...document, event: { ...fields, id } } };
}

/** Elasticsearch's own media types, which its clients send (`compatible-with=N` is a parameter). */
const JSON_TYPES = ['application/json', 'application/vnd.elasticsearch+json'];
const NDJSON_TYPES = ['application/x-ndjson', 'application/vnd.elasticsearch+x-ndjson'];

interface DocContext {
  index: string;
  id: string | undefined;
}

/**
 * `POST /<index>/_doc`, `PUT|POST /<index>/_doc/<id>` and `/<index>/_create/<id>`: one document (hushd's
 * audit_forward elastic sink sends its AuditEvent as is; Beats-style shippers an ECS document).
 */
export const elasticDocProtocol: IngestProtocol<DocContext> = {
  name: 'elastic_doc',
  mediaTypes: JSON_TYPES,
  extract(text, request) {
    const context = { index: routeParam(request, 'index') ?? '_doc', id: routeParam(request, 'id') };
    return { candidates: [{ index: 0, text }], context };
  },
  unwrap: (candidate, { id }) => withDocumentId(candidate, id),
  reply(outcome, { index }) {
    const result = outcome.results[0]!;
    if ('eventId' in result) return { status: 201, body: created(index, result.eventId) };
    const { status, error } = refusedItem(result);
    return { status, body: { error, status } };
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
  mediaTypes: [...NDJSON_TYPES, ...JSON_TYPES],
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
  unwrap: (candidate, { items }) => withDocumentId(candidate, items[candidate.index]?.id),
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

/**
 * The version the routes answer as: the major is what `compatible-with=` media types name and what shippers
 * check (Logstash refuses a major it does not know; Filebeat one older than itself unless
 * allow_older_versions, its default since 8.13).
 */
export const COMPATIBLE_VERSION = '9.0.0';

/** `GET /`: the root info clients read first (the official client's `info()`, Logstash's version check). */
export function clusterInfo() {
  return {
    name: 'clawdstrike-edr-collector',
    cluster_name: 'clawdstrike-edr',
    cluster_uuid: '_na_',
    version: {
      number: COMPATIBLE_VERSION,
      build_flavor: 'default',
      build_type: 'clawdstrike-edr',
      build_hash: 'unknown',
      build_date: '1970-01-01T00:00:00.000Z',
      build_snapshot: false,
      lucene_version: 'none',
      minimum_wire_compatibility_version: COMPATIBLE_VERSION,
      minimum_index_compatibility_version: COMPATIBLE_VERSION,
    },
    tagline: 'You Know, for Search',
  };
}
