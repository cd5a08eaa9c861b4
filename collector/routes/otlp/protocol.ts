import { EdrError } from '../../../core/errors.ts';
import {
  type Candidate,
  type Extracted,
  type FramingLimits,
  type IngestOutcome,
  type IngestProtocol,
  malformed,
  mediaType,
  type ProtocolReply,
  readJson,
  tooManyRecords,
} from '../../ingest/index.ts';
import { encode, forEachEmbedded, measure, OtlpMessages } from './proto.ts';
import { AUDIT_ATTRIBUTE_PREFIX, LogRecordSchema, RAW_JSON_ATTRIBUTE } from './schema.ts';
import { type Plain, plainValue, ValueError } from './values.ts';

const PROTOBUF = 'application/x-protobuf';

/** google.rpc.Code for each HTTP status OTLP/HTTP clients act on. */
const RPC_CODE: Readonly<Record<number, number>> = {
  400: 3,
  401: 16,
  403: 7,
  404: 5,
  413: 8,
  415: 3,
  429: 8,
  500: 13,
  503: 14,
};

/** How the request was encoded: the response is encoded the same way. */
interface OtlpContext {
  encoding: 'json' | 'protobuf';
}

/** resourceLogs[].scopeLogs[].logRecords[].attributes[].value: the levels above a record's own values. */
const FRAME_DEPTH = 10;
/** hushd writes about 15 attributes a log record, two objects each: room for four times as many. */
const CONTAINERS_PER_RECORD = 128;

/**
 * OTLP/HTTP logs in JSON or protobuf, each maybe gzipped: every log record is one candidate, its event
 * taken from the hush.audit.raw_json attribute, the body (JSON text or a map), or the hush.audit.*
 * attributes. A refused record is a partial success (200), as the OTLP spec wants; so is an empty request.
 */
export const otlpLogsProtocol: IngestProtocol<OtlpContext> = {
  name: 'otlp_logs',
  mediaTypes: ['application/json'],
  acceptsEmpty: true,
  extract(text, _request, { maxRecords, maxDepth }) {
    if (text.trim() === '') return { candidates: [], context: { encoding: 'json' } };
    // The whole request is one JSON document: bounded before it is parsed, as no record can be singled out.
    const read = readJson(text, maxDepth + FRAME_DEPTH, maxRecords * CONTAINERS_PER_RECORD);
    if (!read.ok) throw new EdrError('EDR_ERR_BAD_REQUEST', read.message);
    const candidates: Candidate[] = [];
    // The frame is walked by hand: resources and scopes count against the record limit like records, and
    // each log record is checked on its own (unwrap), so one bad record costs only itself.
    const resources = arrayAt(read.value, 'resourceLogs', 'resourceLogs');
    let frames = 0;
    for (const [r, resource] of resources.entries()) {
      const scopes = arrayAt(resource, 'scopeLogs', `resourceLogs.${r}.scopeLogs`);
      frames += scopes.length + 1;
      if (frames > maxRecords) throw tooManyRecords(maxRecords);
      for (const [s, scope] of scopes.entries()) {
        const records = arrayAt(scope, 'logRecords', `resourceLogs.${r}.scopeLogs.${s}.logRecords`);
        if (candidates.length + records.length > maxRecords) throw tooManyRecords(maxRecords);
        for (const record of records) candidates.push({ index: candidates.length, record });
      }
    }
    return { candidates, context: { encoding: 'json' } };
  },
  binary: { mediaTypes: [PROTOBUF], extract: extractProtobuf },
  unwrap(candidate, { encoding }, { maxDepth }) {
    if (encoding === 'json') return auditCandidate(candidate.record, candidate.index, maxDepth);
    let decoded: unknown;
    try {
      const { LogRecord } = OtlpMessages;
      decoded = LogRecord.toObject(LogRecord.decode(candidate.record as Uint8Array), {
        longs: String,
        bytes: String,
      });
    } catch (error) {
      return malformed(candidate.index, '(logRecord)', `not a LogRecord: ${(error as Error).message}`);
    }
    return auditCandidate(decoded, candidate.index, maxDepth);
  },
  reply(outcome, { encoding }): ProtocolReply {
    const partial = partialSuccess(outcome);
    if (encoding === 'protobuf') {
      const { ExportLogsServiceResponse } = OtlpMessages;
      const body = encode(ExportLogsServiceResponse, partial ? { partialSuccess: partial } : {});
      return { status: 200, contentType: PROTOBUF, body };
    }
    // OTLP/JSON writes an int64 as a decimal string.
    const body = partial
      ? { partialSuccess: { ...partial, rejectedLogRecords: String(partial.rejectedLogRecords) } }
      : {};
    return { status: 200, body };
  },
  fail(error, request): ProtocolReply {
    const status = { code: RPC_CODE[error.status] ?? 2, message: error.message };
    return mediaType(request.headers) === PROTOBUF
      ? { status: error.status, contentType: PROTOBUF, body: encode(OtlpMessages.Status, status) }
      : { status: error.status, body: status };
  },
};

function partialSuccess(
  outcome: IngestOutcome,
): { rejectedLogRecords: number; errorMessage: string } | undefined {
  if (outcome.rejected === 0) return undefined;
  const errorMessage = outcome.errors
    .map((error) => `[${error.index}] ${error.field}: ${error.message}`)
    .join('; ');
  return { rejectedLogRecords: outcome.rejected, errorMessage };
}

/**
 * The log records of a protobuf ExportLogsServiceRequest, each still encoded (unwrap decodes it on its
 * own). Every record's messages are counted and their nesting measured before anything is decoded: the
 * request's messages share the budget a JSON request has for its objects and arrays, and a record nested
 * deeper than maxDepth messages is that record's error.
 */
