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
 * single trial request goes out; the trial's result closes or reopens it. Requests arriving during the trial
 * wait for its result (at most `openMs`): they go out as soon as it succeeds, instead of being refused for
 * another whole `openMs`. Failures are transient ones (5xx, 429, timeouts, refused connections): a 4xx
 * answer proves the endpoint is up.
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
  /** Settles when the half-open trial's result is recorded; undefined when no trial is in flight. */
  private trial: { settled: Promise<void>; settle: () => void } | undefined;

  constructor(
    private readonly options: CircuitBreakerOptions,
    private readonly clock: Clock,
  ) {}

  async acquire(): Promise<Permit> {
    const { state } = this.stats;
    if (state === 'closed') return { allowed: true };
    const waited = this.clock() - this.openedAt;
    if (state === 'open' && waited >= this.options.openMs) {
      this.stats.state = 'half-open';
      let settle = () => {};
      const settled = new Promise<void>((resolve) => {
        settle = resolve;
      });
      this.trial = { settled, settle };
      return { allowed: true };
    }
    if (state === 'half-open' && this.trial) {
      const outcome = await settledWithin(this.trial.settled, this.options.openMs);
      if (outcome === 'settled' && this.stats.state === 'closed') return { allowed: true };
    }
    this.stats.rejected++;
    const retryAfterMs =
      this.stats.state === 'open' ? this.options.openMs - (this.clock() - this.openedAt) : 1;
    return { allowed: false, retryAfterMs: Math.max(retryAfterMs, 1) };
  }

  recordSuccess(): void {
    this.stats.successes++;
    this.stats.consecutiveFailures = 0;
    this.stats.state = 'closed';
    this.endTrial();
  }

  recordFailure(): void {
    this.stats.failures++;
    this.stats.consecutiveFailures++;
    const trialFailed = this.stats.state === 'half-open' && this.trial !== undefined;
    if (trialFailed || this.stats.consecutiveFailures >= this.options.failureThreshold) this.open();
  }

  snapshot(): CircuitStats {
    return { ...this.stats };
  }

  private open(): void {
    if (this.stats.state !== 'open') this.stats.opened++;
    this.stats.state = 'open';
    this.openedAt = this.clock();
    this.endTrial();
  }

  private endTrial(): void {
    this.trial?.settle();
    this.trial = undefined;
  }
}

/** Whether `promise` settled within `ms` (a trial that never reports back must not hold its waiters forever). */
async function settledWithin(promise: Promise<void>, ms: number): Promise<'settled' | 'timed-out'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timed-out'>((resolve) => {
    timer = setTimeout(() => resolve('timed-out'), ms);
  });
  try {
    return await Promise.race([promise.then(() => 'settled' as const), timeout]);
  } finally {
    clearTimeout(timer);
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
