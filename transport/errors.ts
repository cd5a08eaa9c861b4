import { EdrError } from '../core/errors.ts';

/** Rejects with EDR_ERR_BROKER_TIMEOUT when `promise` has not settled within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new EdrError('EDR_ERR_BROKER_TIMEOUT', `${what} after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Keeps an EdrError as it is; anything else from a broker client becomes EDR_ERR_BROKER_UNAVAILABLE. */
export function asBrokerError(error: unknown, what: string): EdrError {
  if (error instanceof EdrError) return error;
  const detail = error instanceof Error ? `${what}: ${error.message}` : what;
  return new EdrError('EDR_ERR_BROKER_UNAVAILABLE', detail, { cause: error });
}
