import './node20.ts';
import {
  type BaseOptions,
  compatibilityPartitioner,
  findErrorBy,
  type MessageToProduce,
  type SASLOptions,
} from '@platformatic/kafka';
import { EdrError } from '../../../core/errors.ts';
import type { KafkaConfig } from '../../config.ts';
import { asBrokerError } from '../../errors.ts';

const SASL_MECHANISMS = {
  plain: 'PLAIN',
  'scram-sha-256': 'SCRAM-SHA-256',
  'scram-sha-512': 'SCRAM-SHA-512',
} as const;

/** Connection options shared by every @platformatic/kafka client of a transport. */
export function baseOptions(config: KafkaConfig): BaseOptions {
  const options: BaseOptions = {
    clientId: config.clientId,
    bootstrapBrokers: config.brokers,
    connectTimeout: config.connectionTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    timeout: config.requestTimeoutMs,
    retries: config.retries,
    // As kafkajs is set up (client.ts): from 100 ms, doubling, at most 2 s; a new topic's leaders take a while.
    retryDelay: (_client, _operation, attempt) => Math.min(2_000, 100 * 2 ** attempt),
  };
  if (config.ssl) options.tls = {};
  if (config.sasl) {
    const sasl: SASLOptions = {
      mechanism: SASL_MECHANISMS[config.sasl.mechanism],
      username: config.sasl.username,
      password: config.sasl.password,
    };
    options.sasl = sasl;
  }
  return options;
}

/**
 * Java's (and kafkajs') partitioner: murmur2 of the key, sign bit cleared, so an agent's records land on the
 * partition any other Kafka client would pick; the library's own default keeps the sign bit, which moves keys.
 * Memoized per key: keys (agent ids) repeat, and hashing each record is visible in profiles.
 */
export function compatiblePartitioner(maxKeys = 50_000) {
  const byKey = new Map<string, number>();
  return (message: MessageToProduce<string, Buffer, string, string>, key: Buffer | undefined): number => {
    const text = message.key;
    if (text === undefined) return compatibilityPartitioner(message, key);
    let hash = byKey.get(text);
    if (hash === undefined) {
      hash = compatibilityPartitioner(message, key);
      if (byKey.size >= maxKeys) byKey.clear();
      byKey.set(text, hash);
    }
    return hash;
  };
}

/** Maps a @platformatic/kafka failure to the catalog, as kafkaError does for kafkajs. */
export function platformaticError(error: unknown, what: string): EdrError {
  if (error instanceof EdrError) return error;
  const cause = error instanceof Error ? error : undefined;
  const message = `${what}: ${cause?.message ?? String(error)}`;
  const protocol = findErrorBy(cause, 'code', 'PLT_KFK_PROTOCOL');
  if (protocol?.canRetry === false && !findErrorBy(cause, 'code', 'PLT_KFK_NETWORK')) {
    return new EdrError('EDR_ERR_BROKER_REJECTED', message, { cause: error });
  }
  if (findErrorBy(cause, 'code', 'PLT_KFK_TIMEOUT')) {
    return new EdrError('EDR_ERR_BROKER_TIMEOUT', message, { cause: error });
  }
  return asBrokerError(error, what);
}
