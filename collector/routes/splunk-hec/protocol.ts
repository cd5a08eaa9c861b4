import type { EdrError } from '../../../core/errors.ts';
import {
  type Candidate,
  type FramingLimits,
  type IngestProtocol,
  malformed,
  type ProtocolReply,
  readJson,
  splitConcatenated,
} from '../../ingest/index.ts';
import { AuthError } from '../../plugins/auth/index.ts';
import { HEC_STATUS, HecEventSchema, type HecReply, type HecStatus } from './schema.ts';

/** The HEC status each refused event earned, by its position, for the reply's code. */
type EventStatuses = Map<number, HecStatus>;

export function hecReply(status: HecStatus, extra: Partial<HecReply> = {}): ProtocolReply {
  return { status: status.status, body: { text: status.text, code: status.code, ...extra } };
}

/**
 * Splunk HEC: event objects back to back (hushd's SIEM exporter joins them with newlines and gzips them).
 * All valid events are published; when some were not, the reply is Splunk's data error naming the first.
 */
export const splunkHecProtocol: IngestProtocol<EventStatuses> = {
  name: 'splunk_hec',
  mediaTypes: 'any',
  extract(text, _request, { maxRecords }) {
    return { candidates: splitConcatenated(text, maxRecords), context: new Map() };
  },
  unwrap: unwrapEvent,
  reply(outcome, statuses) {
    const first = outcome.results.find((result) => 'errors' in result);
    if (!first) return hecReply(HEC_STATUS.success);
    // Over a rate limit: busy, so the sender retries (its accepted events come again as duplicates).
    const busy = 'reason' in first && first.reason === 'rate_limited';
    const status = busy
      ? { ...HEC_STATUS.serverBusy, status: 429 }
      : (statuses.get(first.index) ?? HEC_STATUS.invalidDataFormat);
    return hecReply(status, { 'invalid-event-number': first.index });
  },
  fail(error) {
    return hecReply(statusOf(error));
  },
};

function unwrapEvent(candidate: Candidate, statuses: EventStatuses, { maxDepth }: FramingLimits): Candidate {
  const refuse = (status: HecStatus, field: string, message: string): Candidate => {
    statuses.set(candidate.index, status);
    return malformed(candidate.index, field, message);
  };
  if (candidate.error)
    return refuse(HEC_STATUS.invalidDataFormat, candidate.error.field, candidate.error.message);
  const parsed = HecEventSchema.safeParse(candidate.record);
  if (!parsed.success) return refuse(HEC_STATUS.invalidDataFormat, '(record)', 'expected a HEC event object');
  const { event } = parsed.data;
  if (event === undefined) return refuse(HEC_STATUS.eventRequired, 'event', 'is required');
  if (event === null || event === '') return refuse(HEC_STATUS.eventBlank, 'event', 'cannot be blank');
  if (typeof event === 'object') return { index: candidate.index, record: event };
  // Raw text events are valid HEC but carry no record we can normalize.
  if (typeof event === 'string') {
    const read = readJson(event, maxDepth);
    if (read.ok) return { index: candidate.index, record: read.value };
  }
  return refuse(
    HEC_STATUS.invalidDataFormat,
    'event',
    'expected a JSON record (object, or a string holding one)',
  );
}

function statusOf(error: EdrError): HecStatus {
  if (error instanceof AuthError) {
    if (error.failure === 'missing') return HEC_STATUS.tokenRequired;
    if (error.failure === 'malformed') return HEC_STATUS.invalidAuthorization;
    return HEC_STATUS.invalidToken;
  }
  switch (error.code) {
    case 'EDR_ERR_NO_RECORDS':
      return HEC_STATUS.noData;
    case 'EDR_ERR_RATE_LIMITED':
      return { ...HEC_STATUS.serverBusy, status: 429 };
    case 'EDR_ERR_BROKER_UNAVAILABLE':
    case 'EDR_ERR_BROKER_TIMEOUT':
      return HEC_STATUS.serverBusy;
    case 'EDR_ERR_INTERNAL':
    case 'EDR_ERR_BROKER_REJECTED':
      return HEC_STATUS.internalError;
    default:
      // Size, media type, encoding: keep our HTTP status, report it as a data format problem.
      return { ...HEC_STATUS.invalidDataFormat, status: error.status };
  }
}
