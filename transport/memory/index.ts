import { EdrError } from '../../core/errors.ts';
import { MemoryCheckpointStore } from '../checkpoints.ts';
import type { TransportConfig } from '../config.ts';
import { BatchesInHand, Delivery, runBatch, type Settlement } from '../delivery.ts';
import type {
  BatchHandler,
  Consumer,
  ConsumerOptions,
  OutboundRecord,
  PartitionLag,
  Producer,
  StreamName,
  Transport,
  TransportLogger,
} from '../types.ts';
import { type Claim, MemoryLog } from './log.ts';

const DEFAULT_BATCH = 500;

/**
 * In-process transport for the single-process mode and unit tests. Publishing is "acknowledged" once the
 * record is in this process's memory: nothing survives a restart. Ack semantics match the brokers'.
 */
export function createMemoryTransport(config: TransportConfig, log: TransportLogger): Transport {
  const logs = new Map<StreamName, MemoryLog>();
  const logOf = (stream: StreamName): MemoryLog => {
    let found = logs.get(stream);
    if (!found) {
      found = new MemoryLog(config.memory.maxBacklog);
      logs.set(stream, found);
    }
    return found;
  };
  const consumers: MemoryConsumer[] = [];
  return {
    kind: 'memory',
    partitionedByKey: false,
    names: config.names,
    createProducer: () => new MemoryProducer(logOf),
    createCheckpointStore: () => new MemoryCheckpointStore(),
    createConsumer(options: ConsumerOptions): Consumer {
      const consumer = new MemoryConsumer(logOf(options.stream), options, config.names[options.stream], log);
      consumers.push(consumer);
      return consumer;
    },
    async close(): Promise<void> {
      await Promise.all(consumers.map((consumer) => consumer.close()));
    },
  };
}

class MemoryProducer implements Producer {
  readonly #logOf: (stream: StreamName) => MemoryLog;
  #closed = false;

  constructor(logOf: (stream: StreamName) => MemoryLog) {
    this.#logOf = logOf;
  }

  async connect(): Promise<void> {}

  async publish(records: readonly OutboundRecord[]): Promise<void> {
    if (this.#closed) throw new EdrError('EDR_ERR_BROKER_UNAVAILABLE', 'producer closed');
    const timestamp = Date.now();
    const byStream = new Map<StreamName, OutboundRecord[]>();
    for (const record of records) {
      const batch = byStream.get(record.stream);
      if (batch) batch.push(record);
      else byStream.set(record.stream, [record]);
    }
    for (const [stream, batch] of byStream) {
      this.#logOf(stream).append(
        batch.map(({ key, value, headers }) => ({ key, value, headers: headers ?? {}, timestamp })),
      );
    }
  }

  async ready(): Promise<boolean> {
    return !this.#closed;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}

class MemoryConsumer implements Consumer {
  /** Nothing here outlives the process, so there is nothing to commit later. */
  readonly defersCommits = false;
  readonly commitWanted = false;

  async commit(): Promise<void> {}

  settled(): Promise<void> {
    return this.#inHand.settled();
  }

  readonly #log: MemoryLog;
  readonly #inHand = new BatchesInHand();
  readonly #options: ConsumerOptions;
  readonly #partition: string;
  readonly #logger: TransportLogger;
  #loop: Promise<void> | undefined;
  #paused = false;
  #closing = false;
  #wake = (): void => {};

  constructor(log: MemoryLog, options: ConsumerOptions, name: string, logger: TransportLogger) {
    this.#log = log;
    this.#options = options;
    this.#partition = `memory/${name}`;
    this.#logger = logger;
  }

  async start(handler: BatchHandler): Promise<void> {
    this.#log.join(this.#options.group, this.#options.fromBeginning ?? true);
    await this.#options.onAssignment?.([this.#partition]);
    this.#loop = this.#run(handler);
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#wake();
  }

  lag(): readonly PartitionLag[] {
    return this.#loop ? [{ partition: this.#partition, lag: this.#log.backlog(this.#options.group) }] : [];
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#wake();
    await this.#loop;
  }

  /** Sleeps until `ms` passed, the log changed (when `untilChange`), or resume/close woke it. */
  #idle(ms: number | undefined, untilChange: boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
      if (untilChange) void this.#log.changed().then(this.#wake);
    });
  }

  async #run(handler: BatchHandler): Promise<void> {
    const group = this.#options.group;
    while (!this.#closing) {
      const claimed = this.#paused
        ? undefined
        : this.#log.claim(group, this.#options.maxBatchSize ?? DEFAULT_BATCH);
      if (!claimed) {
        await this.#idle(undefined, !this.#paused);
        continue;
      }
      const nak = await this.#inHand.run(() => this.#settle(claimed, handler));
      if (nak?.kind === 'nak' && nak.delayMs > 0) await this.#idle(nak.delayMs, false);
    }
  }

  /** Hands a claimed batch to the handler and releases what it settled; returns the nak that stopped it, if any. */
  async #settle(claimed: Claim, handler: BatchHandler): Promise<Settlement | undefined> {
    const group = this.#options.group;
    const deliveries = claimed.records.map(
      (record, index) =>
        new Delivery({
          stream: this.#options.stream,
          key: record.key,
          value: record.value,
          headers: record.headers,
          partition: this.#partition,
          offset: String(record.offset),
          deliveryCount: claimed.deliveryCounts[index]!,
          timestamp: record.timestamp,
        }),
    );
    const settlements = await runBatch({
      batch: {
        partition: this.#partition,
        messages: deliveries,
        heartbeat: async () => {},
        isActive: () => !this.#closing,
      },
      deliveries,
      handler,
      log: this.#logger,
    });
    const firstNak = settlements.findIndex((settlement) => settlement.kind === 'nak');
    const done = firstNak === -1 ? claimed.records.length : firstNak;
    const next = claimed.records[done - 1]?.offset;
    this.#log.release(group, next === undefined ? claimed.records[0]!.offset : next + 1);
    return settlements[firstNak];
  }
}
