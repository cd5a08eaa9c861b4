import { EdrError } from '../../core/errors.ts';

interface Entry<T> {
  items: readonly T[];
  resolve: () => void;
  reject: (error: unknown) => void;
  settled: boolean;
  timer: NodeJS.Timeout;
}

/**
 * Group commit: one send in flight at a time; whatever callers submit meanwhile goes out together in the
 * next send. Each caller's promise settles with the send that carried its items. One flight at a time also
 * keeps the idempotent producer's sequence numbers in order.
 */
export class SendQueue<T> {
  readonly #send: (items: T[]) => Promise<void>;
  readonly #maxItems: number;
  #queue: Entry<T>[] = [];
  #flight: Promise<void> | undefined;

  constructor(send: (items: T[]) => Promise<void>, maxItems: number) {
    this.#send = send;
    this.#maxItems = maxItems;
  }

  /** Resolves when the send carrying `items` succeeded; rejects on its failure or after `timeoutMs`. */
  submit(items: readonly T[], timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const entry: Entry<T> = {
        items,
        resolve,
        reject,
        settled: false,
        timer: setTimeout(() => {
          // Still queued: drop it so it is never sent after its caller was told it failed.
          this.#queue = this.#queue.filter((queued) => queued !== entry);
          settle(entry, new EdrError('EDR_ERR_BROKER_TIMEOUT', `no acknowledgement within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.#queue.push(entry);
      this.#flight ??= this.#drain();
    });
  }

  /** Resolves once nothing is queued or in flight. */
  async idle(): Promise<void> {
    while (this.#flight) await this.#flight;
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const carried = this.#take();
      try {
        await this.#send(carried.flatMap((entry) => entry.items));
        for (const entry of carried) settle(entry);
      } catch (error) {
        for (const entry of carried) settle(entry, error);
      }
    }
    this.#flight = undefined;
  }

  #take(): Entry<T>[] {
    const taken: Entry<T>[] = [];
    let count = 0;
    while (this.#queue.length > 0) {
      const next = this.#queue[0]!;
      if (taken.length > 0 && count + next.items.length > this.#maxItems) break;
      taken.push(next);
      count += next.items.length;
      this.#queue.shift();
    }
    return taken;
  }
}

function settle<T>(entry: Entry<T>, error?: unknown): void {
  if (entry.settled) return;
  entry.settled = true;
  clearTimeout(entry.timer);
  if (error === undefined) entry.resolve();
  else entry.reject(error);
}
