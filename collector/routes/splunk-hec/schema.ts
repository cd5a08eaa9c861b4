import { z } from 'zod';

/**
 * Epoch seconds, optionally with decimals (Splunk's `time`): a number, or a string holding one (what
 * splunk-logging sends).
 */
const EpochSecondsSchema = z.union([
  z.number().nonnegative(),
  z.string().regex(/^\d{1,12}(\.\d{1,9})?$/, 'epoch seconds, optionally with decimals'),
]);

/**
 * Indexed fields are flat: each value a string or number, or an array of them (Splunk answers code 15
 * to anything nested).
 */
const IndexedFieldValueSchema = z.union([z.string(), z.number(), z.array(z.union([z.string(), z.number()]))]);

/** One HEC event object; `event` carries the record (hushd writes its AuditEvent or SecurityEvent there). */
export const HecEventSchema = z.looseObject({
  time: EpochSecondsSchema.optional(),
  host: z.string().optional(),
  source: z.string().optional(),
  sourcetype: z.string().optional(),
  index: z.string().optional(),
  event: z.unknown().optional(),
  fields: z.record(z.string(), z.unknown()).optional(),
});
export type HecEvent = z.infer<typeof HecEventSchema>;

export const IndexedFieldsSchema = z.record(z.string(), IndexedFieldValueSchema);

/** POST /services/collector/ack: the ackIds a sender asks about, on its channel. */
export const HecAckQuerySchema = z.strictObject({ acks: z.array(z.int().nonnegative()) });

/** The answer: each asked ackId, true once (the events it stands for are on the broker). */
export const HecAckReplySchema = z.object({ acks: z.record(z.string(), z.boolean()) });

/** HEC's reply body: `{"text": "...", "code": n}`, plus the failing event's position on a data error. */
export const HecReplySchema = z.object({
  text: z.string(),
  code: z.int(),
  'invalid-event-number': z.int().optional(),
  ackId: z.int().optional(),
});
export type HecReply = z.infer<typeof HecReplySchema>;

export interface HecStatus {
  code: number;
  status: number;
  text: string;
}

/** Splunk's HEC status codes we answer with, and the HTTP status Splunk pairs each with. */
export const HEC_STATUS = {
  success: { code: 0, status: 200, text: 'Success' },
  tokenRequired: { code: 2, status: 401, text: 'Token is required' },
  invalidAuthorization: { code: 3, status: 401, text: 'Invalid authorization' },
  invalidToken: { code: 4, status: 403, text: 'Invalid token' },
  noData: { code: 5, status: 400, text: 'No data' },
  invalidDataFormat: { code: 6, status: 400, text: 'Invalid data format' },
  internalError: { code: 8, status: 500, text: 'Internal server error' },
  serverBusy: { code: 9, status: 503, text: 'Server is busy' },
  dataChannelMissing: { code: 10, status: 400, text: 'Data channel is missing' },
  invalidDataChannel: { code: 11, status: 400, text: 'Invalid data channel' },
  eventRequired: { code: 12, status: 400, text: 'Event field is required' },
  eventBlank: { code: 13, status: 400, text: 'Event field cannot be blank' },
  ackDisabled: { code: 14, status: 400, text: 'ACK is disabled' },
  indexedFieldsError: { code: 15, status: 400, text: 'Error in handling indexed fields' },
  queryStringAuthDisabled: { code: 16, status: 400, text: 'Query string authorization is not enabled' },
  healthy: { code: 17, status: 200, text: 'HEC is healthy' },
  unhealthy: { code: 18, status: 503, text: 'HEC is unhealthy, queues are full' },
} as const satisfies Record<string, HecStatus>;
