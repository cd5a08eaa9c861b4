import { type KV, Kvm } from '@nats-io/kv';
import type { CheckpointStore } from '../checkpoints.ts';
import { withTimeout } from '../errors.ts';
import type { NatsConnectionHandle } from './connection.ts';
import { natsError } from './errors.ts';

/** KV keys allow letters, digits and `-/_=.`; partition names are mapped onto that alphabet. */
function kvKey(key: string): string {
  return key.replace(/[^-/_=.a-zA-Z0-9]/g, '_');
}

/** Checkpoints in a JetStream key-value bucket (history 1: only the newest value per key is kept). */
export class NatsCheckpointStore implements CheckpointStore {
  readonly #connection: NatsConnectionHandle;
  readonly #bucket: string;
  readonly #timeoutMs: number;
  #kv: Promise<KV> | undefined;

  constructor(connection: NatsConnectionHandle, bucket: string, timeoutMs: number) {
    this.#connection = connection;
    this.#bucket = bucket;
    this.#timeoutMs = timeoutMs;
  }

  async load(key: string): Promise<Uint8Array | undefined> {
    try {
      const entry = await withTimeout(
        (await this.#open()).get(kvKey(key)),
        this.#timeoutMs,
        'reading a checkpoint',
      );
      return entry && entry.operation === 'PUT' ? entry.value : undefined;
    } catch (error) {
      throw natsError(error, 'reading a checkpoint');
    }
  }

  async save(key: string, value: Uint8Array): Promise<void> {
    try {
      await withTimeout((await this.#open()).put(kvKey(key), value), this.#timeoutMs, 'saving a checkpoint');
    } catch (error) {
      throw natsError(error, 'saving a checkpoint');
    }
  }

  async close(): Promise<void> {}

  #open(): Promise<KV> {
    this.#kv ??= this.#connection
      .get()
      .then((nc) => new Kvm(nc).create(this.#bucket, { history: 1 }))
      .catch((error: unknown) => {
        this.#kv = undefined;
        throw error;
      });
    return this.#kv;
  }
}
