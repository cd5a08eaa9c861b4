import { z } from 'zod';
import { FreeObjectSchema, optionalString, TimestampInputSchema } from './common.ts';

/** hushd AuditEvent v1, as its audit_forward sinks and the JSONL export write it. */
export const AuditEventSchema = z.looseObject({
  id: z.string().min(1),
  timestamp: TimestampInputSchema,
  event_type: z.string().min(1),
  action_type: optionalString,
  target: optionalString,
  decision: z.enum(['allowed', 'blocked']),
  guard: optionalString,
  severity: optionalString,
  message: optionalString,
  session_id: optionalString,
  agent_id: optionalString,
  metadata: FreeObjectSchema.nullish(),
});
export type AuditEvent = z.infer<typeof AuditEventSchema>;
