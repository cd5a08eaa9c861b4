import { z } from 'zod';
import { AlertSchema } from '../engine/alert.ts';
import { RuleFileSchema } from '../engine/index.ts';
import {
  AuditEventSchema,
  EnvelopeSchema,
  HushdEcsDocumentSchema,
  HushdWebhookSchema,
  PolicyEventDocumentSchema,
  SecurityEventSchema,
} from '../engine/model/index.ts';

/** Every published JSON Schema, by file name under schemas/. The zod schemas are the source of truth. */
export const PUBLISHED_SCHEMAS: Readonly<Record<string, z.ZodType>> = {
  'policy-event.v1.schema.json': PolicyEventDocumentSchema,
  'hushd-audit-event.v1.schema.json': AuditEventSchema,
  'hushd-security-event.1.0.0.schema.json': SecurityEventSchema,
  'hushd-webhook.schema.json': HushdWebhookSchema,
  'hushd-ecs-document.schema.json': HushdEcsDocumentSchema,
  'envelope.v1.schema.json': EnvelopeSchema,
  'alert.v1.schema.json': AlertSchema,
  'rule-file.schema.json': RuleFileSchema,
};

/** The exact text written for one schema, so the export and the freshness test agree byte for byte. */
export function renderSchema(name: string, schema: z.ZodType): string {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return `${JSON.stringify({ $id: name, ...json }, null, 2)}\n`;
}
