import { z } from 'zod';

/** An int64 or fixed64 in OTLP/JSON: a decimal string, though some senders write a number. */
const Int64Schema = z.union([z.string(), z.number()]);

/** An AnyValue, walked by plainValue (values.ts) once its depth is known to be bounded. */
export const KeyValueSchema = z.looseObject({ key: z.string(), value: z.unknown().optional() });

/**
 * One log record of an ExportLogsServiceRequest, checked on its own; a protobuf record, once decoded,
 * has the same shape (int64 as decimal strings, bytes as base64: only trace and span ids, which are not
 * read, differ from OTLP/JSON's hex).
 */
export const LogRecordSchema = z.looseObject({
  timeUnixNano: Int64Schema.optional(),
  observedTimeUnixNano: Int64Schema.optional(),
  severityText: z.string().optional(),
  body: z.unknown().optional(),
  attributes: z.array(KeyValueSchema).default([]),
});

/** hushd's otlp_http sink: the whole AuditEvent in one attribute, and its fields one per attribute. */
export const RAW_JSON_ATTRIBUTE = 'hush.audit.raw_json';
export const AUDIT_ATTRIBUTE_PREFIX = 'hush.audit.';
