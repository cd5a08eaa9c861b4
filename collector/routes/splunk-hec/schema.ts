import { z } from 'zod';

/** One HEC event object; `event` carries the record (hushd writes its AuditEvent or SecurityEvent there). */
export const HecEventSchema = z.looseObject({
  time: z.union([z.number(), z.string()]).optional(),
  host: z.string().optional(),
  source: z.string().optional(),
  sourcetype: z.string().optional(),
  index: z.string().optional(),
  event: z.unknown(),
  fields: z.record(z.string(), z.unknown()).optional(),
});

/** HEC's reply body: `{"text": "...", "code": n}`, plus the failing event's position on a data error. */
export const HecReplySchema = z.object({
  text: z.string(),
  code: z.int(),
  'invalid-event-number': z.int().optional(),
});
export type HecReply = z.infer<typeof HecReplySchema>;

export interface HecStatus {
  code: number;
  status: number;
  text: string;
}

/** The HEC status codes we use, with the HTTP status Splunk pairs them with. */
export const HEC_STATUS = {
  success: { code: 0, status: 200, text: 'Success' },
  tokenRequired: { code: 2, status: 401, text: 'Token is required' },
  invalidAuthorization: { code: 3, status: 401, text: 'Invalid authorization' },
  invalidToken: { code: 4, status: 403, text: 'Invalid token' },
  noData: { code: 5, status: 400, text: 'No data' },
  invalidDataFormat: { code: 6, status: 400, text: 'Invalid data format' },
  internalError: { code: 8, status: 500, text: 'Internal server error' },
  serverBusy: { code: 9, status: 503, text: 'Server is busy' },
  eventRequired: { code: 12, status: 400, text: 'Event field is required' },
  eventBlank: { code: 13, status: 400, text: 'Event field cannot be blank' },
  healthy: { code: 17, status: 200, text: 'HEC is healthy' },
  unhealthy: { code: 18, status: 503, text: 'HEC is unhealthy, queues are full' },
} as const satisfies Record<string, HecStatus>;
