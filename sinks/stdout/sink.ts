import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { outcomesOf } from '../driver/verdict.ts';
import type { ItemOutcome, Sink, SinkItem } from '../types.ts';
import type { StdoutSinkConfig } from './config.ts';

/** Writes items as JSON lines to a stream (stdout by default), waiting for `drain` when it is full. */
export class StdoutSink implements Sink {
  readonly name: string;
  readonly guarantee = 'local-write';

  constructor(
    config: StdoutSinkConfig,
    private readonly stream: Writable = process.stdout,
  ) {
    this.name = config.name ?? config.type;
  }

  async write(items: readonly SinkItem[]): Promise<ItemOutcome[]> {
    const text = `${items.map((item) => JSON.stringify(item)).join('\n')}\n`;
    try {
      if (!this.stream.write(text)) await once(this.stream, 'drain');
      return outcomesOf({ action: 'ok' }, items.length);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      // A closed or broken stream takes nothing until restarted: wait, never dead-letter.
      return outcomesOf({ action: 'unusable', reason }, items.length);
    }
  }
}
