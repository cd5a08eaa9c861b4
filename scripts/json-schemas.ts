import { z } from 'zod';
import { AlertSchema } from '../engine/alert.ts';
import { ClawdstrikePolicySchema, RuleFileSchema } from '../engine/index.ts';
import {
  AuditEventSchema,
  EnvelopeSchema,
  HushdEcsDocumentSchema,
  HushdWebhookSchema,
  PolicyEventDocumentSchema,
  SecurityEventSchema,
  SNAKE_CASE_ALIASED,
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
  'clawdstrike-policy.schema.json': ClawdstrikePolicySchema,
};

/** The exact text written for one schema, so the export and the freshness test agree byte for byte. */
export function renderSchema(name: string, schema: z.ZodType): string {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', override: listAliases });
  return `${JSON.stringify({ $id: name, ...json }, null, 2)}\n`;
}

type JsonObject = { properties?: Record<string, unknown>; required?: string[]; allOf?: unknown[] };

/**
 * In an object parseRecord reads with snake_case aliases, each aliased field is also a property under its
 * alias, and a required one is required under either name.
 */
function listAliases({ zodSchema, jsonSchema }: { zodSchema: unknown; jsonSchema: object }): void {
  const aliases = SNAKE_CASE_ALIASED.get(zodSchema as z.ZodType)?.aliases;
  const json = jsonSchema as JsonObject;
  if (!aliases || !json.properties) return;
  const eitherName: unknown[] = [];
  for (const [alias, field] of Object.entries(aliases)) {
    if (!Object.hasOwn(json.properties, field)) continue;
    json.properties[alias] = json.properties[field];
    if (!json.required?.includes(field)) continue;
    json.required = json.required.filter((name) => name !== field);
    // Each branch names its property: ajv strict checks every `required` against `properties` beside it.
    const present = (name: string) => ({ properties: { [name]: true }, required: [name] });
    eitherName.push({ anyOf: [present(field), present(alias)] });
  }
  if (json.required?.length === 0) delete json.required;
  if (eitherName.length > 0) json.allOf = [...(json.allOf ?? []), ...eitherName];
}
