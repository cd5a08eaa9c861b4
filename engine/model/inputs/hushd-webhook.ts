import { z } from 'zod';
import { FreeObjectSchema, optionalString, TimestampInputSchema } from './common.ts';

/** hushd's outbound webhook body; `violation.detected` carries ViolationDataSchema. */
export const HushdWebhookSchema = z.looseObject({
  event: z.string().min(1),
  timestamp: TimestampInputSchema,
  data: FreeObjectSchema,
});
export type HushdWebhook = z.infer<typeof HushdWebhookSchema>;

export const ViolationDataSchema = z.looseObject({
  actionType: optionalString,
  target: optionalString,
  guard: optionalString,
  severity: optionalString,
  policyHash: optionalString,
  sessionId: optionalString,
  agentId: optionalString,
});
