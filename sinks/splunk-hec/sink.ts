import { type Clock, systemClock } from '../../core/clock.ts';
import { outcomesOf } from '../driver/verdict.ts';
import type { ItemOutcome, Sink, SinkItem } from '../types.ts';
import type { SplunkHecSinkConfig } from './config.ts';
import { hecBatch } from './request-builder.ts';
import { HecService } from './service.ts';

export interface SplunkHecSinkDeps {
  clock?: Clock;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Wiring only: batch → concatenated HEC events → send (gzip, acks) → classify. */
export class SplunkHecSink implements Sink {
  readonly name: string;
  readonly guarantee = 'at-least-once';
  private readonly service: HecService;

  constructor(
    private readonly config: SplunkHecSinkConfig,
    deps: SplunkHecSinkDeps = {},
  ) {
    this.name = config.name ?? config.type;
    this.service = new HecService(config, {
      clock: deps.clock ?? systemClock,
      sleep: deps.sleep ?? defaultSleep,
    });
  }

  get channel(): string | undefined {
    return this.service.channel;
  }

  async write(items: readonly SinkItem[]): Promise<ItemOutcome[]> {
    const verdict = await this.service.send(hecBatch(items, this.config), items.length);
    return outcomesOf(verdict, items.length);
  }

  async close(): Promise<void> {
    this.service.close();
  }
}
