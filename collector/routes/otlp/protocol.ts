import { EdrError } from '../../../core/errors.ts';
import { type Candidate, type IngestProtocol, malformed, type ProtocolReply } from '../../ingest/index.ts';
import {
  AUDIT_ATTRIBUTE_PREFIX,
  ExportLogsRequestSchema,
  type LogRecord,
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
  extract(text) {
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (error) {
      throw new EdrError('EDR_ERR_BAD_REQUEST', `invalid JSON: ${(error as Error).message}`);
    }
    const parsed = ExportLogsRequestSchema.safeParse(document);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new EdrError(
        'EDR_ERR_BAD_REQUEST',
        `not an OTLP logs request: ${issue.path.join('.')}: ${issue.message}`,
      );
    }
    const records = parsed.data.resourceLogs.flatMap((resource) =>
      resource.scopeLogs.flatMap((scope) => scope.logRecords),
    );
    return { candidates: records.map((record, index) => auditCandidate(record, index)), context: undefined };
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

function auditCandidate(record: LogRecord, index: number): Candidate {
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
  // Epoch nanoseconds as a string: milliseconds keep full precision as a number.
  if (audit.timestamp === undefined && record.timeUnixNano !== undefined) {
    audit.timestamp = Number(BigInt(record.timeUnixNano) / 1_000_000n);
  }
  return { index, record: audit, format: 'hushd_audit' };
}
