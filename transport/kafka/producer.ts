import type {
  Admin,
  Kafka,
  Producer as KafkaJsProducer,
  Message as KafkaMessage,
  TopicMessages,
} from 'kafkajs';
import kafkajs from 'kafkajs';
import { EdrError } from '../../core/errors.ts';
import type { KafkaConfig } from '../config.ts';
import { withTimeout } from '../errors.ts';
import type { OutboundRecord, Producer, StreamName } from '../types.ts';
import { kafkaError } from './client.ts';
import { memoizedPartitioner } from './partitioner.ts';
import { asBuffer, requestChunks } from './records.ts';
import { SendQueue } from './send-queue.ts';
import { ensureTopics } from './topics.ts';

const { CompressionTypes } = kafkajs;

export interface KafkaProducerOptions {
  kafka: Kafka;
  admin: () => Promise<Admin>;
  names: Readonly<Record<StreamName, string>>;
  config: KafkaConfig;
  publishTimeoutMs: number;
}

/** Idempotent, acks=all producer; concurrent publishes are coalesced into one produce request. */
export class KafkaProducer implements Producer {
  readonly #options: KafkaProducerOptions;
  readonly #producer: KafkaJsProducer;
  readonly #queue: SendQueue<OutboundRecord>;
  #connecting: Promise<void> | undefined;
  #closed = false;

  constructor(options: KafkaProducerOptions) {
    this.#options = options;
    this.#producer = options.kafka.producer({
      idempotent: true,
      allowAutoTopicCreation: false,
      createPartitioner: memoizedPartitioner(),
      retry: { retries: options.config.retries, initialRetryTime: 100, maxRetryTime: 2_000 },
    });
    this.#queue = new SendQueue((records) => this.#send(records), options.config.maxBatchRecords);
  }

  connect(): Promise<void> {
    this.#connecting ??= this.#connect().catch((error: unknown) => {
      this.#connecting = undefined;
      throw kafkaError(error, 'connecting to Kafka');
    });
    return this.#connecting;
  }

  async publish(records: readonly OutboundRecord[]): Promise<void> {
    if (this.#closed) throw new EdrError('EDR_ERR_BROKER_UNAVAILABLE', 'producer closed');
    if (records.length === 0) return;
    const started = Date.now();
    const timeoutMs = this.#options.publishTimeoutMs;
    await withTimeout(this.connect(), timeoutMs, 'connecting to Kafka');
    await this.#queue.submit(records, Math.max(1, timeoutMs - (Date.now() - started)));
  }

  async ready(): Promise<boolean> {
    try {
      await withTimeout(
        (async () => {
          await this.connect();
          await (await this.#options.admin()).describeCluster();
        })(),
        2_000,
        'Kafka readiness probe',
      );
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue.idle();
    await this.#producer.disconnect();
  }

  async #connect(): Promise<void> {
    const { admin, names, config } = this.#options;
    if (config.createTopics) await ensureTopics(await admin(), names, config);
    await this.#producer.connect();
  }

  async #send(records: OutboundRecord[]): Promise<void> {
    for (const chunk of requestChunks(records)) await this.#sendRequest(chunk);
  }

  async #sendRequest(records: OutboundRecord[]): Promise<void> {
    const byTopic = new Map<string, KafkaMessage[]>();
    for (const record of records) {
      const topic = this.#options.names[record.stream];
      let messages = byTopic.get(topic);
      if (!messages) {
        messages = [];
        byTopic.set(topic, messages);
      }
      const message: KafkaMessage = {
        key: record.key,
        value: asBuffer(record.value),
        headers: record.headers ?? {},
      };
      if (record.timestamp !== undefined) message.timestamp = String(record.timestamp);
      messages.push(message);
    }
    const topicMessages: TopicMessages[] = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    try {
      await this.#producer.sendBatch({ topicMessages, acks: -1, compression: CompressionTypes.None });
    } catch (error) {
      throw kafkaError(error, 'publishing to Kafka');
    }
  }
}
