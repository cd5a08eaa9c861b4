import { z } from 'zod';
import { FreeObjectSchema, optionalString, TimestampInputSchema } from './common.ts';

/** ECS lets a keyword field hold one value or an array of them. */
const keywords = z.union([z.string(), z.array(z.string())]).nullish();

/**
 * An ECS document: a SecurityEvent as hushd's elastic exporter writes it, or what a Beats-style shipper
 * (Filebeat, Logstash's elasticsearch output) sends in a `_bulk` body or to `_doc`. Only the fields read are
 * typed; `event` and its `id` are optional (the id then comes from `_id` or the content, see ecs.ts).
 */
export const HushdEcsDocumentSchema = z.looseObject({
  '@timestamp': TimestampInputSchema,
  event: z
    .looseObject({
      id: z.string().min(1).nullish(),
      action: optionalString,
      kind: optionalString,
      outcome: optionalString,
      category: keywords,
      type: keywords,
      severity: z.number().nullish(),
    })
    .nullish(),
  agent: z.looseObject({ id: z.string().min(1).nullish(), type: optionalString }).nullish(),
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
    .looseObject({
      domain: optionalString,
      address: optionalString,
      ip: optionalString,
      port: z.number().nullish(),
    })
    .nullish(),
  url: z.looseObject({ full: optionalString, domain: optionalString }).nullish(),
  process: z
    .looseObject({ command_line: optionalString, executable: optionalString, name: optionalString })
    .nullish(),
  gen_ai: z.looseObject({ tool: z.looseObject({ name: optionalString }).nullish() }).nullish(),
  threat: z.looseObject({ indicator: z.looseObject({ name: optionalString }).nullish() }).nullish(),
  message: optionalString,
});
export type HushdEcsDocument = z.infer<typeof HushdEcsDocumentSchema>;
