/** Where batches of NDJSON lines go: the collector over HTTP, or a file for corpora. */
export interface RecordSink {
  /** Delivers one batch; resolves with what the destination made of it. Throws FatalSinkError to end the run. */
  send(lines: readonly string[]): Promise<BatchOutcome>;
  close(): Promise<void>;
}

export interface BatchOutcome {
  accepted: number;
  rejected: number;
  /** Records given up on (the batch failed after its retries). */
  failed: number;
  /** Why records were rejected or the batch failed, one line each. */
  errors: string[];
}

/** A failure that every later batch would hit too (credentials refused, output closed): the run stops. */
export class FatalSinkError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FatalSinkError';
  }
}
