import type { FastifyRequest } from 'fastify';
import type { EdrError } from '../../../core/errors.ts';
import {
  type Candidate,
  type FramingLimits,
  type IngestOutcome,
  type IngestProtocol,
  malformed,
  type ProtocolReply,
  readJson,
  splitConcatenated,
  splitDocument,
  splitLines,
} from '../../ingest/index.ts';
import { AuthError, principalOf } from '../../plugins/auth/index.ts';
import { type AckLedger, channelOf, HecRefusal, requiredChannelOf } from './acks.ts';
import { HEC_STATUS, HecEventSchema, type HecReply, type HecStatus, IndexedFieldsSchema } from './schema.ts';

/** Per request: the HEC status each refused event earned (by position), and where to issue its ackId. */
interface HecContext {
  statuses: Map<number, HecStatus>;
  /** Set when indexer acknowledgement is on and the request named a channel. */
  ack: { ledger: AckLedger; sender: string; channel: string } | undefined;
}

export function hecReply(status: HecStatus, extra: Partial<HecReply> = {}): ProtocolReply {
  return { status: status.status, body: { text: status.text, code: status.code, ...extra } };
}

/**
 * What both ingest endpoints share: Splunk's batch semantics (the events before the first invalid one
 * are published, it and the rest are not, and `invalid-event-number` names it, so a sender resending
 * from there never duplicates one), the ackId of an acknowledged request, and Splunk's codes.
 */
function hecProtocol(
  name: string,
  ledger: AckLedger | undefined,
  frame: (text: string, request: FastifyRequest, limits: FramingLimits) => Candidate[],
  unwrap?: (candidate: Candidate, context: HecContext, limits: FramingLimits) => Candidate,
): IngestProtocol<HecContext> {
  return {
    name,
    mediaTypes: 'any',
    batch: 'prefix',
    extract(text, request, limits) {
      const channel = channelOf(request);
      const ack =
        ledger && channel !== undefined ? { ledger, sender: principalOf(request).id, channel } : undefined;
      return { candidates: frame(text, request, limits), context: { statuses: new Map(), ack } };
    },
    ...(unwrap ? { unwrap } : {}),
    reply: replyFor,
    fail: hecFailure,
  };
}

function replyFor(outcome: IngestOutcome, { statuses, ack }: HecContext): ProtocolReply {
  const first = outcome.results.find((result) => 'errors' in result);
  if (first) {
    const status = statuses.get(first.index) ?? HEC_STATUS.invalidDataFormat;
    return hecReply(status, { 'invalid-event-number': first.index });
  }
  if (!ack) return hecReply(HEC_STATUS.success);
  return hecReply(HEC_STATUS.success, { ackId: ack.ledger.issue(ack.sender, ack.channel) });
}

/**
 * /services/collector[/event[/1.0]]: event objects back to back (hushd's SIEM exporter joins them with
 * newlines and gzips them), or a JSON array of them. A channel is optional; with one, the reply carries
 * an ackId.
 */
export function hecEventProtocol(ledger: AckLedger | undefined): IngestProtocol<HecContext> {
  return hecProtocol(
    'splunk_hec',
    ledger,
    (text, _request, { maxRecords }) => {
      const values = splitConcatenated(text, maxRecords);
      // One JSON array of event objects (Splunk takes that too): its elements are the events.
      const only = values.length === 1 ? values[0]!.text : undefined;
      return only?.startsWith('[') ? splitDocument(only, maxRecords) : values;
    },
    unwrapEvent,
  );
}

/**
 * /services/collector/raw[/1.0]: the body is the events themselves, one record per line. Splunk requires
 * a channel on this endpoint whatever the token's ACK setting, and so do we.
 */
export function hecRawProtocol(ledger: AckLedger | undefined): IngestProtocol<HecContext> {
  return hecProtocol('splunk_hec_raw', ledger, (text, request, { maxRecords }) => {
    requiredChannelOf(request);
    return splitLines(text, maxRecords);
  });
}

function unwrapEvent(candidate: Candidate, { statuses }: HecContext, { maxDepth }: FramingLimits): Candidate {
  const refuse = (status: HecStatus, field: string, message: string): Candidate => {
    statuses.set(candidate.index, status);
    return malformed(candidate.index, field, message);
  };
  const parsed = HecEventSchema.safeParse(candidate.record);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || '(record)';
    return refuse(HEC_STATUS.invalidDataFormat, field, issue?.message ?? 'expected a HEC event object');
  }
  const { event, fields } = parsed.data;
  if (event === undefined) return refuse(HEC_STATUS.eventRequired, 'event', 'is required');
  if (event === null || event === '') return refuse(HEC_STATUS.eventBlank, 'event', 'cannot be blank');
  if (fields !== undefined && !IndexedFieldsSchema.safeParse(fields).success) {
    return refuse(
      HEC_STATUS.indexedFieldsError,
      'fields',
      'expected flat fields (strings, numbers, arrays of them)',
    );
  }
  const record = recordOf(event, maxDepth);
  if (record !== undefined) return { index: candidate.index, record };
  // Raw text events are valid HEC but carry no record we can normalize.
  return refuse(
    HEC_STATUS.invalidDataFormat,
    'event',
    'expected a JSON record (object, or a string holding one)',
  );
}

/**
 * The record a HEC `event` carries: the object itself, or the JSON a string holds. splunk-logging's
 * default formatter wraps what it is given as `{message, severity}`; that wrapper is taken off.
 */
function recordOf(event: unknown, maxDepth: number): unknown {
  if (isLoggingLibraryWrapper(event)) return recordOf(event.message, maxDepth);
  if (typeof event === 'object') return event;
  if (typeof event !== 'string') return undefined;
  const read = readJson(event, maxDepth);
  return read.ok && typeof read.value === 'object' && read.value !== null ? read.value : undefined;
}

function isLoggingLibraryWrapper(event: unknown): event is { message: unknown; severity: string } {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return false;
  const keys = Object.keys(event);
  return (
    keys.length === 2 &&
    'message' in event &&
    'severity' in event &&
    typeof event.severity === 'string' &&
    typeof event.message !== 'undefined'
  );
}

export function hecFailure(error: EdrError): ProtocolReply {
  return hecReply(statusOf(error));
}

function statusOf(error: EdrError): HecStatus {
  if (error instanceof HecRefusal) return error.hec;
  if (error instanceof AuthError) {
    if (error.failure === 'missing') return HEC_STATUS.tokenRequired;
    if (error.failure === 'malformed') return HEC_STATUS.invalidAuthorization;
    if (error.failure === 'query_disabled') return HEC_STATUS.queryStringAuthDisabled;
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
