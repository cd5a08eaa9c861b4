import { z } from 'zod';
import { FreeObjectSchema, optionalString, TimestampInputSchema } from './common.ts';

/** hushd SecurityEvent 1.0.0, as its SIEM exporters send it. */
export const SecurityEventSchema = z.looseObject({
  schema_version: z.literal('1.0.0'),
  event_id: z.string().min(1),
  event_type: z.string().min(1),
  event_category: optionalString,
  timestamp: TimestampInputSchema,
  ingested_at: optionalString,
  agent: z.looseObject({
    id: z.string().min(1),
    name: optionalString,
    version: optionalString,
    type: optionalString,
  }),
  session: z.looseObject({
    id: z.string().min(1),
    user_id: optionalString,
    tenant_id: optionalString,
    environment: optionalString,
  }),
  outcome: z.enum(['success', 'failure', 'unknown']),
  action: z.string().min(1),
  threat: z
    .looseObject({
      indicator: z.looseObject({ type: z.string(), value: z.string() }).nullish(),
      tactic: optionalString,
      technique: optionalString,
    })
    .nullish(),
  decision: z.looseObject({
    allowed: z.boolean(),
    guard: optionalString,
    severity: optionalString,
    reason: optionalString,
    policy_hash: optionalString,
    ruleset: optionalString,
  }),
  resource: z.looseObject({
    type: z.string().min(1),
    name: z.string(),
    path: optionalString,
    host: optionalString,
    port: z.int().min(0).max(65535).nullish(),
  }),
  metadata: FreeObjectSchema.nullish(),
  labels: FreeObjectSchema.nullish(),
});
export type SecurityEvent = z.infer<typeof SecurityEventSchema>;
