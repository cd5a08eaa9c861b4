/**
 * HEC status codes: the `code` of every HEC reply body, with the HTTP status Splunk sends alongside it
 * (Splunk docs, "Troubleshoot HTTP Event Collector"). The test receiver answers from this same table.
 */
export const HEC_CODES = {
  0: { http: 200, text: 'Success' },
  1: { http: 403, text: 'Token disabled' },
  2: { http: 401, text: 'Token is required' },
  3: { http: 401, text: 'Invalid authorization' },
  4: { http: 403, text: 'Invalid token' },
  5: { http: 400, text: 'No data' },
  6: { http: 400, text: 'Invalid data format' },
  7: { http: 400, text: 'Incorrect index' },
  8: { http: 500, text: 'Internal server error' },
  9: { http: 503, text: 'Server is busy' },
  10: { http: 400, text: 'Data channel is missing' },
  11: { http: 400, text: 'Invalid data channel' },
  12: { http: 400, text: 'Event field is required' },
  13: { http: 400, text: 'Event field cannot be blank' },
  14: { http: 400, text: 'ACK is disabled' },
  15: { http: 400, text: 'Error in handling indexed fields' },
  16: { http: 400, text: 'Query string authorization is not enabled' },
  17: { http: 200, text: 'HEC is healthy' },
  18: { http: 503, text: 'HEC is unhealthy, queues are full' },
  19: { http: 503, text: 'HEC is unhealthy, ack service unavailable' },
  20: { http: 503, text: 'HEC is unhealthy, queues are full, ack service unavailable' },
} as const satisfies Record<number, { http: number; text: string }>;

export type HecCode = keyof typeof HEC_CODES;

/** Splunk is overloaded or failing: the same request can succeed later. */
export const RETRYABLE_HEC_CODES: ReadonlySet<number> = new Set([8, 9, 18, 19, 20]);

/** One event of the request is at fault (bad format, missing event, index not allowed): the reply names it in `invalid-event-number`. */
export const PER_EVENT_HEC_CODES: ReadonlySet<number> = new Set([6, 7, 12, 13, 15]);

/** The endpoint refuses us whatever we send (token, channel, ack settings): an operator has to fix it. */
export const UNUSABLE_HEC_CODES: ReadonlySet<number> = new Set([1, 2, 3, 4, 10, 11, 14, 16]);

/** The reply body of every HEC endpoint. */
export interface HecReply {
  text: string;
  code: number;
  ackId?: number;
  'invalid-event-number'?: number;
}
