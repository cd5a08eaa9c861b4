import kafkajs, { type KafkaConfig as KafkaJsConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import { EdrError } from '../../core/errors.ts';
import type { KafkaConfig } from '../config.ts';
import { asBrokerError } from '../errors.ts';
import type { TransportLogger } from '../types.ts';

const { Kafka, logLevel } = kafkajs;

const LEVELS = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
} as const;

/**
 * Log entries kafkajs writes for situations we handle: capped idempotent retries (on purpose, see config),
 * and a topic another process created first (ensureTopics checks, and reports a real failure itself).
 */
function handledElsewhere(message: string, fields: Record<string, unknown>): boolean {
  return (
    message === 'Limiting retries for the idempotent producer may invalidate EoS guarantees' ||
    (message.startsWith('Response CreateTopics') && fields.error === 'Topic creation errors')
  );
}

/** Routes kafkajs' own logging into the caller's JSON logger. */
function logCreator(log: TransportLogger) {
  return () =>
    ({ namespace, level, log: entry }: LogEntry) => {
      const { message, timestamp: _timestamp, ...fields } = entry;
      if (handledElsewhere(message, fields)) return;
      const context = { component: 'kafkajs', namespace, ...fields };
      if (level === logLevel.ERROR) log.error(context, message);
      else if (level === logLevel.WARN) log.warn(context, message);
      else if (level === logLevel.INFO) log.info(context, message);
      else log.debug(context, message);
    };
}

export function createKafkaClient(config: KafkaConfig, log: TransportLogger): InstanceType<typeof Kafka> {
  const options: KafkaJsConfig = {
    clientId: config.clientId,
    brokers: config.brokers,
    connectionTimeout: config.connectionTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    retry: { retries: config.retries, initialRetryTime: 100, maxRetryTime: 2_000 },
    logLevel: LEVELS[config.logLevel],
    logCreator: logCreator(log),
    ssl: config.ssl,
  };
  if (config.sasl) options.sasl = config.sasl as SASLOptions;
  return new Kafka(options);
}

/**
 * Maps a kafkajs failure to the catalog: a broker that refuses the records for good (too large, not
 * authorized) is not worth retrying; timeouts and connection trouble are.
 */
export function kafkaError(error: unknown, what: string): EdrError {
  if (error instanceof EdrError) return error;
  const name = error instanceof Error ? error.name : '';
  const retriable = (error as { retriable?: unknown } | null)?.retriable;
  if (name === 'KafkaJSProtocolError' && retriable === false) {
    return new EdrError('EDR_ERR_BROKER_REJECTED', `${what}: ${(error as Error).message}`, { cause: error });
  }
  if (name.includes('Timeout')) {
    return new EdrError('EDR_ERR_BROKER_TIMEOUT', `${what}: ${(error as Error).message}`, { cause: error });
  }
  return asBrokerError(error, what);
}
