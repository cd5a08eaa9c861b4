import { EdrError } from '../../../core/errors.ts';
import {
  type Candidate,
  type IngestProtocol,
  malformed,
  type ProtocolReply,
  readJson,
  tooManyRecords,
} from '../../ingest/index.ts';
import {
  AUDIT_ATTRIBUTE_PREFIX,
  ExportLogsRequestSchema,
  LogRecordSchema,
  RAW_JSON_ATTRIBUTE,
} from './schema.ts';

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
    const read = readJson(text, maxDepth + FRAME_DEPTH);
    if (!read.ok) throw new EdrError('EDR_ERR_BAD_REQUEST', read.message);
    // The request's frame is checked whole; each log record on its own, so one bad record costs only itself.
    const parsed = ExportLogsRequestSchema.safeParse(read.value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new EdrError(
        'EDR_ERR_BAD_REQUEST',
        `not an OTLP logs request: ${issue.path.join('.')}: ${issue.message}`,
      );
    }
    const candidates: Candidate[] = [];
    for (const resource of parsed.data.resourceLogs) {
      for (const scope of resource.scopeLogs) {
        if (candidates.length + scope.logRecords.length > maxRecords) throw tooManyRecords(maxRecords);
        for (const record of scope.logRecords) candidates.push({ index: candidates.length, record });
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
