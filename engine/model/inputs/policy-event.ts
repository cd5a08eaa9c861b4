import { z } from 'zod';
import { FreeObjectSchema, optionalString, TimestampInputSchema } from './common.ts';

/** snake_case spellings accepted on input, and the canonical camelCase name each stands for. */
export const POLICY_EVENT_ALIASES: Readonly<Record<string, string>> = {
  event_id: 'eventId',
  event_type: 'eventType',
  session_id: 'sessionId',
  run_id: 'runId',
  agent_id: 'agentId',
  file_path: 'filePath',
  content_hash: 'contentHash',
  content_base64: 'contentBase64',
  tool_name: 'toolName',
  working_dir: 'workingDir',
  patch_content: 'patchContent',
  patch_hash: 'patchHash',
  secret_name: 'secretName',
  custom_type: 'customType',
  trace_id: 'traceId',
  tool_kind: 'toolKind',
  tool_provider: 'toolProvider',
  policy_hash: 'policyHash',
};

/**
 * Canonical padded base64, the same test as z.base64(); published as a pattern with `contentEncoding`, since
 * JSON Schema has no `base64` format (ajv strict refuses the unknown format z.base64() exports).
 */
const Base64Schema = z
  .string()
  .regex(/^(?:[0-9a-zA-Z+/]{4})*(?:[0-9a-zA-Z+/]{2}==|[0-9a-zA-Z+/]{3}=)?$/, 'expected base64')
  .meta({ contentEncoding: 'base64' });

const Sha256Ref = z
  .string()
  .regex(/^sha256:[0-9a-fA-F]{64}$/, 'expected "sha256:" followed by 64 hex digits');

export const FileDataSchema = z.looseObject({
  type: z.literal('file'),
  path: z.string().min(1),
  operation: z.enum(['read', 'write']).nullish(),
  content: optionalString,
  contentBase64: Base64Schema.nullish(),
  contentHash: Sha256Ref.nullish(),
});
export const NetworkDataSchema = z.looseObject({
  type: z.literal('network'),
  host: z.string().min(1),
  port: z.int().min(1).max(65535),
  protocol: optionalString,
  url: optionalString,
});
export const CommandDataSchema = z.looseObject({
  type: z.literal('command'),
  command: z.string().min(1),
  args: z.array(z.string()).nullish(),
  workingDir: optionalString,
});
export const PatchDataSchema = z.looseObject({
  type: z.literal('patch'),
  filePath: z.string().min(1),
  patchContent: z.string(),
  patchHash: Sha256Ref.nullish(),
});
export const ToolDataSchema = z.looseObject({
  type: z.literal('tool'),
  toolName: z.string().min(1),
  parameters: FreeObjectSchema.nullish(),
  result: z.unknown().optional(),
});
export const SecretDataSchema = z.looseObject({
  type: z.literal('secret'),
  secretName: z.string().min(1),
  scope: z.string().min(1),
});
export const CustomDataSchema = z.looseObject({
  type: z.literal('custom'),
  customType: z.string().min(1),
});
/** A data.type we do not know: kept as it came, the event becomes `custom`. */
export const UnknownDataSchema = z.looseObject({ type: z.string().min(1) });

/** data schema per data.type; the key set is also the list of known data types. */
export const DATA_SCHEMAS = {
  file: FileDataSchema,
  network: NetworkDataSchema,
  command: CommandDataSchema,
  patch: PatchDataSchema,
  tool: ToolDataSchema,
  secret: SecretDataSchema,
  custom: CustomDataSchema,
} as const;
export type KnownDataType = keyof typeof DATA_SCHEMAS;

/** Which data.type each known eventType must carry (a Map: `constructor` is no event type). */
export const DATA_TYPE_BY_EVENT_TYPE: ReadonlyMap<string, KnownDataType> = new Map(
  Object.entries({
    file_read: 'file',
    file_write: 'file',
    network_egress: 'network',
    command_exec: 'command',
    patch_apply: 'patch',
    tool_call: 'tool',
    secret_access: 'secret',
    custom: 'custom',
  } satisfies Record<string, KnownDataType>),
);

