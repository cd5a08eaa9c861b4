import type { Clock } from '../../core/clock.ts';
import { EdrError } from '../../core/errors.ts';
import type { ResponseAction } from '../../core/response-actions.ts';
import { backoffDelay } from '../../core/retry.ts';
import { atLeast } from '../../core/severity.ts';
import type { ItemOutcome, ProbeResult, Route, SinkItem, SinkLogger } from '../types.ts';
import { itemId, itemSeverity } from '../types.ts';
import { type DeadLetterWriter, deadLetterOf } from './dead-letter.ts';
import { Semaphore } from './semaphore.ts';

/** How one route finalized the items of one `submit`. */
export interface RouteTally {
  written: number;
  duplicates: number;
  deadLettered: number;
}

export interface RouteCounters extends RouteTally {
  requests: number;
  retries: number;
}

/** How a route finalized one item, told to `RunnerDeps.onOutcome` for response webhook sinks. */
export interface ItemFinal {
  sink: string;
  /** The sink's `responseAction`. */
  action: ResponseAction;
  item: SinkItem;
  status: 'written' | 'duplicate' | 'dead_lettered';
  /** Writes that included it (0: dead-lettered before any). */
  attempts: number;
  /** The last HTTP status the destination answered for it, when it answered. */
  httpStatus?: number;
  /** Dead letters: the failure code and reason. */
  code?: string;
  reason?: string;
  /** Epoch ms. */
  at: number;
}

/** A route's readiness: not ready once it failed for longer than `notReadyAfterMs`, or at once when unusable. */
export interface RouteHealth {
  name: string;
  ready: boolean;
  reason?: string;
}

export interface RunnerDeps {
  deadLetters: DeadLetterWriter;
  clock: Clock;
  log: SinkLogger;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Called whenever items of this route are finalized (the router wakes saturation waiters). */
  onSettled?: () => void;
  /** Resolves when the router is interrupted: deliveries waiting out a failure stop and reject. */
  interrupted: Promise<void>;
  /** Told each finalized item of a sink with a `responseAction`. */
  onOutcome?: (final: ItemFinal) => void;
}

export function emptyTally(): RouteTally {
  return { written: 0, duplicates: 0, deadLettered: 0 };
}

/** Distinct dead-letter codes kept per route (the metric's `reason` label); the rest count as `other`. */
const MAX_CODES = 32;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Failure {
  since: number;
  reason: string;
  /** Only an operator can fix it (a `blocked` outcome or an `unusable` probe): not ready at once. */
  unusable: boolean;
}

interface Rejected {
  item: SinkItem;
  reason: string;
  code: string;
}

/**
 * The shared driver for one route: batching, bounded concurrency, retries with backoff, and finalization
 * (written, duplicate, or dead-lettered). Every sink is driven by it.
 *
 * On a blocking route a failure of the destination is backpressure: the batch stays pending and is retried
 * for as long as the failure lasts, so the processor stops consuming instead of emptying the batch into
 * the dead letters. Only what can never be written is dead-lettered: a `permanent` item, a `refused` item
 * once it is alone in its request, and an item whose own (`suspect`) failures used up `retry.attempts`.
 * A detached route (webhooks) bounds every retry by `retry.attempts` instead.
 */
export class RouteRunner {
  readonly counters: RouteCounters = { ...emptyTally(), requests: 0, retries: 0 };
  /** Dead letters by failure code, since the route started. */
  readonly deadLetterCodes = new Map<string, number>();
  private pending = 0;
  /** When each unfinished submission was handed over; a Map keeps insertion order, so the first is the oldest. */
  private readonly unfinished = new Map<object, number>();
  private readonly slots: Semaphore;
  private failure: Failure | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  private interruptedReason: string | undefined;

  constructor(
    readonly route: Route,
    private readonly deps: RunnerDeps,
  ) {
    this.slots = new Semaphore(route.delivery.concurrency);
    void deps.interrupted.then(() => {
      this.interruptedReason = 'the router was interrupted';
      clearInterval(this.probeTimer);
    });
  }

  get name(): string {
    return this.route.sink.name;
  }

  wants(item: SinkItem): boolean {
    const { route } = this;
    return (
      route.kinds.includes(item.kind) &&
      atLeast(itemSeverity(item), route.minSeverity) &&
      (route.sink.accepts?.(item) ?? true)
    );
  }

