import type { Clock } from '../../core/clock.ts';
import { EdrError } from '../../core/errors.ts';
import { retry } from '../../core/retry.ts';
import { atLeast } from '../../core/severity.ts';
import type { ItemOutcome, Route, SinkItem } from '../types.ts';
import { itemSeverity } from '../types.ts';
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

export interface RunnerDeps {
  deadLetters: DeadLetterWriter;
  clock: Clock;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Called whenever items of this route are finalized (the router wakes saturation waiters). */
  onSettled?: () => void;
}

export function emptyTally(): RouteTally {
  return { written: 0, duplicates: 0, deadLettered: 0 };
}

/**
 * The shared driver for one route: batching, bounded concurrency, retries with backoff for the items that
 * can be retried, and finalization (written, duplicate, or dead-lettered). Every sink is driven by it.
 */
export class RouteRunner {
  readonly counters: RouteCounters = { ...emptyTally(), requests: 0, retries: 0 };
  private pending = 0;
  private readonly slots: Semaphore;

  constructor(
    readonly route: Route,
    private readonly deps: RunnerDeps,
  ) {
    this.slots = new Semaphore(route.delivery.concurrency);
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

  /** Resolves once every item is finalized; rejects only if dead letters could not be stored. */
  async submit(items: readonly SinkItem[]): Promise<RouteTally> {
    const { delivery } = this.route;
    let admitted = items;
    const tally = emptyTally();
    if (delivery.detached) {
      const room = Math.max(0, delivery.maxPendingItems - this.pending);
      admitted = items.slice(0, room);
      const overflow = items.slice(room);
      const reason = 'delivery queue full';
      await this.deadLetter(
        overflow.map((item) => ({ item, reason })),
        0,
        tally,
      );
    }
    this.pending += admitted.length;
    const batches: SinkItem[][] = [];
    for (let i = 0; i < admitted.length; i += delivery.batchSize) {
      batches.push(admitted.slice(i, i + delivery.batchSize));
    }
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
  }

  private async deliver(batch: SinkItem[]): Promise<RouteTally> {
    const tally = emptyTally();
    const { retry: policy } = this.route.delivery;
    let remaining = batch;
    let attempts = 0;
    try {
      await retry(
        async () => {
          attempts++;
          const outcomes = await this.write(remaining);
          const { retryable, rejected } = settle(remaining, outcomes, tally);
          await this.deadLetter(rejected, attempts, tally);
          remaining = retryable.items;
          if (remaining.length > 0) throw new ItemsRemain(retryable.reason, retryable.retryAfterMs);
        },
        {
          ...policy,
          sleep: this.deps.sleep,
          random: this.deps.random,
          shouldRetry: (error) => error instanceof ItemsRemain,
          // Retry-After is honoured up to maxDelayMs, so one endpoint cannot park a worker indefinitely.
          requestedDelayMs: (error) =>
            error instanceof ItemsRemain && error.retryAfterMs !== undefined
              ? Math.min(error.retryAfterMs, policy.maxDelayMs)
              : undefined,
          onRetry: () => {
            this.counters.retries++;
          },
        },
      );
    } catch (error) {
      // Anything but "items remain" is a dead-letter store failure: the batch is not final, so it propagates.
      if (!(error instanceof ItemsRemain)) throw error;
      const reason = `retries exhausted after ${attempts} attempts: ${error.reason}`;
      await this.deadLetter(
        remaining.map((item) => ({ item, reason })),
        attempts,
        tally,
      );
    }
    this.counters.written += tally.written;
    this.counters.duplicates += tally.duplicates;
    return tally;
  }

  /** Calls the sink, turning a thrown error or a malformed answer into per-item outcomes. */
  private async write(items: SinkItem[]): Promise<ItemOutcome[]> {
    this.counters.requests++;
    try {
      const outcomes = await this.route.sink.write(items);
      if (outcomes.length === items.length) return outcomes;
      return items.map(() => ({
        status: 'permanent',
        reason: `sink returned ${outcomes.length} outcomes for ${items.length} items`,
      }));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const retriable = error instanceof EdrError && error.retriable;
      return items.map(() => (retriable ? { status: 'retryable', reason } : { status: 'permanent', reason }));
    }
  }

  private async deadLetter(
    rejected: readonly Rejected[],
    attempts: number,
    tally: RouteTally,
  ): Promise<void> {
    if (rejected.length === 0) return;
    const at = new Date(this.deps.clock());
    await this.deps.deadLetters.write(
      rejected.map(({ item, reason }) => deadLetterOf(this.name, item, reason, attempts, at)),
    );
    tally.deadLettered += rejected.length;
    this.counters.deadLettered += rejected.length;
  }
}

interface Rejected {
  item: SinkItem;
  reason: string;
}

/** Thrown inside the retry loop while some items of a batch still have to be sent again. */
class ItemsRemain extends Error {
  constructor(
    readonly reason: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(reason);
  }
}

/** Counts written and duplicate items into `tally`; returns what must be retried and what is rejected. */
function settle(
  items: readonly SinkItem[],
  outcomes: readonly ItemOutcome[],
  tally: RouteTally,
): { retryable: { items: SinkItem[]; reason: string; retryAfterMs?: number }; rejected: Rejected[] } {
  const retryable: { items: SinkItem[]; reason: string; retryAfterMs?: number } = { items: [], reason: '' };
  const rejected: Rejected[] = [];
  outcomes.forEach((outcome, index) => {
    const item = items[index]!;
    switch (outcome.status) {
      case 'written':
        tally.written++;
        break;
      case 'duplicate':
        tally.duplicates++;
        break;
      case 'permanent':
        rejected.push({ item, reason: outcome.reason });
        break;
      case 'retryable':
        retryable.items.push(item);
        retryable.reason = outcome.reason;
        if (outcome.retryAfterMs !== undefined) {
          retryable.retryAfterMs = Math.max(retryable.retryAfterMs ?? 0, outcome.retryAfterMs);
        }
        break;
    }
  });
  return { retryable, rejected };
}

export function addTally(into: RouteTally, from: RouteTally): void {
  into.written += from.written;
  into.duplicates += from.duplicates;
  into.deadLettered += from.deadLettered;
}
