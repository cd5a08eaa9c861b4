import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { NatsConfig } from '../config.ts';
import type { StreamName } from '../types.ts';

/** NATS has no message key; it travels as a header so consumers see the same Message.key as on Kafka. */
export const KEY_HEADER = 'edr-key';

/** Subject-token characters that are safe everywhere: NATS forbids `.`, `*`, `>` and whitespace. */
const UNSAFE_TOKEN = /[^A-Za-z0-9_-]/g;
const MAX_TOKEN_LENGTH = 128;

/** Makes any id a single subject token. Distinct ids may map to one token: subjects filter, payloads identify. */
export function subjectToken(value: string): string {
  const token = value.replace(UNSAFE_TOKEN, '_').slice(0, MAX_TOKEN_LENGTH);
  return token === '' ? '_' : token;
}

/** Message.partition of a logical stream's messages: the one JetStream stream and the subject prefix. */
export function partitionOf(
  config: NatsConfig,
  names: Readonly<Record<StreamName, string>>,
  stream: StreamName,
): string {
  return `${config.stream}/${names[stream]}`;
}

/** `repartition` is Kafka's alone (one durable reads the whole stream), and its default name nests under events. */
export function subjectsOf(names: Readonly<Record<StreamName, string>>): string[] {
  return (Object.entries(names) as [StreamName, string][])
    .filter(([stream]) => stream !== 'repartition')
    .map(([, prefix]) => `${prefix}.>`);
}

/** Creates the JetStream stream, or adds our subjects to an existing one. */
export async function ensureStream(
  jsm: JetStreamManager,
  config: NatsConfig,
  names: Readonly<Record<StreamName, string>>,
): Promise<void> {
  const subjects = subjectsOf(names);
  try {
    const info = await jsm.streams.info(config.stream);
    const missing = subjects.filter((subject) => !info.config.subjects.includes(subject));
    if (missing.length > 0) {
      await jsm.streams.update(config.stream, { subjects: [...info.config.subjects, ...missing] });
    }
  } catch (error) {
    if (!isApiError(error, JetStreamApiCodes.StreamNotFound)) throw error;
    const stream: Partial<StreamConfig> & { name: string } = {
      name: config.stream,
      subjects,
      storage: config.storage === 'memory' ? StorageType.Memory : StorageType.File,
      num_replicas: config.replicas,
      max_age: nanos(config.maxAgeMs),
      duplicate_window: nanos(config.duplicateWindowMs),
    };
    try {
      await jsm.streams.add(stream);
    } catch (addError) {
      // Created meanwhile by another process: fine if it is there now.
      await jsm.streams.info(config.stream).catch(() => {
        throw addError;
      });
    }
  }
}

export function isApiError(error: unknown, code: number): boolean {
  return error instanceof JetStreamApiError && error.code === code;
}
