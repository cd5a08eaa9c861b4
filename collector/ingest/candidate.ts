import type { SourceFormat } from '../../engine/model/index.ts';

/** Why a record never reached the event model: not JSON / not the protocol's shape, or not a valid event. */
export type CandidateFailure = 'malformed' | 'invalid';

export interface CandidateError {
  field: string;
  message: string;
  reason: CandidateFailure;
}

/** One record as a protocol found it in the body, before normalization. */
export interface Candidate {
  /** Position among the request's records, counted from 0 the way the sender counts them. */
  index: number;
  /** 1-based line in a line-delimited body. */
  line?: number;
  record?: unknown;
  /** Set when the protocol already knows the wire format; otherwise it is detected. */
  format?: SourceFormat;
  error?: CandidateError;
}

export function malformed(index: number, field: string, message: string, line?: number): Candidate {
  const candidate: Candidate = { index, error: { field, message, reason: 'malformed' } };
  if (line !== undefined) candidate.line = line;
  return candidate;
}
