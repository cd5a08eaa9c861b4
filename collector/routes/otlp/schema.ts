import { z } from 'zod';

/** OTLP AnyValue in its JSON mapping; int64 values arrive as strings. */
export const AnyValueSchema = z.looseObject({
  stringValue: z.string().optional(),
  boolValue: z.boolean().optional(),
  intValue: z.union([z.string(), z.number()]).optional(),
  doubleValue: z.number().optional(),
});

export const KeyValueSchema = z.looseObject({ key: z.string(), value: AnyValueSchema.optional() });

export const LogRecordSchema = z.looseObject({
  timeUnixNano: z.union([z.string(), z.number()]).optional(),
  observedTimeUnixNano: z.union([z.string(), z.number()]).optional(),
  severityText: z.string().optional(),
  body: AnyValueSchema.optional(),
  attributes: z.array(KeyValueSchema).default([]),
});
export type LogRecord = z.infer<typeof LogRecordSchema>;

/** ExportLogsServiceRequest, OTLP/HTTP JSON encoding; its log records are checked one by one (LogRecordSchema). */
export const ExportLogsRequestSchema = z.looseObject({
  resourceLogs: z
    .array(
      z.looseObject({
        scopeLogs: z.array(z.looseObject({ logRecords: z.array(z.unknown()).default([]) })).default([]),
      }),
    )
    .default([]),
});

/** hushd's otlp_http sink: the whole AuditEvent in one attribute, and its fields one per attribute. */
export const RAW_JSON_ATTRIBUTE = 'hush.audit.raw_json';
export const AUDIT_ATTRIBUTE_PREFIX = 'hush.audit.';
