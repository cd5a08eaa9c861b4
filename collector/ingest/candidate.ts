import type { SourceFormat } from '../../engine/model/index.ts';

/**
 * Why a record never reached the event model: not JSON / not the protocol's shape, not a valid event, or an
 * unexpected exception while reading it (a bug, isolated to that record).
 */
export type CandidateFailure = 'malformed' | 'invalid' | 'internal';

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
  /** The record's JSON text as framing found it, not yet parsed. */
  text?: string;
  record?: unknown;
  /** Set when the protocol already knows the wire format; otherwise it is detected. */
  format?: SourceFormat;
  error?: CandidateError;
}

export function malformed(index: number, field: string, message: string, line?: number): Candidate {
  return failed(index, { field, message, reason: 'malformed' }, line);
}

/** The error an unexpected exception while handling one record becomes: that record's, not the request's. */
export function unreadableError(error: unknown): CandidateError {
  const message = error instanceof Error ? error.message : String(error);
  return { field: '(record)', message: `could not be read: ${message}`, reason: 'internal' };
}

/** Runs one record's extraction; an exception becomes that record's error (see unreadableError). */
export function isolated(index: number, line: number | undefined, read: () => Candidate): Candidate {
  try {
    return read();
  } catch (error) {
    return failed(index, unreadableError(error), line);
  }
}

function failed(index: number, error: CandidateError, line: number | undefined): Candidate {
  const candidate: Candidate = { index, error };
  if (line !== undefined) candidate.line = line;
  return candidate;
}
