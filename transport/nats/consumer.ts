import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerMessages,
  DeliverPolicy,
  JetStreamApiCodes,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import { type MsgHdrs, nanos } from '@nats-io/transport-node';
import type { NatsConfig } from '../config.ts';
import { BatchesInHand, Delivery, runBatch, type Settlement } from '../delivery.ts';
import type {
  BatchHandler,
  Consumer,
  ConsumerOptions,
  PartitionLag,
  StreamName,
  TransportLogger,
} from '../types.ts';
import type { NatsConnectionHandle } from './connection.ts';
import { natsError } from './errors.ts';
import { ensureStream, isApiError, KEY_HEADER, subjectToken } from './stream.ts';

export interface NatsConsumerDeps {
  connection: NatsConnectionHandle;
  config: NatsConfig;
  names: Readonly<Record<StreamName, string>>;
  log: TransportLogger;
}

const DEFAULT_BATCH = 500;
const RESTART_DELAY_MS = 1_000;

/**
 * A JetStream durable pull consumer with explicit acks. Whatever the client has buffered becomes the next
 * batch, so batches are large under load and small (low latency) when idle. The stream is one partition.
 */
export class NatsConsumer implements Consumer {
  /** Acknowledgements are sent after each batch; deferring them would hold max_ack_pending slots. */
  readonly defersCommits = false;

  async commit(): Promise<void> {}

  readonly #deps: NatsConsumerDeps;
  readonly #options: ConsumerOptions;
  readonly #durable: string;
  readonly #partition: string;
  readonly #maxBatch: number;
  #messages: ConsumerMessages | undefined;
  #loop: Promise<void> | undefined;
  readonly #inHand = new BatchesInHand();
  #paused = false;
  #closing = false;
  #wake: (() => void) | undefined;
  #lag: number | undefined;
  /** Ends the backoff of a failed batch early, on close. */
  #wakeBackOff: (() => void) | undefined;

  constructor(deps: NatsConsumerDeps, options: ConsumerOptions) {
    this.#deps = deps;
    this.#options = options;
    this.#durable = subjectToken(options.group);
    this.#partition = `${deps.config.stream}/${deps.names[options.stream]}`;
    this.#maxBatch = options.maxBatchSize ?? DEFAULT_BATCH;
  }

