import { type Clock, systemClock } from '../core/clock.ts';
import { EdrError } from '../core/errors.ts';
import type { Report } from '../core/reports.ts';
import type { Alert } from '../engine/alert.ts';
import type { Envelope } from '../engine/model/index.ts';
import type { DeadLetterWriter } from './driver/dead-letter.ts';
import { ReportQueue, type ReportQueueStats } from './driver/reports.ts';
import {
  addTally,
  emptyTally,
  type ItemFinal,
  type RouteCounters,
  RouteRunner,
  type RouteTally,
} from './driver/runner.ts';
import {
  type DeliveryGuarantee,
  type Route,
  SILENT_LOGGER,
  type SinkItem,
  type SinkLogger,
} from './types.ts';

export interface DeliveryBatch {
  events?: readonly Envelope[];
  alerts?: readonly Alert[];
  /** The same events and alerts in the same order, before redaction: what routes with `redact: false` get. */
  clear?: { events?: readonly Envelope[]; alerts?: readonly Alert[] };
}

/** Counts are per (item, route): an event routed to two sinks and written by both counts as 2 written. */
export interface DeliveryReport extends RouteTally {
  items: number;
  /** Items no route wanted (kind or severity filtered everywhere); they are final as they are. */
  unrouted: number;
  routes: Record<string, RouteTally>;
}

/** One batch handed to the routes (`dispatch`): each route's own completion. */
export interface Dispatched {
  items: number;
  /** Items no route wanted; they are final as they are. */
  unrouted: number;
  routes: Array<{ name: string; done: Promise<RouteTally> }>;
}

export interface RouteStats extends RouteCounters {
  name: string;
  guarantee: DeliveryGuarantee;
  detached: boolean;
  pendingItems: number;
  /** How long the oldest item handed to this route and not yet final has waited; 0 when none waits. */
  oldestPendingMs: number;
  inFlightRequests: number;
  /** Dead letters by failure code since start (`document_parsing_exception`, `http_400`, `queue_full`...). */
  deadLettersByCode: Record<string, number>;
  ready: boolean;
  /** How long the current failure has lasted; 0 while the route works. */
  failingMs: number;
  sink?: Record<string, unknown>;
}

/** What /readyz reports for the sinks: ready only when every route is. */
export interface RouterHealth {
  ready: boolean;
  routes: Array<{ name: string; ready: boolean; reason?: string }>;
}

export interface SinkRouterOptions {
  deadLetters: DeadLetterWriter;
  /** Where failures, recoveries and every dead letter are logged (silent by default). */
  log?: SinkLogger;
  clock?: Clock;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/**
 * Fans batches out to every route that wants each item: `deliver` resolves once all of them are final,
 * `dispatch` gives each route's completion apart. The processor commits a batch's offsets only once every
 * route finalized it, and stops consuming while
 * `saturated()` is true (`whenUnsaturated()` tells it when to resume). While a blocking sink is down,
 * `deliver` waits for it (retrying with backoff) instead of dead-lettering; `health()` says so.
 */
export class SinkRouter {
  private readonly runners: RouteRunner[];
  private readonly reportQueues: ReportQueue[];
  private outcomeListener: ((final: ItemFinal) => void) | undefined;
  private waiters: Array<() => void> = [];
  private interrupt: () => void = () => {};

  constructor(
    routes: readonly Route[],
    private readonly options: SinkRouterOptions,
  ) {
    const names = routes.map((route) => route.sink.name);
    const repeated = names.find((name, index) => names.indexOf(name) !== index);
    if (repeated) throw new EdrError('EDR_ERR_CONFIG', `two sinks are named "${repeated}"`);
    const interrupted = new Promise<void>((resolve) => {
      this.interrupt = resolve;
    });
    this.runners = routes.map(
      (route) =>
        new RouteRunner(route, {
          deadLetters: options.deadLetters,
          clock: options.clock ?? systemClock,
          log: options.log ?? SILENT_LOGGER,
          interrupted,
          sleep: options.sleep,
          random: options.random,
          onSettled: () => this.wakeWaiters(),
          onOutcome: (final) => this.outcomeListener?.(final),
        }),
    );
    this.reportQueues = routes.flatMap(({ sink }) =>
      sink.writeReports
        ? [new ReportQueue(sink.name, sink.writeReports.bind(sink), options.log ?? SILENT_LOGGER)]
        : [],
    );
  }

  /** Tells `listener` how each item ended on a response webhook route (replacing any earlier listener). */
  onOutcome(listener: (final: ItemFinal) => void): void {
    this.outcomeListener = listener;
  }

  /** Whether any sink stores reports (else the processor need not make them). */
  takesReports(): boolean {
    return this.reportQueues.length > 0;
  }

  /**
   * Hands reports to every sink that stores them and writes what each holds; never rejects. What a sink did
   * not store stays with it for the next call (up to a bound: `reportStats()`).
   */
  async report(reports: readonly Report[]): Promise<void> {
    await Promise.all(this.reportQueues.map((queue) => queue.flush(reports)));
  }

