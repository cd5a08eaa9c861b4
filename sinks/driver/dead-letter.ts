import type { Alert } from '../../engine/alert.ts';
import type { Envelope } from '../../engine/model/index.ts';
import { RotatingJsonlFile } from '../shared/rotating-jsonl.ts';
import type { ItemKind, SinkItem } from '../types.ts';
import { itemId, itemPayload } from '../types.ts';

/** An item a sink could not deliver, kept with why, so it can be inspected and replayed. */
export interface DeadLetter {
  sink: string;
  kind: ItemKind;
  id: string;
  reason: string;
  /** A short, bounded name of the failure (`document_parsing_exception`, `http_400`, `queue_full`...). */
  code: string;
  /** Write attempts made before giving up (0 when the item never reached the sink, e.g. queue full). */
  attempts: number;
  deadLetteredAt: string;
  item: Envelope | Alert;
}

/** Where dead letters go: a JSONL file by default; the processor may plug a broker topic instead. */
export interface DeadLetterWriter {
  /** Resolves once the letters are stored; a rejection means they are not, and the batch is not finalized. */
  write(letters: readonly DeadLetter[]): Promise<void>;
  close?(): Promise<void>;
}

export function deadLetterOf(letter: {
  sink: string;
  item: SinkItem;
  reason: string;
  code: string;
  attempts: number;
  at: Date;
}): DeadLetter {
  const { sink, item, reason, code, attempts, at } = letter;
  return {
    sink,
    kind: item.kind,
    id: itemId(item),
    reason,
    code,
    attempts,
    deadLetteredAt: at.toISOString(),
    item: itemPayload(item),
  };
}

export interface JsonlDeadLetterOptions {
  path: string;
  maxBytes?: number;
  maxFiles?: number;
  fsync?: boolean;
}

/** One JSON object per line, appended in order, rotated by size like the file sink. */
export class JsonlDeadLetterWriter implements DeadLetterWriter {
  private readonly file: RotatingJsonlFile;

  constructor(options: JsonlDeadLetterOptions) {
    this.file = new RotatingJsonlFile({
      path: options.path,
      maxBytes: options.maxBytes ?? 100 * 1024 * 1024,
      maxFiles: options.maxFiles ?? 10,
      fsync: options.fsync ?? true,
    });
  }

  write(letters: readonly DeadLetter[]): Promise<void> {
    return this.file.append(letters.map((letter) => JSON.stringify(letter)));
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

/** Keeps dead letters in memory: for tests and for embedding the router without a disk. */
export class MemoryDeadLetterWriter implements DeadLetterWriter {
  readonly letters: DeadLetter[] = [];

  async write(letters: readonly DeadLetter[]): Promise<void> {
    this.letters.push(...letters);
  }
}
