import { z } from 'zod';

/**
 * Bounds on one record, applied by parseRecord (collector, replay, raw records on the topic) and again by the
 * processor's decoder on envelopes, with the same values, so what the collector accepts the processor decodes.
 * Identity is refused when out of bounds (a cut id would merge two events); content is kept and cut with a
 * marker, listed in the envelope's `integrity.truncated` (a record is evidence, and its sender may not be the
 * one who chose its content: a hushd record carries the agent's command line). docs/security.md, "Records".
 */
export const RecordLimitsSchema = z
  .strictObject({
    maxIdBytes: z
      .int()
      .min(16)
      .max(512)
      .default(256)
      .describe(
        'UTF-8 bytes of eventId, agentId, sessionId and runId (Elasticsearch _id takes 512); longer, or holding a control character, quote or backslash, is refused',
      ),
    maxStringBytes: z
      .int()
      .min(256)
      .max(1_000_000)
      .default(65_536)
      .describe(
        'UTF-8 bytes of any other string of the envelope (target, data, metadata, names); longer is cut and ends with a marker',
      ),
    maxDepth: z
      .int()
      .min(4)
      .max(20)
      .default(20)
      .describe(
        "levels of objects and arrays counted from the envelope's root (Elasticsearch's mapping depth limit is 20); a deeper value is replaced by a marker",
      ),
    maxFields: z
      .int()
      .min(16)
      .max(100_000)
      .default(10_000)
      .describe('keys and array items in data and metadata together; further ones are dropped, flagged'),
    maxRecordBytes: z
      .int()
      .min(65_536)
      .max(16 * 1024 * 1024)
      .default(1_000_000)
      .describe(
        "the envelope as JSON, under the broker's record limit (1 MiB) with room for key and headers; the longest strings are cut to fit",
      ),
    maxFutureSkewMs: z
      .int()
      .min(0)
      .max(86_400_000)
      .default(30_000)
      .describe(
        'an event time further than this after receivedAt is not trusted: kept as integrity.claimedTimestamp, timestamp becomes receivedAt',
      ),
    minTimestamp: z.iso
      .datetime()
      .default('2000-01-01T00:00:00.000Z')
      .describe(
        'an event time before this is not trusted: kept as integrity.claimedTimestamp, timestamp becomes receivedAt',
      ),
  })
  .prefault({});
export type RecordLimits = z.infer<typeof RecordLimitsSchema>;

export const DEFAULT_RECORD_LIMITS: Readonly<RecordLimits> = Object.freeze(RecordLimitsSchema.parse({}));
