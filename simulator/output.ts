import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { type BatchOutcome, FatalSinkError, type RecordSink } from './sink.ts';

/** The reader went away (`| head`): it has what it wanted, so the run ends without being a failure. */
export class OutputClosedError extends FatalSinkError {
  constructor(cause: Error) {
    super(`output closed by its reader (${cause.message})`, { cause });
    this.name = 'OutputClosedError';
  }
}

/** Writes NDJSON to a file or stdout instead of sending: a corpus for detection engineering. */
export class StreamSink implements RecordSink {
  private failure: Error | undefined;

  constructor(
    private readonly stream: Writable,
    /** Whether close() ends the stream (a file) or leaves it open (stdout). */
    private readonly owned: boolean,
  ) {
    // A reader that goes away or a full disk ends the run rather than crashing it.
    stream.on('error', (error) => {
      this.failure = error;
    });
  }

  async send(lines: readonly string[]): Promise<BatchOutcome> {
    if (this.failure) throw failed(this.failure);
    if (!this.stream.write(`${lines.join('\n')}\n`)) {
      try {
        await once(this.stream, 'drain');
      } catch (error) {
        throw failed(error as Error);
      }
    }
    return { accepted: lines.length, rejected: 0, failed: 0, errors: [] };
  }

  async close(): Promise<void> {
    if (!this.owned || this.failure) return;
    this.stream.end();
    await once(this.stream, 'finish');
  }
}

/** `-` is stdout. */
export function openOutput(path: string, stdout: Writable): StreamSink {
  return path === '-' ? new StreamSink(stdout, false) : new StreamSink(createWriteStream(path), true);
}

/** EPIPE is the reader leaving; anything else (disk full, no permission) is a real failure. */
function failed(error: Error): FatalSinkError {
  return (error as NodeJS.ErrnoException).code === 'EPIPE'
    ? new OutputClosedError(error)
    : new FatalSinkError(`cannot write the output: ${error.message}`, { cause: error });
}