  async start(handler: BatchHandler): Promise<void> {
    try {
      const jsm = await jetstreamManager(await this.#deps.connection.get());
      await ensureStream(jsm, this.#deps.config, this.#deps.names);
      await this.#ensureDurable(jsm);
    } catch (error) {
      throw natsError(error, `starting JetStream consumer ${this.#durable}`);
    }
    await this.#options.onAssignment?.([this.#partition]);
    this.#loop = this.#run(handler);
  }

  pause(): void {
    this.#paused = true;
    this.#wakeBackOff?.();
    // Stop pulling; messages the client already holds are nak'ed back (see #run).
    this.#messages?.stop();
  }

  resume(): void {
    this.#paused = false;
    this.#wake?.();
  }

  settled(): Promise<void> {
    return this.#inHand.settled();
  }

  lag(): readonly PartitionLag[] {
    return this.#lag === undefined ? [] : [{ partition: this.#partition, lag: this.#lag }];
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#messages?.stop();
    this.#wake?.();
    this.#wakeBackOff?.();
    await this.#loop;
    // Acks are fire-and-forget publishes: make sure the server has them before we go.
    const nc = await this.#deps.connection.get().catch(() => undefined);
    await nc?.flush().catch(() => {});
  }

  async #ensureDurable(jsm: JetStreamManager): Promise<void> {
    const { config, names } = this.#deps;
    const limits = {
      max_ack_pending: config.maxAckPending,
      ack_wait: nanos(config.ackWaitMs),
      max_deliver: config.maxDeliver,
    };
    try {
      await jsm.consumers.info(config.stream, this.#durable);
      await jsm.consumers.update(config.stream, this.#durable, limits);
    } catch (error) {
      if (!isApiError(error, JetStreamApiCodes.ConsumerNotFound)) throw error;
      const consumer: Partial<ConsumerConfig> = {
        ...limits,
        durable_name: this.#durable,
        ack_policy: AckPolicy.Explicit,
        filter_subject: `${names[this.#options.stream]}.>`,
        deliver_policy: (this.#options.fromBeginning ?? true) ? DeliverPolicy.All : DeliverPolicy.New,
      };
      await jsm.consumers.add(config.stream, consumer);
    }
  }

  async #run(handler: BatchHandler): Promise<void> {
    while (!this.#closing) {
      if (this.#paused) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        continue;
      }
      try {
        await this.#consumeOnce(handler);
      } catch (error) {
        if (this.#closing) break;
        this.#deps.log.warn({ err: error, consumer: this.#durable }, 'JetStream consume failed; restarting');
        await new Promise((resolve) => setTimeout(resolve, RESTART_DELAY_MS));
      }
    }
  }

  async #consumeOnce(handler: BatchHandler): Promise<void> {
    const js = jetstream(await this.#deps.connection.get());
    const consumer = await js.consumers.get(this.#deps.config.stream, this.#durable);
    const messages = await consumer.consume({ max_messages: this.#maxBatch });
    this.#messages = messages;
    let batch: JsMsg[] = [];
    for await (const message of messages) {
      if (this.#closing || this.#paused) {
        message.nak();
        continue;
      }
      batch.push(message);
      if (batch.length >= this.#maxBatch || messages.getPending() === 0) {
        await this.#inHand.run(() => this.#dispatch(batch, handler));
        batch = [];
      }
    }
    for (const message of batch) message.nak();
  }

  /**
   * Hands a batch to the handler. A batch whose handler fails is kept and run again here after the backoff,
   * its ack deadlines extended meanwhile, rather than nak'ed back: a partition's order is what the engine
   * sees, and JetStream would let later messages overtake the redelivery. Messages the handler settled
   * itself (a term for a poison record, a nak of its own) are applied and leave the batch.
   */
  async #dispatch(messages: JsMsg[], handler: BatchHandler): Promise<void> {
    let batch = messages;
    for (let attempt = 0; batch.length > 0; attempt++) {
      const settlements = await this.#runOnce(batch, handler, attempt);
      const again: JsMsg[] = [];
      for (const [index, settlement] of settlements.entries()) {
        const message = batch[index]!;
        if (settlement.kind === 'nak' && settlement.failed && this.#retrying()) again.push(message);
        // Handed back on pause or close without a delay: JetStream redelivers nak'ed messages first, in order.
        else if (settlement.kind === 'nak' && settlement.failed) message.nak();
        else apply(message, settlement);
      }
      this.#lag = batch.at(-1)?.info.pending ?? this.#lag;
      batch = again;
      const failed = settlements.find((settlement) => settlement.kind === 'nak' && settlement.failed);
      if (batch.length > 0 && failed?.kind === 'nak') await this.#backOff(batch, failed.delayMs);
      if (!this.#retrying()) {
        for (const message of batch) message.nak();
        return;
      }
    }
  }

  async #runOnce(batch: JsMsg[], handler: BatchHandler, attempt: number): Promise<Settlement[]> {
    const deliveries = batch.map(
      (message) =>
        new Delivery(
          {
            stream: this.#options.stream,
            key: message.headers?.get(KEY_HEADER) || undefined,
            value: message.data,
            headers: decodeHeaders(message.headers),
            partition: this.#partition,
            offset: String(message.seq),
            deliveryCount: message.info.deliveryCount + attempt,
            timestamp: Math.floor(message.info.timestampNanos / 1e6),
          },
          () => message.working(),
        ),
    );
    return runBatch({
      batch: {
        partition: this.#partition,
        messages: deliveries,
        heartbeat: async () => {
          for (const message of batch) message.working();
        },
        isActive: () => !this.#closing,
      },
      deliveries,
      handler,
      log: this.#deps.log,
    });
  }

  /** A failed batch is retried in place until the consumer is paused (an owner stopping) or closed. */
  #retrying(): boolean {
    return !this.#closing && !this.#paused;
  }

  /** Waits `delayMs` (cut short by pause or close) while keeping the batch's ack deadlines alive. */
  async #backOff(batch: JsMsg[], delayMs: number): Promise<void> {
    const until = Date.now() + delayMs;
    const step = Math.max(100, Math.floor(this.#deps.config.ackWaitMs / 3));
    while (this.#retrying() && Date.now() < until) {
      for (const message of batch) message.working();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(step, until - Date.now()));
        this.#wakeBackOff = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.#wakeBackOff = undefined;
  }
}

function apply(message: JsMsg, settlement: Settlement): void {
  if (settlement.kind === 'ack') message.ack();
  else if (settlement.kind === 'nak') message.nak(settlement.delayMs);
  else message.term(settlement.reason);
}

function decodeHeaders(headers: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const name of headers.keys()) out[name] = headers.get(name);
  return out;
}
