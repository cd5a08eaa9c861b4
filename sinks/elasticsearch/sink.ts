import { type Client, errors } from '@elastic/elasticsearch';
import { type Clock, systemClock } from '../../core/clock.ts';
import { EdrError } from '../../core/errors.ts';
import type { Report } from '../../core/reports.ts';
import { outcomesOf, type RetryVerdict } from '../driver/verdict.ts';
import type { ItemOutcome, ProbeResult, Sink, SinkItem } from '../types.ts';
import { createElasticsearchClient } from './client.ts';
import type { ElasticsearchSinkConfig } from './config.ts';
import type { IndexDayRange } from './documents.ts';
import { ensureReportIndices, reportBulkFailure, reportLines } from './reports.ts';
import { type BulkChunk, bulkChunks, targetOf } from './request-builder.ts';
import { classifyBulkError, classifyBulkResponse } from './retry.ts';
import { installTemplates } from './templates.ts';

export interface ElasticsearchSinkDeps {
  /** A client to share (e.g. with `setup`); by default the sink creates and closes its own. */
  client?: Client;
  clock?: Clock;
}

const BULK_FILTER = ['errors', 'items.*._index', 'items.*.status', 'items.*.error'];
const PROBE_TIMEOUT_MS = 5_000;
/** Every item in the index of the day it was received. */
const RECEIVE_DAY_ONLY: IndexDayRange = { past: 0, future: 0 };

/** Wiring only: batch → `_bulk` requests of bounded size → send → classify per item. */
export class ElasticsearchSink implements Sink {
  readonly name: string;
  readonly guarantee = 'exactly-once-storage';
  private readonly client: Client;
  private readonly ownsClient: boolean;
  private readonly clock: Clock;
  /** Documents are only written once the templates are in place: an index made without them keeps a bad mapping. */
  private templatesInstalled: boolean;
  /** Where alerts go when the cluster has data streams (decided when the templates are installed). */
  private alertsDataStream: string | undefined;
  private reportIndices = false;

  constructor(
    private readonly config: ElasticsearchSinkConfig,
    deps: ElasticsearchSinkDeps = {},
  ) {
    this.name = config.name ?? config.type;
    this.client = deps.client ?? createElasticsearchClient(config);
    this.ownsClient = deps.client === undefined;
    this.clock = deps.clock ?? systemClock;
    this.templatesInstalled = !config.installTemplates;
  }

  /** Installs the templates if the cluster answers; if not, the first write does (the probe reports why). */
  async start(): Promise<void> {
    await this.ensureTemplates().catch(() => undefined);
  }

  async write(items: readonly SinkItem[]): Promise<ItemOutcome[]> {
    try {
      await this.ensureTemplates();
    } catch (error) {
      return outcomesOf(classifyTemplateError(error, this.clock()), items.length);
    }
    const { indexPrefix, indexDays } = this.config;
    const outcomes = await this.writeTo(items, indexDays);
    // An event day's index that refuses writes (a retention write block, a closed index) must not hold the
    // route: its items go to their receive day's index, as if out of range. Only that one refusing blocks.
    const target = (item: SinkItem, days: IndexDayRange) =>
      targetOf(item, { indexPrefix, indexDays: days, alertsDataStream: this.alertsDataStream });
    const moved = items.flatMap((item, position) =>
      outcomes[position]?.status === 'blocked' && target(item, indexDays) !== target(item, RECEIVE_DAY_ONLY)
        ? [position]
        : [],
    );
    if (moved.length > 0) {
      const again = await this.writeTo(
        moved.map((position) => items[position]!),
        RECEIVE_DAY_ONLY,
      );
      moved.forEach((position, index) => {
        outcomes[position] = again[index]!;
      });
    }
    return outcomes;
  }

  /** Processor reports to their two indices (made on first use); throws unless every one is stored. */
  async writeReports(reports: readonly Report[]): Promise<void> {
    const { indexPrefix, templates, refresh } = this.config;
    if (!this.reportIndices) {
      await ensureReportIndices(this.client, indexPrefix, templates.replicas);
      this.reportIndices = true;
    }
    const response = await this.client.bulk<string>({
      operations: reports.flatMap((report) => reportLines(indexPrefix, report)),
      refresh,
    });
    const failure = reportBulkFailure(response);
    if (failure) throw new EdrError('EDR_ERR_SINK_RETRYABLE', `${this.name}: reports not stored: ${failure}`);
  }

  /** Cluster health: red (a primary shard missing, e.g. while recovering after a restart) is down. */
  async probe(): Promise<ProbeResult> {
    try {
      const health = await this.client.cluster.health(
        {},
        { requestTimeout: PROBE_TIMEOUT_MS, maxRetries: 0 },
      );
      return health.status === 'red' ? { state: 'down', reason: 'cluster health is red' } : { state: 'ok' };
    } catch (error) {
      if (error instanceof errors.ResponseError && error.statusCode === 403) {
        // Without the monitor privilege health cannot be read, but the cluster answered.
        return { state: 'ok' };
      }
      const verdict = classifyBulkError(error, this.clock());
      const reason = 'reason' in verdict ? verdict.reason : String(error);
      return { state: verdict.action === 'unusable' ? 'unusable' : 'down', reason };
    }
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }

  private async writeTo(items: readonly SinkItem[], indexDays: IndexDayRange): Promise<ItemOutcome[]> {
    const outcomes = new Array<ItemOutcome>(items.length);
    const ingestedAt = new Date(this.clock()).toISOString();
    const { alertsDataStream } = this;
    const { chunks, unbuildable } = bulkChunks(items, {
      ...this.config,
      indexDays,
      ingestedAt,
      alertsDataStream,
    });
    for (const { position, reason } of unbuildable) {
      outcomes[position] = {
        status: 'permanent',
        reason: `document not built: ${reason}`,
        code: 'unbuildable',
      };
    }
    for (const chunk of chunks) {
      const chunkOutcomes = outcomesOf(await this.send(chunk), chunk.positions.length);
      chunk.positions.forEach((position, index) => {
        outcomes[position] = chunkOutcomes[index]!;
      });
    }
    return outcomes;
  }

  private async send(chunk: BulkChunk): Promise<RetryVerdict> {
    try {
      const response = await this.client.bulk<string>({
        // Pre-serialized lines: sizes were measured on exactly these bytes.
        operations: chunk.lines,
        refresh: this.config.refresh,
        // Index, status and error are all the classifier reads; the rest of each item is wasted parsing.
        filter_path: BULK_FILTER,
      });
      return classifyBulkResponse(response);
    } catch (error) {
      return classifyBulkError(error, this.clock());
    }
  }

  private async ensureTemplates(): Promise<void> {
    if (this.templatesInstalled) return;
    const installed = await installTemplates(this.client, this.config.indexPrefix, this.config.templates);
    this.alertsDataStream = installed.alertsDataStream;
    this.templatesInstalled = true;
  }
}

/** A template the cluster refuses (400) will not install by itself: an operator has to look. */
function classifyTemplateError(error: unknown, now: number): RetryVerdict {
  const verdict = classifyBulkError(error, now);
  const reason = `index templates not installed: ${'reason' in verdict ? verdict.reason : String(error)}`;
  return verdict.action === 'retry' ? { ...verdict, reason } : { action: 'unusable', reason };
}