const DecisionFields = {
  guard: optionalString,
  severity: optionalString,
  message: optionalString,
  reason: optionalString,
};
/** hushd `/api/v1/eval` shape; `warn` means allowed with a warning. */
export const BooleanDecisionSchema = z.object({
  allowed: z.boolean(),
  denied: z.boolean().nullish(),
  warn: z.boolean().nullish(),
  ...DecisionFields,
});
/** TypeScript adapters' shape. */
export const StatusDecisionSchema = z.object({
  status: z.enum(['allow', 'warn', 'deny']),
  details: z.unknown().optional(),
  ...DecisionFields,
});
export const DecisionInputSchema = z.union([BooleanDecisionSchema, StatusDecisionSchema]);
export type DecisionInput = z.infer<typeof DecisionInputSchema>;

export const PolicyEventMetadataSchema = z.looseObject({
  source: optionalString,
  agentId: optionalString,
  traceId: optionalString,
  toolKind: optionalString,
  toolProvider: optionalString,
  trust: optionalString,
});

/** PolicyEvent v1 (camelCase, after aliases are resolved). data is checked against DATA_SCHEMAS next. */
export const PolicyEventSchema = z.looseObject({
  eventId: z.string().min(1),
  eventType: z.string().min(1),
  timestamp: TimestampInputSchema,
  sessionId: optionalString,
  runId: optionalString,
  agentId: optionalString,
  data: UnknownDataSchema,
  metadata: PolicyEventMetadataSchema.nullish(),
  context: FreeObjectSchema.nullish(),
  decision: DecisionInputSchema.nullish(),
  policyHash: optionalString,
});
export type PolicyEvent = z.infer<typeof PolicyEventSchema>;

/**
 * Objects whose fields parseRecord also reads under their snake_case alias (the event, its data and its
 * metadata): the published JSON Schema lists each alias beside its field (scripts/json-schemas.ts).
 */
export const SNAKE_CASE_ALIASED = z.registry<{ aliases: Readonly<Record<string, string>> }>();
function aliased<S extends z.ZodObject>(schema: S): S {
  SNAKE_CASE_ALIASED.add(schema, { aliases: POLICY_EVENT_ALIASES });
  return schema;
}

/** A string that is none of `values` (for the catch-all branches below). */
const noneOf = (values: readonly string[]) =>
  z
    .string()
    .min(1)
    .regex(new RegExp(`^(?!(?:${values.join('|')})$)`), `not one of ${values.join(', ')}`);

const KNOWN_DATA_TYPES = Object.keys(DATA_SCHEMAS);
/** A data.type we do not know, as published: any type but the known ones, whose fields are checked. */
const OtherDataSchema = z.looseObject({ type: noneOf(KNOWN_DATA_TYPES) });
const DocumentMetadataSchema = aliased(PolicyEventMetadataSchema).nullish();

/**
 * The published JSON Schema of a PolicyEvent: what parseRecord accepts, as one schema. A known eventType
 * carries its data type; any other eventType (kept as `custom`) any data, a known data type checked as such;
 * every field with a snake_case alias is accepted under either name.
 */
export const PolicyEventDocumentSchema = z.union([
  ...[...DATA_TYPE_BY_EVENT_TYPE].map(([eventType, dataType]) =>
    aliased(
      PolicyEventSchema.extend({
        eventType: z.literal(eventType),
        data: aliased(DATA_SCHEMAS[dataType]),
        metadata: DocumentMetadataSchema,
      }),
    ),
  ),
  aliased(
    PolicyEventSchema.extend({
      eventType: noneOf([...DATA_TYPE_BY_EVENT_TYPE.keys()]),
      data: z.union([...Object.values(DATA_SCHEMAS).map(aliased), OtherDataSchema]),
      metadata: DocumentMetadataSchema,
    }),
  ),
]);