  pendingItems(): number {
    return this.pending;
  }

  inFlightRequests(): number {
    return this.slots.inUse;
  }

  /** Detached routes never saturate: they shed load to the dead letters instead. */
  saturated(): boolean {
    return !this.route.delivery.detached && this.pending >= this.route.delivery.maxPendingItems;
  }

  /** Starts the sink, then probes it: a destination that cannot work reports not ready from the start. */
  async start(): Promise<void> {
    await this.route.sink.start?.();
    const result = await this.probe();
    if (result && result.state !== 'ok') this.failing(result.reason, result.state === 'unusable');
  }

  /**
   * Not ready once the route failed for `notReadyAfterMs` (at once when unusable), or when its oldest
   * unfinished item has waited that long: a stalled destination that neither answers nor fails (a hung
   * connection within its timeout, a webhook working through its retries) holds its items back too.
   */
  health(): RouteHealth {
    const { failure } = this;
    const { notReadyAfterMs } = this.route.delivery;
    if (!failure) {
      const waitingMs = this.oldestPendingMs();
      if (waitingMs < notReadyAfterMs || notReadyAfterMs === 0) return { name: this.name, ready: true };
      return {
        name: this.name,
        ready: false,
        reason: `oldest unfinished item waiting for ${Math.round(waitingMs / 1000)} s`,
      };
    }
    const failingMs = this.deps.clock() - failure.since;
    if (failure.unusable) return { name: this.name, ready: false, reason: failure.reason };
    return {
      name: this.name,
      ready: failingMs < notReadyAfterMs,
      reason: `failing for ${Math.round(failingMs / 1000)} s: ${failure.reason}`,
    };
  }

  /** How long the oldest item handed to this route and not yet final has waited; 0 when none waits. */
  oldestPendingMs(): number {
    for (const since of this.unfinished.values()) return this.deps.clock() - since;
    return 0;
  }

  /** How long the current failure has lasted, 0 while the route works. */
  failingMs(): number {
    return this.failure ? this.deps.clock() - this.failure.since : 0;
  }

