import type { FastifyRequest } from 'fastify';
import type { EdrError } from '../../core/errors.ts';
import type { Candidate } from './candidate.ts';
import type { BatchSemantics, IngestOutcome } from './pipeline.ts';

export interface FramingLimits {
  maxRecords: number;
  /** JSON nested deeper than this is refused before it is parsed. */
  maxDepth: number;
}

export interface ProtocolReply {
  status: number;
  body: unknown;
}

/**
 * What differs between ingest endpoints: how records are found in a body, and how the sender expects to
 * hear back. Everything between (parse, dedupe, limits, publish) is the shared pipeline.
 * `Context` carries per-request facts from extract() to reply() (e.g. the _bulk actions).
 */
export interface IngestProtocol<Context = undefined> {
  /** Metric label and log field. */
  readonly name: string;
  /** Accepted media types, lowercase without parameters; a request without Content-Type is always tried. */
  readonly mediaTypes: readonly string[] | 'any';
  /** What a refused record means for those after it; `isolated` unless the protocol says otherwise. */
  readonly batch?: BatchSemantics;
  /**
   * Finds the records: framing only, in one pass (a candidate's `text` is parsed afterwards, record by
   * record). Throws EDR_ERR_TOO_MANY_RECORDS as soon as there are more than `maxRecords`.
   */
  extract(
    text: string,
    request: FastifyRequest,
    limits: FramingLimits,
  ): { candidates: Candidate[]; context: Context };
  /**
   * Turns one parsed candidate into the record to normalize (e.g. a HEC event's `event`); an exception
   * here is that record's error. Candidates pass unchanged without it.
   */
  unwrap?(candidate: Candidate, context: Context, limits: FramingLimits): Candidate;
  reply(outcome: IngestOutcome, context: Context): ProtocolReply;
  /** A whole-request failure in the protocol's own error shape. */
  fail(error: EdrError): ProtocolReply;
}

/** The collector's own error body, for protocols without one. */
export function edrErrorBody(error: EdrError): ProtocolReply {
  return { status: error.status, body: { error: { code: error.code, message: error.message } } };
}
