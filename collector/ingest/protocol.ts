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
  /** When the body is not JSON (bytes of another encoding, e.g. OTLP protobuf). */
  contentType?: string;
}

export interface Extracted<Context> {
  candidates: Candidate[];
  context: Context;
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
  extract(text: string, request: FastifyRequest, limits: FramingLimits): Extracted<Context>;
  /**
   * Media types whose bodies are binary (OTLP protobuf), and how their decoded bytes are framed; the same
   * rules as extract() apply.
   */
  readonly binary?: {
    readonly mediaTypes: readonly string[];
    extract(bytes: Buffer, request: FastifyRequest, limits: FramingLimits): Extracted<Context>;
  };
  /** A request without records (an empty body, or none in it) is a success for reply() to answer (OTLP). */
  readonly acceptsEmpty?: boolean;
  /**
   * Turns one parsed candidate into the record to normalize (e.g. a HEC event's `event`); an exception
   * here is that record's error. Candidates pass unchanged without it.
   */
  unwrap?(candidate: Candidate, context: Context, limits: FramingLimits): Candidate;
  reply(outcome: IngestOutcome, context: Context): ProtocolReply;
  /** A whole-request failure in the protocol's own error shape (and encoding, chosen by the request). */
  fail(error: EdrError, request: FastifyRequest): ProtocolReply;
}

/** The collector's own error body, for protocols without one. */
export function edrErrorBody(error: EdrError): ProtocolReply {
  return { status: error.status, body: { error: { code: error.code, message: error.message } } };
}
