import type { Client } from '@elastic/elasticsearch';
import { type Clock, systemClock } from '../../core/clock.ts';
import { outcomesOf, type RetryVerdict } from '../driver/verdict.ts';
import type { ItemOutcome, Sink, SinkItem } from '../types.ts';
import { createElasticsearchClient } from './client.ts';
import type { ElasticsearchSinkConfig } from './config.ts';
import { bulkOperations } from './request-builder.ts';
import { classifyBulkError, classifyBulkResponse } from './retry.ts';
import { installTemplates } from './templates.ts';

export interface ElasticsearchSinkDeps {
  /** A client to share (e.g. with `setup`); by default the sink creates and closes its own. */
  client?: Client;
  clock?: Clock;
}

const BULK_FILTER = ['errors', 'items.*.status', 'items.*.error'];

/** Wiring only: batch → `_bulk` body → send → classify per item. */
export class ElasticsearchSink implements Sink {
  readonly name: string;
  readonly guarantee = 'exactly-once-storage';
  private readonly client: Client;
  private readonly ownsClient: boolean;
  private readonly clock: Clock;

  constructor(
    private readonly config: ElasticsearchSinkConfig,
    deps: ElasticsearchSinkDeps = {},
  ) {
    this.name = config.name ?? config.type;
    this.client = deps.client ?? createElasticsearchClient(config);
    this.ownsClient = deps.client === undefined;
    this.clock = deps.clock ?? systemClock;
  }

  async start(): Promise<void> {
    if (this.config.installTemplates) {
      await installTemplates(this.client, this.config.indexPrefix, this.config.templates);
    }
  }

  async write(items: readonly SinkItem[]): Promise<ItemOutcome[]> {
    let verdict: RetryVerdict;
    try {
      const response = await this.client.bulk({
        operations: bulkOperations(items, this.config.indexPrefix),
        refresh: this.config.refresh,
        // Statuses and errors are all the classifier reads; the rest of each item is wasted parsing.
        filter_path: BULK_FILTER,
      });
      verdict = classifyBulkResponse(response);
    } catch (error) {
      verdict = classifyBulkError(error, this.clock());
    }
    return outcomesOf(verdict, items.length);
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }
}
