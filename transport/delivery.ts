import { backoffDelay } from '../core/retry.ts';
import type { Batch, BatchHandler, Message, StreamName, TransportLogger } from './types.ts';

export type Settlement =
  | { kind: 'ack' }
  /** `failed`: filled in because the handler threw (not a nak of the handler's own). */
  | { kind: 'nak'; delayMs: number; failed?: true }
  | { kind: 'term'; reason?: string };

export interface DeliveryFields {
  stream: StreamName;
  key: string | undefined;
  value: Uint8Array;
  headers: Readonly<Record<string, string>>;
  partition: string;
  offset: string;
  deliveryCount: number;
  timestamp: number;
}

/**
 * A Message that records how the handler settled it; each adapter applies the settlements only after the
 * handler returned, so nothing is committed for a batch whose handler is still running or failed.
 */
export class Delivery implements Message {
  readonly stream: StreamName;
  readonly key: string | undefined;
  readonly value: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  readonly partition: string;
  readonly offset: string;
  readonly deliveryCount: number;
  readonly timestamp: number;
  settlement: Settlement | undefined;
  readonly #onWorking: () => void;

  constructor(fields: DeliveryFields, onWorking: () => void = () => {}) {
    this.stream = fields.stream;
    this.key = fields.key;
    this.value = fields.value;
    this.headers = fields.headers;
    this.partition = fields.partition;
    this.offset = fields.offset;
    this.deliveryCount = fields.deliveryCount;
    this.timestamp = fields.timestamp;
    this.#onWorking = onWorking;
  }

  ack(): void {
    this.#settle({ kind: 'ack' });
  }

  nak(delayMs = 0): void {
    this.#settle({ kind: 'nak', delayMs: Math.max(0, delayMs) });
  }

  term(reason?: string): void {
    this.#settle(reason === undefined ? { kind: 'term' } : { kind: 'term', reason });
  }

  working(): void {
    this.#onWorking();
  }

  #settle(settlement: Settlement): void {
    this.settlement ??= settlement;
  }
}

/** Redelivery delay after a failed handler: grows with the delivery count, capped at 30 s. */
export function retryDelayMs(deliveryCount: number): number {
  return (
    250 +
    backoffDelay(Math.max(0, deliveryCount - 1), { attempts: 0, initialDelayMs: 500, maxDelayMs: 30_000 })
  );
}

export interface BatchRun {
  batch: Batch;
  deliveries: readonly Delivery[];
  handler: BatchHandler;
  log: TransportLogger;
}

/**
 * The batches a consumer has handed to its handler and not yet settled (positions recorded for commit, acks
 * sent): `settled()` waits for them, so an owner stopping can commit the batch in hand with its state.
 */
export class BatchesInHand {
  readonly #work = new Set<Promise<void>>();

  /**
   * Runs `work` (one batch, from handing it over to settling it), counted in hand from its first step: a
   * handler that asks for settled() before returning then waits for its own batch too.
   */
  async run<T>(work: () => Promise<T>): Promise<T> {
    let finish = (): void => {};
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    this.#work.add(done);
    try {
      return await work();
    } finally {
      this.#work.delete(done);
      finish();
    }
  }

  async settled(): Promise<void> {
    await Promise.all([...this.#work]);
  }
}

/** Runs the handler, then fills in every unsettled message: ack on success, nak with backoff on failure. */
export async function runBatch({ batch, deliveries, handler, log }: BatchRun): Promise<Settlement[]> {
  let succeeded = true;
  try {
    await handler(batch);
  } catch (error) {
    succeeded = false;
    log.error({ err: error, partition: batch.partition, size: deliveries.length }, 'batch handler failed');
  }
  return deliveries.map(
    (delivery) =>
      delivery.settlement ??
      (succeeded
        ? { kind: 'ack' }
        : { kind: 'nak', delayMs: retryDelayMs(delivery.deliveryCount), failed: true }),
  );
}

export function headersToRecord(entries: Iterable<[string, string]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of entries) out[name] = value;
  return out;
}