  stop(): void {
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  /** Resolves once every item is finalized; rejects if dead letters could not be stored or on interrupt. */
  async submit(items: readonly SinkItem[]): Promise<RouteTally> {
    const { delivery } = this.route;
    let admitted = items;
    const tally = emptyTally();
    if (delivery.detached) {
      const room = Math.max(0, delivery.maxPendingItems - this.pending);
      admitted = items.slice(0, room);
      const overflow = items.slice(room);
      await this.deadLetter(
        overflow.map((item) => ({ item, reason: 'delivery queue full', code: 'queue_full' })),
        new Map(),
        tally,
      );
    }
    if (admitted.length === 0) return tally;
    this.pending += admitted.length;
    const submission = {};
    this.unfinished.set(submission, this.deps.clock());
    const batches: SinkItem[][] = [];
    for (let i = 0; i < admitted.length; i += delivery.batchSize) {
      batches.push(admitted.slice(i, i + delivery.batchSize));
    }
    try {
      const tallies = await Promise.all(
        batches.map((batch) =>
          this.slots
            .run(() => this.deliver(batch))
            .finally(() => {
              // Per batch, so backpressure lifts as soon as any part of a large submission is final.
              this.pending -= batch.length;
              this.deps.onSettled?.();
            }),
        ),
      );
      for (const each of tallies) addTally(tally, each);
      return tally;
    } finally {
      this.unfinished.delete(submission);
    }
  }

  private async deliver(batch: SinkItem[]): Promise<RouteTally> {
    const { detached, retry: policy } = this.route.delivery;
    const tally = emptyTally();
    /** Writes that included each item, and how many of its failures count against `retry.attempts`. */
    const tries = new Map<SinkItem, number>();
    const charges = new Map<SinkItem, number>();
    const httpStatuses = new Map<SinkItem, number>();
    const parts: SinkItem[][] = [batch];
    let failedInARow = 0;
    while (parts.length > 0) {
      const part = parts.shift()!;
      for (const item of part) tries.set(item, (tries.get(item) ?? 0) + 1);
      const outcomes = await this.write(part);
      const dead: Rejected[] = [];
      const refused: SinkItem[] = [];
      const waiting: SinkItem[] = [];
      let landed = 0;
      let refusal: { reason: string; code: string } | undefined;
      let wait: { reason: string; retryAfterMs?: number; outage: boolean; unusable: boolean } | undefined;
      for (const [index, outcome] of outcomes.entries()) {
        const item = part[index]!;
        if (outcome.httpStatus !== undefined) httpStatuses.set(item, outcome.httpStatus);
        switch (outcome.status) {
          case 'written':
            tally.written++;
            this.counters.written++;
            landed++;
            this.tell(item, 'written', tries, httpStatuses);
            continue;
          case 'duplicate':
            tally.duplicates++;
            this.counters.duplicates++;
            landed++;
            this.tell(item, 'duplicate', tries, httpStatuses);
            continue;
          case 'permanent':
            dead.push({ item, reason: outcome.reason, code: outcome.code ?? 'permanent' });
            continue;
          case 'refused':
            refused.push(item);
            refusal = { reason: outcome.reason, code: outcome.code ?? 'refused' };
            continue;
          case 'blocked':
            if (detached) {
              dead.push({ item, reason: outcome.reason, code: 'blocked' });
              continue;
            }
            waiting.push(item);
            wait = { reason: outcome.reason, outage: true, unusable: true };
            continue;
          case 'retryable': {
            const charged = detached || outcome.suspect === true;
            const count = (charges.get(item) ?? 0) + (charged ? 1 : 0);
            charges.set(item, count);
            if (charged && count >= policy.attempts) {
              const reason = detached
                ? `retries exhausted after ${count} attempts: ${outcome.reason}`
                : `failed ${count} times on its own: ${outcome.reason}`;
              dead.push({ item, reason, code: 'retries_exhausted' });
              continue;
            }
            waiting.push(item);
            const retryAfterMs = Math.max(wait?.retryAfterMs ?? 0, outcome.retryAfterMs ?? 0);
            wait = {
              reason: wait?.unusable ? wait.reason : outcome.reason,
              outage: (wait?.outage ?? false) || !charged,
              unusable: wait?.unusable ?? false,
              ...(retryAfterMs > 0 ? { retryAfterMs } : {}),
            };
            continue;
          }
        }
      }
      if (refusal) {
        // Any item of a refused request may be the culprit: halve until it is alone, then it is the one.
        if (refused.length === 1) dead.push({ item: refused[0]!, ...refusal });
        else {
          const half = Math.ceil(refused.length / 2);
          parts.unshift(refused.slice(0, half), refused.slice(half));
        }
      }
      if (landed > 0) failedInARow = 0;
      // Part of a request landing while the rest waits on the destination is no recovery yet.
      if (landed > 0 && !wait?.outage) this.recovered();
      await this.deadLetter(dead, tries, tally, httpStatuses);
      if (wait) {
        if (wait.outage && !detached) this.failing(wait.reason, wait.unusable);
        await this.backOff(failedInARow++, wait.retryAfterMs, wait.reason);
        parts.push(waiting);
      }
    }
    return tally;
  }

  /** Calls the sink, turning a thrown error or a malformed answer into per-item outcomes. */
  private async write(items: SinkItem[]): Promise<ItemOutcome[]> {
    this.counters.requests++;
    try {
      const outcomes = await this.route.sink.write(items);
      if (outcomes.length === items.length) return outcomes;
      const reason = `sink returned ${outcomes.length} outcomes for ${items.length} items`;
      return items.map(() => ({ status: 'refused', reason, code: 'sink_error' }));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      // A throw that is not a known transient failure may come from one item's content: isolate it.
      return items.map(() =>
        error instanceof EdrError && error.retriable
          ? { status: 'retryable', reason }
          : { status: 'refused', reason, code: 'sink_error' },
      );
    }
  }

  /** Full-jitter backoff, at least as long as a Retry-After asks (capped at maxDelayMs); stops on interrupt. */
  private async backOff(failure: number, retryAfterMs: number | undefined, reason: string): Promise<void> {
    const policy = this.route.delivery.retry;
    const delay = Math.max(
      backoffDelay(failure, policy, this.deps.random),
      Math.min(retryAfterMs ?? 0, policy.maxDelayMs),
    );
    this.counters.retries++;
    if (this.interruptedReason === undefined) {
      await Promise.race([(this.deps.sleep ?? defaultSleep)(delay), this.deps.interrupted]);
    }
    if (this.interruptedReason !== undefined) {
      throw new EdrError(
        'EDR_ERR_SINK_RETRYABLE',
        `${this.name}: stopped waiting (${this.interruptedReason}) while the sink was failing: ${reason}`,
      );
    }
  }

  /** Tells `onOutcome` how an item ended, on a response webhook sink. */
  private tell(
    item: SinkItem,
    status: ItemFinal['status'],
    tries: ReadonlyMap<SinkItem, number>,
    httpStatuses: ReadonlyMap<SinkItem, number>,
    failure?: Pick<Rejected, 'code' | 'reason'>,
  ): void {
    const { onOutcome } = this.deps;
    const action = this.route.sink.responseAction;
    if (!onOutcome || !action) return;
    const final: ItemFinal = {
      sink: this.name,
      action,
      item,
      status,
      attempts: tries.get(item) ?? 0,
      at: this.deps.clock(),
    };
    const httpStatus = httpStatuses.get(item);
    if (httpStatus !== undefined) final.httpStatus = httpStatus;
    if (failure) Object.assign(final, failure);
    onOutcome(final);
  }

  private async deadLetter(
    rejected: readonly Rejected[],
    tries: ReadonlyMap<SinkItem, number>,
    tally: RouteTally,
    httpStatuses: ReadonlyMap<SinkItem, number> = new Map(),
  ): Promise<void> {
    if (rejected.length === 0) return;
    const at = new Date(this.deps.clock());
    await this.deps.deadLetters.write(
      rejected.map(({ item, reason, code }) =>
        deadLetterOf({ sink: this.name, item, reason, code, attempts: tries.get(item) ?? 0, at }),
      ),
    );
    tally.deadLettered += rejected.length;
    this.counters.deadLettered += rejected.length;
    for (const { item, reason, code } of rejected) {
      const label = this.deadLetterCodes.has(code) || this.deadLetterCodes.size < MAX_CODES ? code : 'other';
      this.deadLetterCodes.set(label, (this.deadLetterCodes.get(label) ?? 0) + 1);
      this.deps.log.warn(
        { sink: this.name, kind: item.kind, id: itemId(item), code, reason, attempts: tries.get(item) ?? 0 },
        'item dead-lettered',
      );
      this.tell(item, 'dead_lettered', tries, httpStatuses, { code, reason });
    }
  }

  /** A failure began or goes on: logged once, probed from now on until the route works again. */
  private failing(reason: string, unusable: boolean): void {
    const { failure } = this;
    if (failure) {
      failure.reason = reason;
      if (unusable && !failure.unusable) {
        failure.unusable = true;
        this.deps.log.error({ sink: this.name, reason }, 'sink cannot write until its destination is fixed');
      }
      return;
    }
    this.failure = { since: this.deps.clock(), reason, unusable };
    this.deps.log[unusable ? 'error' : 'warn'](
      { sink: this.name, reason },
      unusable
        ? 'sink cannot write until its destination is fixed; its items wait'
        : 'sink failing; its items wait and are retried',
    );
    if (this.interruptedReason !== undefined) return;
    this.probeTimer = setInterval(() => void this.reprobe(), this.route.delivery.probeIntervalMs);
    this.probeTimer.unref();
  }

  private recovered(): void {
    if (!this.failure) return;
    const failingMs = this.deps.clock() - this.failure.since;
    this.failure = undefined;
    this.stop();
    this.deps.log.info({ sink: this.name, failingMs }, 'sink recovered');
  }

  /** While failing: an idle route recovers on a good probe; a busy one only when a write succeeds. */
  private async reprobe(): Promise<void> {
    // A probe slower than the interval (an unanswered health check) must not pile up behind itself.
    if (this.probing) return;
    this.probing = true;
    const result = await this.probe().finally(() => {
      this.probing = false;
    });
    const { failure } = this;
    if (!result || !failure) return;
    if (result.state === 'ok') {
      if (this.pending === 0) this.recovered();
      else failure.unusable = false;
      return;
    }
    this.failing(result.reason, result.state === 'unusable');
  }

  private async probe(): Promise<ProbeResult | undefined> {
    try {
      return await this.route.sink.probe?.();
    } catch (error) {
      return { state: 'down', reason: error instanceof Error ? error.message : String(error) };
    }
  }
}

export function addTally(into: RouteTally, from: RouteTally): void {
  into.written += from.written;
  into.duplicates += from.duplicates;
  into.deadLettered += from.deadLettered;
}
