import { z } from 'zod';
import { FreeObjectSchema, optionalString, TimestampInputSchema } from './common.ts';

/** A SecurityEvent as hushd's elastic exporter writes it: an ECS document in a `_bulk` body. */
export const HushdEcsDocumentSchema = z.looseObject({
  '@timestamp': TimestampInputSchema,
  event: z.looseObject({
    id: z.string().min(1),
    action: optionalString,
    kind: optionalString,
    outcome: optionalString,
    category: z.array(z.string()).nullish(),
    type: z.array(z.string()).nullish(),
    severity: z.number().nullish(),
  }),
  agent: z.looseObject({ id: z.string().min(1) }).nullish(),
  session: z.looseObject({ id: optionalString }).nullish(),
  clawdstrike: z
    .looseObject({
      guard: optionalString,
      session_id: optionalString,
      policy_hash: optionalString,
      metadata: FreeObjectSchema.nullish(),
    })
    .nullish(),
  file: z.looseObject({ path: optionalString }).nullish(),
  destination: z
    .looseObject({ domain: optionalString, address: optionalString, port: z.number().nullish() })
    .nullish(),
  process: z.looseObject({ command_line: optionalString }).nullish(),
  threat: z.looseObject({ indicator: z.looseObject({ name: optionalString }).nullish() }).nullish(),
  message: optionalString,
});
export type HushdEcsDocument = z.infer<typeof HushdEcsDocumentSchema>;
