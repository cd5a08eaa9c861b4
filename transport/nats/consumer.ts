import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerMessages,
  DeliverPolicy,
  JetStreamApiCodes,
  type JetStreamManager,
  type Consumer as JsConsumer,
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
import { ensureStream, isApiError, KEY_HEADER, partitionOf, subjectToken } from './stream.ts';

export interface NatsConsumerDeps {
  connection: NatsConnectionHandle;
  config: NatsConfig;
  names: Readonly<Record<StreamName, string>>;
  log: TransportLogger;
}

const DEFAULT_BATCH = 500;
const RESTART_DELAY_MS = 1_000;
/**
 * The longest a batch collects while messages trickle in (the client's buffer never empties): its first
 * messages get no progress ack before it is handed over, so it goes well within their ack_wait.
 */
const MAX_COLLECT_MS = 100;
const COLLECTED = Symbol('collected');

/** A settled message whose ack (or term) waits for commit(). */
interface Held {
  message: JsMsg;
  settlement: Settlement;
}

/**
 * A JetStream durable pull consumer with explicit acks. Whatever the client has buffered becomes the next
 * batch, so batches are large under load and small (low latency) when idle. The stream is one partition.
 * With deferred commits the acks of settled messages are held, in order, until commit(); every message from
 * its arrival to its ack gets progress acks (`+WPI`) at half of `ack_wait`, so a slow sink (or a slow batch)
 * does not make JetStream redeliver it meanwhile. Held messages count against `max_ack_pending`: at half of it `commitWanted` asks
 * the owner to commit.
 */
export class NatsConsumer implements Consumer {
  readonly defersCommits: boolean;
  readonly #deps: NatsConsumerDeps;
  readonly #options: ConsumerOptions;
  readonly #durable: string;
  readonly #partition: string;
  readonly #maxBatch: number;
  readonly #collectMs: number;
  #messages: ConsumerMessages | undefined;
  #loop: Promise<void> | undefined;
  readonly #inHand = new BatchesInHand();
  #paused = false;
  #closing = false;
  #wake: (() => void) | undefined;
  #lag: number | undefined;
  /** Ends the backoff of a failed batch early, on close. */
  #wakeBackOff: (() => void) | undefined;
  /** With deferred commits: settled messages whose acks wait for commit(), in delivery order. */
  #held: Held[] = [];
  /** With deferred commits: every message received and not yet acked or nak'ed, with its last ack deadline start. */
  readonly #leases = new Map<JsMsg, number>();
  #progressTimer: NodeJS.Timeout | undefined;
  /** Messages a previous member left unacknowledged when this one started (see #awaitRedeliveries). */
  #recovering = false;

  constructor(deps: NatsConsumerDeps, options: ConsumerOptions) {
    this.#deps = deps;
    this.#options = options;
    this.#durable = subjectToken(options.group);
    this.#partition = partitionOf(deps.config, deps.names, options.stream);
    this.#maxBatch = options.maxBatchSize ?? DEFAULT_BATCH;
    this.#collectMs = Math.min(MAX_COLLECT_MS, deps.config.ackWaitMs / 4);
    this.defersCommits = options.deferCommits === true;
  }

  get commitWanted(): boolean {
    return this.#held.length >= this.#deps.config.maxAckPending / 2;
  }

