import {
  type MessageToProduce,
  Producer as PlatformaticProducer,
  stringSerializer,
} from '@platformatic/kafka';
import type { Admin } from 'kafkajs';
import { EdrError } from '../../../core/errors.ts';
import type { KafkaConfig } from '../../config.ts';
import { withTimeout } from '../../errors.ts';
import type { OutboundRecord, Producer, StreamName } from '../../types.ts';
import { asBuffer, requestChunks } from '../records.ts';
import { SendQueue } from '../send-queue.ts';
import { ensureTopics } from '../topics.ts';
import { baseOptions, compatiblePartitioner, platformaticError } from './client.ts';

type Outgoing = MessageToProduce<string, Buffer, string, string>;

export interface PlatformaticProducerOptions {
  /** kafkajs admin of the transport: topics are created the same way whichever client produces. */
  admin: () => Promise<Admin>;
  names: Readonly<Record<StreamName, string>>;
  config: KafkaConfig;
  publishTimeoutMs: number;
}

/** The idempotent, acks=all producer on @platformatic/kafka; publishes coalesce as in the kafkajs one. */
export class KafkaPlatformaticProducer implements Producer {
  readonly #options: PlatformaticProducerOptions;
  readonly #producer: PlatformaticProducer<string, Buffer, string, string>;
  readonly #queue: SendQueue<OutboundRecord>;
  #connecting: Promise<void> | undefined;
  #closed = false;

  constructor(options: PlatformaticProducerOptions) {
    this.#options = options;
    this.#producer = new PlatformaticProducer({
      ...baseOptions(options.config),
      idempotent: true,
      acks: -1,
      autocreateTopics: false,
      partitioner: compatiblePartitioner(),
      serializers: { key: stringSerializer, headerKey: stringSerializer, headerValue: stringSerializer },
    });
    this.#queue = new SendQueue((records) => this.#send(records), options.config.maxBatchRecords);
  }

  connect(): Promise<void> {
    this.#connecting ??= this.#connect().catch((error: unknown) => {
      this.#connecting = undefined;
      throw platformaticError(error, 'connecting to Kafka');
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
          await this.#producer.metadata({ topics: [this.#options.names.events], forceUpdate: true });
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
    await this.#producer.close();
  }

  async #connect(): Promise<void> {
    const { admin, names, config } = this.#options;
    if (config.createTopics) await ensureTopics(await admin(), names, config);
    // Registers the producer id now, so the first publish does not pay for it.
    await this.#producer.initIdempotentProducer({});
  }

  async #send(records: OutboundRecord[]): Promise<void> {
    for (const chunk of requestChunks(records)) {
      const messages = chunk.map((record): Outgoing => {
        const message: Outgoing = {
          topic: this.#options.names[record.stream],
          key: record.key,
          value: asBuffer(record.value),
          headers: record.headers ?? {},
        };
        if (record.timestamp !== undefined) message.timestamp = BigInt(record.timestamp);
        return message;
      });
      try {
        await this.#producer.send({ messages, acks: -1 });
      } catch (error) {
        throw platformaticError(error, 'publishing to Kafka');
      }
    }
  }
}