function extractProtobuf(
  bytes: Buffer,
  _request: unknown,
  { maxRecords, maxDepth }: FramingLimits,
): Extracted<OtlpContext> {
  const { ExportLogsServiceRequest, ResourceLogs, ScopeLogs, LogRecord } = OtlpMessages;
  const candidates: Candidate[] = [];
  const budget = { remaining: maxRecords * CONTAINERS_PER_RECORD };
  let frames = 0;
  const record = (encoded: Uint8Array) => {
    const index = candidates.length;
    if (index === maxRecords) throw tooManyRecords(maxRecords);
    let over: ReturnType<typeof measure>;
    try {
      over = measure(LogRecord, encoded, maxDepth, budget);
    } catch (error) {
      candidates.push(malformed(index, '(logRecord)', `not a LogRecord: ${(error as Error).message}`));
      return;
    }
    if (over === 'messages') {
      throw new EdrError('EDR_ERR_BAD_REQUEST', `more than ${maxRecords * CONTAINERS_PER_RECORD} messages`);
    }
    candidates.push(
      over === 'depth'
        ? malformed(index, '(logRecord)', `nested deeper than ${maxDepth} messages`)
        : { index, record: encoded },
    );
  };
  const frame = () => {
    if (++frames > maxRecords) throw tooManyRecords(maxRecords);
  };
  try {
    forEachEmbedded(ExportLogsServiceRequest, 'resourceLogs', bytes, (resource) => {
      frame();
      forEachEmbedded(ResourceLogs, 'scopeLogs', resource, (scope) => {
        frame();
        forEachEmbedded(ScopeLogs, 'logRecords', scope, record);
      });
    });
  } catch (error) {
    if (error instanceof EdrError) throw error;
    throw new EdrError('EDR_ERR_BAD_REQUEST', `not an OTLP logs request: ${(error as Error).message}`);
  }
  return { candidates, context: { encoding: 'protobuf' } };
}

/** `parent[key]` when it is an array; absent is empty; anything else is not an OTLP logs request. */
function arrayAt(parent: unknown, key: string, path: string): readonly unknown[] {
  if (typeof parent !== 'object' || parent === null || Array.isArray(parent)) {
    throw new EdrError(
      'EDR_ERR_BAD_REQUEST',
      `not an OTLP logs request: ${path.slice(0, path.lastIndexOf('.'))}: expected an object`,
    );
  }
  const value = (parent as Record<string, unknown>)[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    throw new EdrError('EDR_ERR_BAD_REQUEST', `not an OTLP logs request: ${path}: expected an array`);
  }
  return value;
}

/**
 * The event a log record carries, looked for in this order: the hush.audit.raw_json attribute (JSON text),
 * the body (JSON text, or a map), the hush.audit.* attributes (one field each).
 */
function auditCandidate(input: unknown, index: number, maxDepth: number): Candidate {
  const parsed = LogRecordSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return malformed(index, issue.path.join('.') || '(logRecord)', issue.message);
  }
  const record = parsed.data;
  const attributes = new Map<string, Plain>();
  let body: Plain;
  try {
    for (const [position, { key, value }] of record.attributes.entries()) {
      attributes.set(key, value == null ? null : plainValue(value, `attributes.${position}.value`));
    }
    body = record.body == null ? null : plainValue(record.body, 'body');
  } catch (error) {
    if (error instanceof ValueError) return malformed(index, error.field, error.message);
    throw error;
  }
  const raw = attributes.get(RAW_JSON_ATTRIBUTE);
  if (typeof raw === 'string') return jsonCandidate(index, raw, `attributes.${RAW_JSON_ATTRIBUTE}`, maxDepth);
  if (typeof body === 'string' && body.trimStart().startsWith('{')) {
    return jsonCandidate(index, body, 'body', maxDepth);
  }
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) return { index, record: body };
  const audit: Record<string, unknown> = {};
  for (const [key, value] of attributes) {
    if (key.startsWith(AUDIT_ATTRIBUTE_PREFIX)) audit[key.slice(AUDIT_ATTRIBUTE_PREFIX.length)] = value;
  }
  if (Object.keys(audit).length === 0) {
    return malformed(
      index,
      'body',
      `expected an event in the body (JSON text or a map), ${RAW_JSON_ATTRIBUTE} or ${AUDIT_ATTRIBUTE_PREFIX}* attributes`,
    );
  }
  if (audit.timestamp === undefined && record.timeUnixNano !== undefined) {
    const millis = nanosToMillis(record.timeUnixNano);
    if (millis === undefined) return malformed(index, 'timeUnixNano', 'expected epoch nanoseconds (digits)');
    audit.timestamp = millis;
  }
  return { index, record: audit, format: 'hushd_audit' };
}

function jsonCandidate(index: number, text: string, field: string, maxDepth: number): Candidate {
  const read = readJson(text, maxDepth);
  return read.ok ? { index, record: read.value } : malformed(index, field, read.message);
}

const NANOS = /^\d{1,30}$/;

/** Epoch nanoseconds (a decimal string, or a number) as milliseconds; undefined when it is neither. */
function nanosToMillis(nanos: string | number): number | undefined {
  if (typeof nanos === 'number')
    return Number.isFinite(nanos) && nanos >= 0 ? Math.floor(nanos / 1e6) : undefined;
  // As a string, full precision: milliseconds keep it as a number.
  return NANOS.test(nanos) ? Number(BigInt(nanos) / 1_000_000n) : undefined;
}
