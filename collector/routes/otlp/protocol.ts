import { EdrError } from '../../../core/errors.ts';
import {
  type Candidate,
  type IngestProtocol,
  malformed,
  type ProtocolReply,
  readJson,
  tooManyRecords,
} from '../../ingest/index.ts';
import { AUDIT_ATTRIBUTE_PREFIX, LogRecordSchema, RAW_JSON_ATTRIBUTE } from './schema.ts';

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

/**
 * OTLP/HTTP JSON logs: every log record is one candidate, its AuditEvent taken from hush.audit.raw_json
 * or rebuilt from the hush.audit.* attributes. Partial success is a 200, as the OTLP spec wants.
 */
export const otlpLogsProtocol: IngestProtocol = {
  name: 'otlp_logs',
  mediaTypes: ['application/json'],
  extract(text, _request, { maxRecords, maxDepth }) {
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
    return { candidates, context: undefined };
  },
  unwrap: (candidate, _context, { maxDepth }) => auditCandidate(candidate.record, candidate.index, maxDepth),
  reply(outcome) {
    if (outcome.rejected === 0) return { status: 200, body: {} };
    const errorMessage = outcome.errors
      .map((error) => `[${error.index}] ${error.field}: ${error.message}`)
      .join('; ');
    return { status: 200, body: { partialSuccess: { rejectedLogRecords: outcome.rejected, errorMessage } } };
  },
  fail(error): ProtocolReply {
    return { status: error.status, body: { code: RPC_CODE[error.status] ?? 2, message: error.message } };
  },
};

/** resourceLogs[].scopeLogs[].logRecords[].attributes[].value: the levels above a record's own values. */
const FRAME_DEPTH = 10;
/** hushd writes about 15 attributes a log record, two objects each: room for four times as many. */
const CONTAINERS_PER_RECORD = 128;

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

function auditCandidate(input: unknown, index: number, maxDepth: number): Candidate {
  const parsed = LogRecordSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return malformed(index, issue.path.join('.') || '(logRecord)', issue.message);
  }
  const record = parsed.data;
  const attributes = new Map<string, string | number | boolean>();
  for (const { key, value } of record.attributes) {
    const scalar = value?.stringValue ?? value?.intValue ?? value?.boolValue ?? value?.doubleValue;
    if (scalar !== undefined) attributes.set(key, scalar);
  }
  const raw = attributes.get(RAW_JSON_ATTRIBUTE);
  if (typeof raw === 'string') {
    const read = readJson(raw, maxDepth);
    return read.ok
      ? { index, record: read.value }
      : malformed(index, `attributes.${RAW_JSON_ATTRIBUTE}`, read.message);
  }
  const audit: Record<string, unknown> = {};
  for (const [key, value] of attributes) {
    if (key.startsWith(AUDIT_ATTRIBUTE_PREFIX)) audit[key.slice(AUDIT_ATTRIBUTE_PREFIX.length)] = value;
  }
  if (Object.keys(audit).length === 0) {
    return malformed(
      index,
      'attributes',
      `expected ${RAW_JSON_ATTRIBUTE} or ${AUDIT_ATTRIBUTE_PREFIX}* attributes`,
    );
  }
  if (audit.timestamp === undefined && record.timeUnixNano !== undefined) {
    const millis = nanosToMillis(record.timeUnixNano);
    if (millis === undefined) return malformed(index, 'timeUnixNano', 'expected epoch nanoseconds (digits)');
    audit.timestamp = millis;
  }
  return { index, record: audit, format: 'hushd_audit' };
}

const NANOS = /^\d{1,30}$/;

/** Epoch nanoseconds (a decimal string, or a number) as milliseconds; undefined when it is neither. */
function nanosToMillis(nanos: string | number): number | undefined {
  if (typeof nanos === 'number')
    return Number.isFinite(nanos) && nanos >= 0 ? Math.floor(nanos / 1e6) : undefined;
  // As a string, full precision: milliseconds keep it as a number.
  return NANOS.test(nanos) ? Number(BigInt(nanos) / 1_000_000n) : undefined;
}
