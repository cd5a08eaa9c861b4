import { randomUUID } from 'node:crypto';
import type { Admin, Kafka, Consumer as KafkaJsConsumer, Producer as KafkaJsProducer } from 'kafkajs';
import kafkajs from 'kafkajs';
import type { CheckpointStore } from '../checkpoints.ts';
import type { KafkaConfig } from '../config.ts';
import { withTimeout } from '../errors.ts';
import type { StreamName } from '../types.ts';
import { kafkaError } from './client.ts';
import { ensureTopics } from './topics.ts';

export interface KafkaCheckpointOptions {
  kafka: Kafka;
  admin: () => Promise<Admin>;
  /** Topic names; checkpoints live in the compacted `state` topic. */
  names: Readonly<Record<StreamName, string>>;
  config: KafkaConfig;
  timeoutMs: number;
}

/**
 * Checkpoints in a compacted topic. A reader tails the topic into memory (newest value per key); `load` first
 * waits until the reader has caught up with the topic's end as of the call, so it sees every earlier save,
 * including those of the processor that owned a partition before a rebalance or crash.
 */
export class KafkaCheckpointStore implements CheckpointStore {
  readonly #options: KafkaCheckpointOptions;
  readonly #latest = new Map<string, Uint8Array>();
  /** Next offset to read, per partition, as the reader advances. */
  readonly #position = new Map<number, bigint>();
  readonly #producer: KafkaJsProducer;
  readonly #reader: KafkaJsConsumer;
  #started: Promise<void> | undefined;
  #waiters: Array<() => void> = [];

  constructor(options: KafkaCheckpointOptions) {
    this.#options = options;
    this.#producer = options.kafka.producer({
      idempotent: true,
      allowAutoTopicCreation: false,
      createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
    });
    // A private group that never commits: every store reads the whole topic, and no group state outlives it.
    // Its fetches mostly idle on a quiet topic; a short long-poll keeps close() from waiting out kafkajs'
    // 5 s default before the processor can exit.
    this.#reader = options.kafka.consumer({
      groupId: `${options.config.clientId}-checkpoints-${randomUUID()}`,
      maxWaitTimeInMs: 500,
    });
  }

  async load(key: string): Promise<Uint8Array | undefined> {
    await withTimeout(this.#catchUp(), this.#options.timeoutMs * 3, 'reading checkpoints').catch(
      (error: unknown) => {
        throw kafkaError(error, 'reading checkpoints');
      },
    );
    return this.#latest.get(key);
  }

  async save(key: string, value: Uint8Array): Promise<void> {
    try {
      await this.#start();
      await withTimeout(
        this.#producer.send({
          topic: this.#options.names.state,
          acks: -1,
          messages: [{ key, value: Buffer.from(value) }],
        }),
        this.#options.timeoutMs,
        'saving a checkpoint',
      );
      this.#latest.set(key, value);
    } catch (error) {
      throw kafkaError(error, 'saving a checkpoint');
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.#producer.disconnect(), this.#reader.disconnect()]);
  }

  #start(): Promise<void> {
    this.#started ??= (async () => {
      if (this.#options.config.createTopics) {
        await ensureTopics(await this.#options.admin(), this.#options.names, this.#options.config);
      }
      await this.#producer.connect();
      await this.#reader.connect();
      await this.#reader.subscribe({ topic: this.#options.names.state, fromBeginning: true });
      await this.#reader.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const key = message.key?.toString('utf8');
          if (key !== undefined) {
            if (message.value === null) this.#latest.delete(key);
            else this.#latest.set(key, new Uint8Array(message.value));
          }
          this.#position.set(partition, BigInt(message.offset) + 1n);
          for (const wake of this.#waiters.splice(0)) wake();
        },
      });
    })().catch((error: unknown) => {
      this.#started = undefined;
      throw error;
    });
    return this.#started;
  }

  async #catchUp(): Promise<void> {
    await this.#start();
    const admin = await this.#options.admin();
    const ends = await admin.fetchTopicOffsets(this.#options.names.state);
    const behind = () =>
      ends.some(({ partition, high, low }) => {
        const end = BigInt(high);
        return end > BigInt(low) && (this.#position.get(partition) ?? 0n) < end;
      });
    while (behind()) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
}
