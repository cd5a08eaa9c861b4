import {
  type MessageToProduce,
  Producer as PlatformaticProducer,
  stringSerializer,
} from '@platformatic/kafka';
import type { EdrError } from '../../../core/errors.ts';
import type { OutboundRecord } from '../../types.ts';
import { QueuedProducer, type QueuedProducerOptions } from '../queued-producer.ts';
import { asBuffer } from '../records.ts';
import { baseOptions, compatiblePartitioner, platformaticError } from './client.ts';

type Outgoing = MessageToProduce<string, Buffer, string, string>;

export type PlatformaticProducerOptions = QueuedProducerOptions;

/** The idempotent, acks=all producer on @platformatic/kafka; publishes coalesce as in the kafkajs one. */
export class KafkaPlatformaticProducer extends QueuedProducer {
  readonly #producer: PlatformaticProducer<string, Buffer, string, string>;

  constructor(options: PlatformaticProducerOptions) {
    super(options);
    this.#producer = new PlatformaticProducer({
      ...baseOptions(options.config),
      idempotent: true,
      acks: -1,
      autocreateTopics: false,
      partitioner: compatiblePartitioner(),
      serializers: { key: stringSerializer, headerKey: stringSerializer, headerValue: stringSerializer },
    });
  }

  protected async open(): Promise<void> {
    // Registers the producer id now, so the first publish does not pay for it.
    await this.#producer.initIdempotentProducer({});
  }

  protected async probe(): Promise<void> {
    await this.#producer.metadata({ topics: [this.options.names.events], forceUpdate: true });
  }

  protected shutdown(): Promise<void> {
    return this.#producer.close();
  }

  protected failure(error: unknown, doing: string): EdrError {
    return platformaticError(error, doing);
  }

  protected async sendRequest(records: readonly OutboundRecord[]): Promise<void> {
    const messages = records.map((record): Outgoing => {
      const message: Outgoing = {
        topic: this.options.names[record.stream],
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
