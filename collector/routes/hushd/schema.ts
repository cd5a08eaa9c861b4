import { z } from 'zod';

/** `/ingest/<source>`: the source names a sender and selects its settings (`sources.<name>` in the config). */
export const SourceParamsSchema = z.object({
  source: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/)
    .describe('sender name, e.g. hushd, hushd-siem'),
});

/** hushd's signed webhooks. */
export const SignatureHeadersSchema = z.looseObject({
  'x-clawdstrike-event': z.string().optional().describe('e.g. violation.detected'),
  'x-clawdstrike-signature': z
    .string()
    .regex(/^sha256=[0-9a-fA-F]{64}$/)
    .optional()
    .describe('sha256=<hex HMAC-SHA256(secret, raw body)>; required when the source has an hmacSecret'),
});

export const sourceParamsJsonSchema = z.toJSONSchema(SourceParamsSchema, { target: 'draft-7' });
