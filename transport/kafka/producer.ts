import type { Kafka, Producer as KafkaJsProducer, Message as KafkaMessage, TopicMessages } from 'kafkajs';
import kafkajs from 'kafkajs';
import type { EdrError } from '../../core/errors.ts';
import type { OutboundRecord } from '../types.ts';
import { kafkaError } from './client.ts';
import { memoizedPartitioner } from './partitioner.ts';
import { QueuedProducer, type QueuedProducerOptions } from './queued-producer.ts';
import { asBuffer } from './records.ts';

const { CompressionTypes } = kafkajs;

export interface KafkaProducerOptions extends QueuedProducerOptions {
  kafka: Kafka;
}

/** Idempotent, acks=all producer on kafkajs; concurrent publishes are coalesced into one produce request. */
export class KafkaProducer extends QueuedProducer {
  readonly #producer: KafkaJsProducer;

  constructor(options: KafkaProducerOptions) {
    super(options);
    this.#producer = options.kafka.producer({
      idempotent: true,
      allowAutoTopicCreation: false,
      createPartitioner: memoizedPartitioner(),
      retry: { retries: options.config.retries, initialRetryTime: 100, maxRetryTime: 2_000 },
    });
  }

  protected open(): Promise<void> {
    return this.#producer.connect();
  }

  protected async probe(): Promise<void> {
    await (await this.options.admin()).describeCluster();
  }

  protected shutdown(): Promise<void> {
    return this.#producer.disconnect();
  }

  protected failure(error: unknown, doing: string): EdrError {
    return kafkaError(error, doing);
  }

  protected async sendRequest(records: readonly OutboundRecord[]): Promise<void> {
    const byTopic = new Map<string, KafkaMessage[]>();
    for (const record of records) {
      const topic = this.options.names[record.stream];
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
