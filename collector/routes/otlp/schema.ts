import { z } from 'zod';

/** OTLP AnyValue in its JSON mapping; int64 values arrive as strings. */
export const AnyValueSchema = z.looseObject({
  stringValue: z.string().optional(),
  boolValue: z.boolean().optional(),
  intValue: z.union([z.string(), z.number()]).optional(),
  doubleValue: z.number().optional(),
});

export const KeyValueSchema = z.looseObject({ key: z.string(), value: AnyValueSchema.optional() });

/** One log record of an ExportLogsServiceRequest (OTLP/HTTP JSON), checked on its own. */
export const LogRecordSchema = z.looseObject({
  timeUnixNano: z.union([z.string(), z.number()]).optional(),
  observedTimeUnixNano: z.union([z.string(), z.number()]).optional(),
  severityText: z.string().optional(),
  body: AnyValueSchema.optional(),
  attributes: z.array(KeyValueSchema).default([]),
});

/** hushd's otlp_http sink: the whole AuditEvent in one attribute, and its fields one per attribute. */
export const RAW_JSON_ATTRIBUTE = 'hush.audit.raw_json';
export const AUDIT_ATTRIBUTE_PREFIX = 'hush.audit.';
