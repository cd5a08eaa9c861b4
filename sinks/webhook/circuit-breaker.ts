import type { Clock } from '../../core/clock.ts';

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long it stays open before one trial request is let through. */
  openMs: number;
}

export interface CircuitStats {
  state: CircuitState;
  consecutiveFailures: number;
  successes: number;
  failures: number;
  /** Requests refused without being sent because the circuit was open. */
  rejected: number;
  /** Times the circuit opened. */
  opened: number;
}

export type Permit = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * Closed → open after `failureThreshold` consecutive failures; open → half-open after `openMs`, when a
 * single trial request goes out; the trial's result closes or reopens it. Failures are transient ones
 * (5xx, 429, timeouts, refused connections): a 4xx answer proves the endpoint is up.
 */
export class CircuitBreaker {
  private stats: CircuitStats = {
    state: 'closed',
    consecutiveFailures: 0,
    successes: 0,
    failures: 0,
    rejected: 0,
    opened: 0,
  };
  private openedAt = 0;
  private trialInFlight = false;

  constructor(
    private readonly options: CircuitBreakerOptions,
    private readonly clock: Clock,
  ) {}

  acquire(): Permit {
    const { state } = this.stats;
    if (state === 'closed') return { allowed: true };
    const waited = this.clock() - this.openedAt;
    if (state === 'open' && waited >= this.options.openMs) {
      this.stats.state = 'half-open';
      this.trialInFlight = true;
      return { allowed: true };
    }
    this.stats.rejected++;
    const retryAfterMs = state === 'open' ? this.options.openMs - waited : this.options.openMs;
    return { allowed: false, retryAfterMs: Math.max(retryAfterMs, 1) };
  }

  recordSuccess(): void {
    this.stats.successes++;
    this.stats.consecutiveFailures = 0;
    this.trialInFlight = false;
    this.stats.state = 'closed';
  }

  recordFailure(): void {
    this.stats.failures++;
    this.stats.consecutiveFailures++;
    const trialFailed = this.stats.state === 'half-open' && this.trialInFlight;
    if (trialFailed || this.stats.consecutiveFailures >= this.options.failureThreshold) this.open();
  }

  snapshot(): CircuitStats {
    return { ...this.stats };
  }

  private open(): void {
    if (this.stats.state !== 'open') this.stats.opened++;
    this.stats.state = 'open';
    this.openedAt = this.clock();
    this.trialInFlight = false;
  }
}

/** One breaker per endpoint (scheme, host and port), shared by every action that targets it. */
export class CircuitBreakers {
  private readonly byEndpoint = new Map<string, CircuitBreaker>();

  constructor(
    private readonly options: CircuitBreakerOptions,
    private readonly clock: Clock,
  ) {}

  for(endpoint: string): CircuitBreaker {
    let breaker = this.byEndpoint.get(endpoint);
    if (!breaker) {
      breaker = new CircuitBreaker(this.options, this.clock);
      this.byEndpoint.set(endpoint, breaker);
    }
    return breaker;
  }

  snapshot(): Record<string, CircuitStats> {
    return Object.fromEntries(
      [...this.byEndpoint].map(([endpoint, breaker]) => [endpoint, breaker.snapshot()]),
    );
  }
}
