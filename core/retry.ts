export interface RetryOptions {
  /** Attempts in all, the first included. */
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** Multiplier applied per attempt. */
  factor?: number;
  /** Decides per error whether another attempt can help; defaults to the error's `retriable` flag. */
  shouldRetry?: (error: unknown) => boolean;
  /** A delay the failure itself asked for (e.g. Retry-After); overrides the computed backoff when larger. */
  requestedDelayMs?: (error: unknown) => number | undefined;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function retriableFlag(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { retriable?: unknown }).retriable === true;
}

/** Full-jitter exponential backoff: a uniform delay in [0, min(max, initial * factor^n)]. */
export function backoffDelay(
  attempt: number,
  options: RetryOptions,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * (options.factor ?? 2) ** attempt);
  return Math.round(random() * ceiling);
}

/** Runs `operation` until it succeeds, the error is not retriable, or the attempts are spent. */
export async function retry<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const sleep = options.sleep ?? defaultSleep;
  const shouldRetry = options.shouldRetry ?? retriableFlag;
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt + 1 >= options.attempts || !shouldRetry(error)) throw error;
      const computed = backoffDelay(attempt, options, options.random);
      const requested = options.requestedDelayMs?.(error) ?? 0;
      const delay = Math.max(computed, requested);
      options.onRetry?.(error, attempt + 1, delay);
      await sleep(delay);
    }
  }
}
