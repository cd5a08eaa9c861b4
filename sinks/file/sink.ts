import { mkdir, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { outcomesOf } from '../driver/verdict.ts';
import { RotatingJsonlFile } from '../shared/rotating-jsonl.ts';
import {
  ITEM_KINDS,
  type ItemKind,
  type ItemOutcome,
  itemPayload,
  type ProbeResult,
  type Sink,
  type SinkItem,
} from '../types.ts';
import type { FileSinkConfig } from './config.ts';
import { classifyFileError } from './retry.ts';

/** Wiring only: split the batch by kind → append to that kind's rotating JSONL file → classify errors. */
export class FileSink implements Sink {
  readonly name: string;
  readonly guarantee = 'local-write';
  private readonly paths: Record<ItemKind, string>;
  private readonly files: Record<ItemKind, RotatingJsonlFile>;

  constructor(config: FileSinkConfig) {
    this.name = config.name ?? config.type;
    this.paths = {
      event: join(config.directory, 'events.jsonl'),
      alert: join(config.directory, 'alerts.jsonl'),
    };
    const file = (kind: ItemKind) =>
      new RotatingJsonlFile({
        path: this.paths[kind],
        maxBytes: config.maxBytes,
        maxFiles: config.maxFiles,
        fsync: config.fsync,
      });
    this.files = { event: file('event'), alert: file('alert') };
  }

  /** Each kind's file is judged on its own: events can land while the alerts file fails, and vice versa. */
  async write(items: readonly SinkItem[]): Promise<ItemOutcome[]> {
    const lines: Record<ItemKind, string[]> = { event: [], alert: [] };
    for (const item of items) lines[item.kind].push(JSON.stringify(itemPayload(item)));
    const [event, alert] = await Promise.all(
      ITEM_KINDS.map(async (kind): Promise<ItemOutcome> => {
        try {
          await this.files[kind].append(lines[kind]);
          return outcomesOf({ action: 'ok' }, 1)[0]!;
        } catch (error) {
          return outcomesOf(classifyFileError(error, this.paths[kind]), 1)[0]!;
        }
      }),
    );
    const byKind: Record<ItemKind, ItemOutcome> = { event: event!, alert: alert! };
    return items.map((item) => byKind[item.kind]);
  }

  /** Opens both files for appending (creating folder and files), writing nothing. */
  async probe(): Promise<ProbeResult> {
    for (const path of Object.values(this.paths)) {
      try {
        await mkdir(dirname(path), { recursive: true });
        await (await open(path, 'a')).close();
      } catch (error) {
        const verdict = classifyFileError(error, path);
        const reason = 'reason' in verdict ? verdict.reason : path;
        return { state: verdict.action === 'unusable' ? 'unusable' : 'down', reason };
      }
    }
    return { state: 'ok' };
  }

  async close(): Promise<void> {
    await Promise.all([this.files.event.close(), this.files.alert.close()]);
  }
}
