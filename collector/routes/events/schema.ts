import { z } from 'zod';

export const IngestErrorSchema = z.object({
  index: z.int().min(0).describe('position of the record in the request, from 0'),
  line: z.int().min(1).optional().describe('line of the record in an NDJSON body, from 1'),
  field: z.string(),
  message: z.string(),
});

/** 202 body of /v1/events and /ingest/<source>: sent only after the broker acknowledged every accepted record. */
export const IngestResponseSchema = z.object({
  accepted: z.int().min(0),
  rejected: z.int().min(0),
  errors: z.array(IngestErrorSchema),
});
export type IngestResponse = z.infer<typeof IngestResponseSchema>;

/** Bodies split into lines; anything else is read as one JSON document (object or array), or as NDJSON. */
export const NDJSON_MEDIA_TYPES = [
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonlines',
] as const;
export const JSON_MEDIA_TYPES = ['application/json', 'text/plain', ...NDJSON_MEDIA_TYPES] as const;

export const eventsRouteSchema = {
  response: { 202: z.toJSONSchema(IngestResponseSchema, { target: 'draft-7' }) },
};
