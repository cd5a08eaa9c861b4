import { join } from 'node:path';
import { outcomesOf, type RetryVerdict } from '../driver/verdict.ts';
import { RotatingJsonlFile } from '../shared/rotating-jsonl.ts';
import { type ItemKind, type ItemOutcome, itemPayload, type Sink, type SinkItem } from '../types.ts';
import type { FileSinkConfig } from './config.ts';
import { classifyFileError } from './retry.ts';

/** Wiring only: split the batch by kind → append to that kind's rotating JSONL file → classify errors. */
export class FileSink implements Sink {
  readonly name: string;
  readonly guarantee = 'local-write';
  private readonly files: Record<ItemKind, RotatingJsonlFile>;

  constructor(config: FileSinkConfig) {
    this.name = config.name ?? config.type;
    const file = (kind: ItemKind) =>
      new RotatingJsonlFile({
        path: join(config.directory, `${kind}s.jsonl`),
        maxBytes: config.maxBytes,
        maxFiles: config.maxFiles,
        fsync: config.fsync,
      });
    this.files = { event: file('event'), alert: file('alert') };
  }

  async write(items: readonly SinkItem[]): Promise<ItemOutcome[]> {
    const lines: Record<ItemKind, string[]> = { event: [], alert: [] };
    for (const item of items) lines[item.kind].push(JSON.stringify(itemPayload(item)));
    let verdict: RetryVerdict = { action: 'ok' };
    try {
      await Promise.all([this.files.event.append(lines.event), this.files.alert.append(lines.alert)]);
    } catch (error) {
      verdict = classifyFileError(error);
    }
    return outcomesOf(verdict, items.length);
  }

  async close(): Promise<void> {
    await Promise.all([this.files.event.close(), this.files.alert.close()]);
  }
}
