import type { Clock } from '../../../core/clock.ts';

export type ReplayAdmission =
  | { ok: true }
  | { ok: false; reason: 'replayed' }
  | { ok: false; reason: 'full'; retryAfterSeconds: number };

/**
 * Signatures seen within the replay window of a signed source. hushd signs the body only (no signed time
 * header, no nonce), so a body can be told apart from its replay by its signature alone; the body's own
 * timestamp, checked by the ingest pipeline against the same window, refuses replays older than what is kept
 * here. At most `maxTracked` signatures are kept: when all are still in their window, new requests are
 * refused (429, until the oldest expires) rather than forgetting one that could then be replayed.
 */
export class ReplayGuard {
  readonly #windowMs: number;
  readonly #maxTracked: number;
  readonly #clock: Clock;
  /** Signature → when it leaves the window; insertion order is expiry order (same window for all). */
  readonly #seen = new Map<string, number>();

  constructor(options: { windowMs: number; maxTracked: number }, clock: Clock) {
    this.#windowMs = options.windowMs;
    this.#maxTracked = options.maxTracked;
    this.#clock = clock;
  }

  admit(signature: string): ReplayAdmission {
    const now = this.#clock();
    for (const [seen, expiresAt] of this.#seen) {
      if (expiresAt > now) break;
      this.#seen.delete(seen);
    }
    if (this.#seen.has(signature)) return { ok: false, reason: 'replayed' };
    if (this.#seen.size >= this.#maxTracked) {
      const oldest = this.#seen.values().next().value!;
      return { ok: false, reason: 'full', retryAfterSeconds: Math.max(1, Math.ceil((oldest - now) / 1000)) };
    }
    this.#seen.set(signature, now + this.#windowMs);
    return { ok: true };
  }

  /** Forgets a signature whose request was not accepted, so the sender's retry of it is not a replay. */
  release(signature: string): void {
    this.#seen.delete(signature);
  }
}