  reportStats(): ReportQueueStats[] {
    return this.reportQueues.map((queue) => queue.stats());
  }

  /**
   * Starts and probes every sink. Fails only on a sink that can never start (its config); a destination that
   * is down or unusable now leaves the router started and not ready (`health()`).
   */
  async start(): Promise<void> {
    await Promise.all(this.runners.map((runner) => runner.start()));
  }

  /**
   * Hands every item to each route that wants it and resolves once all of them are final. `only` restricts
   * the batch to the routes named (replaying dead letters to the sink that could not take them).
   */
  async deliver(batch: DeliveryBatch, options: { only?: readonly string[] } = {}): Promise<DeliveryReport> {
    const dispatched = this.dispatch(batch, options);
    const report: DeliveryReport = {
      items: dispatched.items,
      unrouted: dispatched.unrouted,
      ...emptyTally(),
      routes: {},
    };
    const tallies = await Promise.all(dispatched.routes.map(({ done }) => done));
    for (const [index, tally] of tallies.entries()) {
      report.routes[dispatched.routes[index]!.name] = tally;
      addTally(report, tally);
    }
    return report;
  }

  /**
   * Hands every item to each route that wants it, at once, without waiting: each route's `done` settles when
   * its own items are final, so a slow route holds back nothing but its own promise (the processor's
   * pipeline waits for each separately).
   */
  dispatch(batch: DeliveryBatch, options: { only?: readonly string[] } = {}): Dispatched {
    const items = sinkItems(batch);
    const clearItems = batch.clear ? sinkItems(batch.clear) : items;
    const routed = new Set<number>();
    const runners = options.only
      ? this.runners.filter((runner) => options.only?.includes(runner.name))
      : this.runners;
    const routes = runners.map((runner) => {
      const wanted: SinkItem[] = [];
      (runner.route.redact === false ? clearItems : items).forEach((item, index) => {
        if (!runner.wants(item)) return;
        wanted.push(item);
        routed.add(index);
      });
      const done = runner.submit(wanted);
      // Awaited by the caller route by route; one route's rejection must not go unhandled meanwhile.
      done.catch(() => undefined);
      return { name: runner.name, done };
    });
    return { items: items.length, unrouted: items.length - routed.size, routes };
  }

  routeNames(): string[] {
    return this.runners.map((runner) => runner.name);
  }

  /** Whether route `name` takes `item` (its kinds, minimum severity and own filter). */
  wants(name: string, item: SinkItem): boolean {
    return this.runners.find((runner) => runner.name === name)?.wants(item) ?? false;
  }

  /** True while a blocking route holds as many unfinished items as it allows. */
  saturated(): boolean {
    return this.runners.some((runner) => runner.saturated());
  }

  whenUnsaturated(): Promise<void> {
    if (!this.saturated()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  pendingItems(): number {
    return this.runners.reduce((sum, runner) => sum + runner.pendingItems(), 0);
  }

  /**
   * Ready when every route is: none has failed, or held an unfinished item, for longer than its
   * `notReadyAfterMs`, and none is unusable.
   */
  health(): RouterHealth {
    const routes = this.runners.map((runner) => runner.health());
    return { ready: routes.every((route) => route.ready), routes };
  }

  stats(): RouteStats[] {
    return this.runners.map((runner) => {
      const { sink, delivery } = runner.route;
      const stats: RouteStats = {
        name: runner.name,
        guarantee: sink.guarantee,
        detached: delivery.detached,
        pendingItems: runner.pendingItems(),
        oldestPendingMs: runner.oldestPendingMs(),
        inFlightRequests: runner.inFlightRequests(),
        ...runner.counters,
        deadLettersByCode: Object.fromEntries(runner.deadLetterCodes),
        ready: runner.health().ready,
        failingMs: runner.failingMs(),
      };
      const extra = sink.stats?.();
      if (extra) stats.sink = extra;
      return stats;
    });
  }

  /**
   * Stops waiting out failures: every `deliver` still retrying a failing sink rejects (its batch is not final
   * and must come again). For a shutdown while a destination is down; `close()` afterwards.
   */
  interruptRetries(): void {
    this.interrupt();
  }

  /** Closes the sinks and the dead-letter writer; call after the last `deliver` has settled. */
  async close(): Promise<void> {
    for (const runner of this.runners) runner.stop();
    await Promise.all(this.runners.map((runner) => runner.route.sink.close?.()));
    await this.options.deadLetters.close?.();
  }

  private wakeWaiters(): void {
    if (this.waiters.length === 0 || this.saturated()) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

function sinkItems(batch: Pick<DeliveryBatch, 'events' | 'alerts'>): SinkItem[] {
  return [
    ...(batch.events ?? []).map((event): SinkItem => ({ kind: 'event', event })),
    ...(batch.alerts ?? []).map((alert): SinkItem => ({ kind: 'alert', alert })),
  ];
}
