import type { Admin } from 'kafkajs';
import { EdrError } from '../../core/errors.ts';
import type { KafkaConfig } from '../config.ts';
import { withTimeout } from '../errors.ts';
import type { OutboundRecord, Producer, StreamName } from '../types.ts';
import { requestChunks } from './records.ts';
import { SendQueue } from './send-queue.ts';
import { ensureTopics } from './topics.ts';

/** What every Kafka producer needs from its transport, whichever client it runs on. */
export interface QueuedProducerOptions {
  /** kafkajs admin of the transport: topics are created the same way whichever client produces. */
  admin: () => Promise<Admin>;
  names: Readonly<Record<StreamName, string>>;
  config: KafkaConfig;
  publishTimeoutMs: number;
}

/**
 * The idempotent, acks=all producer both Kafka clients share: connects once on first use (creating the topics
 * when configured), coalesces concurrent publishes into requests of at most maxBatchRecords, probes readiness
 * within 2 s and drains before closing. A client supplies how to connect, send one request, probe and close.
 */
export abstract class QueuedProducer implements Producer {
  protected readonly options: QueuedProducerOptions;
  readonly #queue: SendQueue<OutboundRecord>;
  #connecting: Promise<void> | undefined;
  #closed = false;

  constructor(options: QueuedProducerOptions) {
    this.options = options;
    this.#queue = new SendQueue((records) => this.#send(records), options.config.maxBatchRecords);
  }

  /** Connects the client (topics already exist). */
  protected abstract open(): Promise<void>;
  /** Sends one request's records, all acknowledged by every in-sync replica, or throws an EdrError. */
  protected abstract sendRequest(records: readonly OutboundRecord[]): Promise<void>;
  /** Throws unless the cluster answers. */
  protected abstract probe(): Promise<void>;
  protected abstract shutdown(): Promise<void>;
  /** The client's error as ours. */
  protected abstract failure(error: unknown, doing: string): EdrError;

  connect(): Promise<void> {
    this.#connecting ??= this.#connect().catch((error: unknown) => {
      this.#connecting = undefined;
      throw this.failure(error, 'connecting to Kafka');
    });
    return this.#connecting;
  }

  async publish(records: readonly OutboundRecord[]): Promise<void> {
    if (this.#closed) throw new EdrError('EDR_ERR_BROKER_UNAVAILABLE', 'producer closed');
    if (records.length === 0) return;
    const started = Date.now();
    const timeoutMs = this.options.publishTimeoutMs;
    await withTimeout(this.connect(), timeoutMs, 'connecting to Kafka');
    await this.#queue.submit(records, Math.max(1, timeoutMs - (Date.now() - started)));
  }

  async ready(): Promise<boolean> {
    try {
      await withTimeout(
        (async () => {
          await this.connect();
          await this.probe();
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
    await this.shutdown();
  }

  async #connect(): Promise<void> {
    const { admin, names, config } = this.options;
    if (config.createTopics) await ensureTopics(await admin(), names, config);
    await this.open();
  }

  async #send(records: OutboundRecord[]): Promise<void> {
    for (const chunk of requestChunks(records)) await this.sendRequest(chunk);
  }
}
