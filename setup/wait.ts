import { EdrError, retry } from '../core/index.ts';
import { errorText, SetupError, type SetupStep } from './errors.ts';

export interface WaitOptions {
  timeoutMs: number;
  /** Pause between attempts (jittered down to half of it). */
  intervalMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** "Not up yet" is worth waiting for; a SetupError or a non-retriable EdrError will not change by waiting. */
function transient(error: unknown): boolean {
  return !(error instanceof SetupError) && !(error instanceof EdrError && !error.retriable);
}

/**
 * Runs `probe` until it resolves or `timeoutMs` has passed, then fails with the last reason. Under compose the
 * services come up in any order, so early failures are normal.
 */
export async function waitFor<T>(
  step: SetupStep,
  what: string,
  probe: () => Promise<T>,
  options: WaitOptions,
): Promise<T> {
  const now = options.now ?? Date.now;
  const interval = options.intervalMs ?? 2_000;
  const deadline = now() + options.timeoutMs;
  try {
    return await retry(probe, {
      attempts: Number.POSITIVE_INFINITY,
      initialDelayMs: interval,
      maxDelayMs: interval,
      factor: 1,
      random: () => 0.5 + Math.random() / 2,
      shouldRetry: (error) => transient(error) && now() + interval / 2 < deadline,
      ...(options.sleep ? { sleep: options.sleep } : {}),
    });
  } catch (error) {
    if (error instanceof SetupError) throw error;
    if (!transient(error)) throw new SetupError(step, `${what}: ${errorText(error)}`, { cause: error });
    const seconds = Math.round(options.timeoutMs / 1000);
    throw new SetupError(step, `${what}: not ready after ${seconds}s (last error: ${errorText(error)})`, {
      cause: error,
    });
  }
}
