import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { errors } from '@nats-io/transport-node';
import { EdrError } from '../../core/errors.ts';
import { asBrokerError } from '../errors.ts';

/** Timeouts stay timeouts; a JetStream API refusal (payload too large, ...) is final; the rest is an outage. */
export function natsError(error: unknown, what: string): EdrError {
  if (error instanceof EdrError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof errors.TimeoutError) {
    return new EdrError('EDR_ERR_BROKER_TIMEOUT', `${what}: ${message}`, { cause: error });
  }
  if (
    error instanceof JetStreamApiError &&
    error.status >= 400 &&
    error.status < 500 &&
    error.code !== JetStreamApiCodes.StreamNotFound
  ) {
    return new EdrError('EDR_ERR_BROKER_REJECTED', `${what}: ${message}`, { cause: error });
  }
  return asBrokerError(error, what);
}
