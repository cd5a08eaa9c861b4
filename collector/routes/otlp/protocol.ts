import { EdrError } from '../../../core/errors.ts';
import {
  type Candidate,
  type IngestProtocol,
  isolated,
  malformed,
  type ProtocolReply,
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
  extract(text, _request, maxRecords) {
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (error) {
      throw new EdrError('EDR_ERR_BAD_REQUEST', `invalid JSON: ${(error as Error).message}`);
    }
    // The request's frame is checked whole; each log record on its own, so one bad record costs only itself.
    const parsed = ExportLogsRequestSchema.safeParse(document);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new EdrError(
        'EDR_ERR_BAD_REQUEST',
        `not an OTLP logs request: ${issue.path.join('.')}: ${issue.message}`,
      );
    }
    const records: unknown[] = [];
    for (const resource of parsed.data.resourceLogs) {
      for (const scope of resource.scopeLogs) {
        if (records.length + scope.logRecords.length > maxRecords) throw tooManyRecords(maxRecords);
        records.push(...scope.logRecords);
      }
    }
    const candidates = records.map((record, index) =>
      isolated(index, undefined, () => auditCandidate(record, index)),
    );
    return { candidates, context: undefined };
  },
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

function auditCandidate(input: unknown, index: number): Candidate {
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
    try {
      return { index, record: JSON.parse(raw) };
    } catch (error) {
      return malformed(
        index,
        `attributes.${RAW_JSON_ATTRIBUTE}`,
        `invalid JSON: ${(error as Error).message}`,
      );
    }
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
