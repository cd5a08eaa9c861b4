import type { Clock } from '../../../core/clock.ts';

export interface BucketLimits {
  ratePerSecond: number;
  burst: number;
}

export type Admission = { ok: true } | { ok: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * Token buckets by key, refilled lazily from the injected clock. A cost larger than what is left is
 * admitted while at least one token remains and leaves a debt, so one big batch passes and the next waits
 * (a batch larger than the burst is never refused forever). At most `maxTracked` keys are kept; the least
 * recently used goes first, and such a bucket would be full anyway unless it was hammered just before.
 */
export class TokenBuckets {
  readonly #limits: BucketLimits;
  readonly #maxTracked: number;
  readonly #clock: Clock;
  readonly #buckets = new Map<string, Bucket>();

  constructor(limits: BucketLimits, maxTracked: number, clock: Clock) {
    this.#limits = limits;
    this.#maxTracked = maxTracked;
    this.#clock = clock;
  }

  take(key: string, cost = 1): Admission {
    const now = this.#clock();
    const { ratePerSecond, burst } = this.#limits;
    let bucket = this.#buckets.get(key);
    if (bucket) {
      bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * ratePerSecond);
      bucket.updatedAt = now;
      this.#buckets.delete(key); // re-inserted below: Map order is our LRU order
    } else {
      bucket = { tokens: burst, updatedAt: now };
      if (this.#buckets.size >= this.#maxTracked) this.#buckets.delete(this.#buckets.keys().next().value!);
    }
    this.#buckets.set(key, bucket);
    if (bucket.tokens < 1)
      return { ok: false, retryAfterSeconds: Math.ceil((1 - bucket.tokens) / ratePerSecond) };
    bucket.tokens -= cost;
    return { ok: true };
  }
}