  /** Sends the held acks in order and waits until the server has them (a flush): that is the commit. */
  async commit(): Promise<void> {
    const held = this.#held;
    if (held.length === 0) return;
    this.#held = [];
    for (const { message, settlement } of held) apply(message, settlement);
    try {
      await (await this.#deps.connection.get()).flush();
    } catch (error) {
      // The acks may not have arrived: held again for the next commit (an ack sent twice is harmless), and
      // leased meanwhile, so the messages are not redelivered out of order in the middle of the run.
      this.#held = [...held, ...this.#held];
      throw natsError(error, `acknowledging ${held.length} messages of ${this.#durable}`);
    }
    for (const { message } of held) this.#leases.delete(message);
  }

  async start(handler: BatchHandler): Promise<void> {
    const { config } = this.#deps;
    try {
      const jsm = await jetstreamManager(await this.#deps.connection.get());
      await ensureStream(jsm, config, this.#deps.names);
      await this.#ensureDurable(jsm);
      if (this.defersCommits)
        this.#recovering = (await jsm.consumers.info(config.stream, this.#durable)).num_ack_pending > 0;
    } catch (error) {
      throw natsError(error, `starting JetStream consumer ${this.#durable}`);
    }
    await this.#options.onAssignment?.([this.#partition]);
    if (this.defersCommits) {
      const halfWait = config.ackWaitMs / 2;
      this.#progressTimer = setInterval(() => this.#keepLeases(halfWait), Math.max(50, halfWait / 4));
      this.#progressTimer.unref();
    }
    this.#loop = this.#run(handler);
  }

  pause(): void {
    this.#paused = true;
    this.#wakeBackOff?.();
    // With deferred commits the pull stays and what arrives waits, leased, until resume(): a stopped pull
    // stays at the server until it expires, and nats-server 2.9 hands the nak'ed messages to it (lost for
    // an ack_wait, then redelivered out of order). Else the pull stops and what the client holds is nak'ed back.
    if (!this.defersCommits) this.#messages?.stop();
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
    // Held acks were not committed: they stay pending and come again to the next member.
    clearInterval(this.#progressTimer);
    this.#held = [];
    this.#leases.clear();
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
    if (this.#recovering) await this.#awaitRedeliveries();
    if (!this.#retrying()) return;
    // With deferred commits a pull expires within a quarter of ack_wait: a crashed member's last pull is gone
    // before any of its messages is redelivered (see #keepLeases), or JetStream would send some to it.
    const expires = this.defersCommits ? Math.max(1_000, this.#deps.config.ackWaitMs / 4) : undefined;
    const messages = await consume(consumer, this.#maxBatch, expires);
    this.#messages = messages;
    const iterator = messages[Symbol.asyncIterator]();
    let next = iterator.next();
    let batch: JsMsg[] = [];
    let deadline: Promise<typeof COLLECTED> = Promise.resolve(COLLECTED);
    for (;;) {
      const result = batch.length === 0 ? await next : await Promise.race([next, deadline]);
      if (result !== COLLECTED) {
        next = iterator.next();
        if (result.done) break;
        const message = result.value;
        if (this.#closing || (this.#paused && !this.defersCommits)) {
          message.nak();
          continue;
        }
        if (this.defersCommits) this.#leases.set(message, Date.now());
        if (batch.length === 0) {
          deadline = new Promise((resolve) => setTimeout(() => resolve(COLLECTED), this.#collectMs));
        }
        batch.push(message);
        // The client's count can stay above 0 with nothing buffered (it counts status callbacks): the
        // deadline hands the batch over then.
        if (batch.length < this.#maxBatch && messages.getPending() > 0) continue;
      }
      while (this.defersCommits && this.#paused && !this.#closing) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
      }
      if (this.#closing) break;
      const full = batch;
      batch = [];
      await this.#inHand.run(() => this.#dispatch(full, handler));
    }
    for (const message of batch) {
      message.nak();
      this.#leases.delete(message);
    }
  }

  /**
   * Hands a batch to the handler. A batch whose handler fails is kept and run again here after the backoff,
   * its ack deadlines extended meanwhile, rather than nak'ed back: a partition's order is what the engine
   * sees, and JetStream would let later messages overtake the redelivery. Messages the handler settled
   * itself (a term for a poison record, a nak of its own) are applied and leave the batch. With deferred
   * commits the acks and terms are held for commit() instead.
   */
  async #dispatch(messages: JsMsg[], handler: BatchHandler): Promise<void> {
    let batch = messages;
    for (let attempt = 0; batch.length > 0; attempt++) {
      const settlements = await this.#runOnce(batch, handler, attempt);
      const again: JsMsg[] = [];
      for (const [index, settlement] of settlements.entries()) {
        const message = batch[index]!;
        if (settlement.kind === 'nak' && settlement.failed && this.#retrying()) again.push(message);
        else if (this.defersCommits && settlement.kind !== 'nak') this.#held.push({ message, settlement });
        else {
          // Handed back on pause or close without a delay: JetStream redelivers nak'ed messages first, in order.
          apply(
            message,
            settlement.kind === 'nak' && settlement.failed ? { kind: 'nak', delayMs: 0 } : settlement,
          );
          this.#leases.delete(message);
        }
      }
      this.#lag = batch.at(-1)?.info.pending ?? this.#lag;
      batch = again;
      const failed = settlements.find((settlement) => settlement.kind === 'nak' && settlement.failed);
      if (batch.length > 0 && failed?.kind === 'nak') await this.#backOff(batch, failed.delayMs);
      if (!this.#retrying()) {
        for (const message of batch) {
          message.nak();
          this.#leases.delete(message);
        }
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

  /**
   * Starting after a member left messages unacknowledged (a crash, or messages handed back on a stop):
   * JetStream redelivers them, in stream order, once their ack_wait expires, and would hand over newer ones
   * first. So nothing is fetched until it did: one ack_wait, and a second for the server's timer.
   */
  async #awaitRedeliveries(): Promise<void> {
    this.#recovering = false;
    const waitMs = this.#deps.config.ackWaitMs + RESTART_DELAY_MS;
    this.#deps.log.info(
      { consumer: this.#durable, waitMs },
      'messages of a previous member are unacknowledged; waiting for their redelivery before consuming',
    );
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      this.#wakeBackOff = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wakeBackOff = undefined;
  }

  /**
   * Progress acks once the oldest lease is half gone, for every message at once: their deadlines then rise
   * with the stream sequence, so after a crash JetStream's redelivery (each expiry sweep in sequence order,
   * sweeps in deadline order) keeps stream order.
   */
  #keepLeases(halfWaitMs: number): void {
    const now = Date.now();
    const oldest = this.#leases.values().next().value;
    if (oldest === undefined || now - oldest < halfWaitMs) return;
    for (const message of this.#leases.keys()) {
      message.working();
      this.#leases.set(message, now);
    }
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

function consume(consumer: JsConsumer, max: number, expires: number | undefined): Promise<ConsumerMessages> {
  return consumer.consume(expires === undefined ? { max_messages: max } : { max_messages: max, expires });
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
