import type { FastifyRequest } from 'fastify';
import type { EdrError } from '../../core/errors.ts';
import type { Candidate } from './candidate.ts';
import type { IngestOutcome } from './pipeline.ts';

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
  /**
   * Finds the records, each isolated (an exception while reading one is that record's error). Throws
   * EDR_ERR_TOO_MANY_RECORDS as soon as there are more than `maxRecords`, so its cost stays bounded.
   */
  extract(
    text: string,
    request: FastifyRequest,
    maxRecords: number,
  ): { candidates: Candidate[]; context: Context };
  reply(outcome: IngestOutcome, context: Context): ProtocolReply;
  /** A whole-request failure in the protocol's own error shape. */
  fail(error: EdrError): ProtocolReply;
}

/** The collector's own error body, for protocols without one. */
export function edrErrorBody(error: EdrError): ProtocolReply {
  return { status: error.status, body: { error: { code: error.code, message: error.message } } };
}
