import type {
  Admin,
  EachBatchPayload,
  IHeaders,
  Kafka,
  Consumer as KafkaJsConsumer,
  TopicPartitions,
} from 'kafkajs';
import type { KafkaConfig } from '../config.ts';
import { BatchesInHand, Delivery, runBatch } from '../delivery.ts';
import type {
  BatchHandler,
  Consumer,
  ConsumerOptions,
  PartitionLag,
  StreamName,
  TransportLogger,
} from '../types.ts';
import { kafkaError } from './client.ts';
import { ensureTopics } from './topics.ts';

export interface KafkaConsumerDeps {
  kafka: Kafka;
  admin: () => Promise<Admin>;
  names: Readonly<Record<StreamName, string>>;
  config: KafkaConfig;
  log: TransportLogger;
}

const EMPTY = new Uint8Array(0);

/** A consumer-group member on one topic: eachBatch with manual offset resolution, commit after the handler. */
export class KafkaConsumer implements Consumer {
  readonly #deps: KafkaConsumerDeps;
  readonly #options: ConsumerOptions;
  readonly #topic: string;
  readonly #consumer: KafkaJsConsumer;
  readonly #lag = new Map<string, number>();
  readonly #paused = new Set<string>();
  readonly #nakTimers = new Set<NodeJS.Timeout>();
  /** With deferred commits: the last settled offset per partition not yet committed. */
  readonly #uncommitted = new Map<number, string>();
  readonly #inHand = new BatchesInHand();
  readonly defersCommits: boolean;
  /** Uncommitted offsets hold back no fetch on Kafka. */
  readonly commitWanted = false;
  #pausedAll = false;
  #running = false;

  constructor(deps: KafkaConsumerDeps, options: ConsumerOptions) {
    this.#deps = deps;
    this.#options = options;
    this.#topic = deps.names[options.stream];
    this.defersCommits = options.deferCommits === true;
    this.#consumer = deps.kafka.consumer({
      groupId: options.group,
      sessionTimeout: deps.config.sessionTimeoutMs,
      heartbeatInterval: deps.config.heartbeatIntervalMs,
      allowAutoTopicCreation: false,
      // disconnect() waits for the fetch in flight; with kafkajs' 5 s default long-poll an idle consumer
      // took that long to leave the group on shutdown. Busy fetches return as soon as records exist anyway.
      maxWaitTimeInMs: 1_000,
    });
    this.#consumer.on(this.#consumer.events.GROUP_JOIN, ({ payload }) => {
      const assigned = payload.memberAssignment[this.#topic] ?? [];
      // Settled positions of partitions now owned by another member are theirs to commit.
      for (const partition of this.#uncommitted.keys())
        if (!assigned.includes(partition)) this.#uncommitted.delete(partition);
      const partitions = assigned.map((p) => `${this.#topic}/${p}`);
      for (const known of this.#lag.keys()) if (!partitions.includes(known)) this.#lag.delete(known);
      void Promise.resolve(this.#options.onAssignment?.(partitions)).catch((error: unknown) =>
        deps.log.error({ err: error, group: options.group }, 'assignment callback failed'),
      );
    });
    this.#consumer.on(this.#consumer.events.CRASH, ({ payload }) => {
      deps.log.error(
        { err: payload.error, group: options.group, restart: payload.restart },
        'Kafka consumer crashed',
      );
    });
  }

  async start(handler: BatchHandler): Promise<void> {
    const { config, admin, names } = this.#deps;
    try {
      if (config.createTopics) await ensureTopics(await admin(), names, config);
      await this.#consumer.connect();
      await this.#consumer.subscribe({
        topics: [this.#topic],
        fromBeginning: this.#options.fromBeginning ?? true,
      });
      await this.#consumer.run({
        autoCommit: !this.defersCommits,
        eachBatchAutoResolve: false,
        eachBatch: (payload) => this.#inHand.run(() => this.#onBatch(payload, handler)),
      });
    } catch (error) {
      throw kafkaError(error, `starting Kafka consumer ${this.#options.group}`);
    }
    this.#running = true;
    if (this.#pausedAll) this.#consumer.pause([{ topic: this.#topic }]);
    else if (this.#paused.size > 0) this.#consumer.pause(toTopicPartitions(this.#paused));
  }

  pause(partitions?: readonly string[]): void {
    if (partitions) for (const partition of partitions) this.#paused.add(partition);
    else this.#pausedAll = true;
    if (!this.#running) return;
    this.#consumer.pause(partitions ? toTopicPartitions(partitions) : [{ topic: this.#topic }]);
  }

  resume(partitions?: readonly string[]): void {
    if (partitions) for (const partition of partitions) this.#paused.delete(partition);
    else {
      this.#pausedAll = false;
      this.#paused.clear();
    }
    if (!this.#running) return;
    this.#consumer.resume(partitions ? toTopicPartitions(partitions) : [{ topic: this.#topic }]);
  }

  async commit(): Promise<void> {
    const pending = [...this.#uncommitted];
    if (pending.length === 0) return;
    try {
      // Kafka commits the next offset to read.
      await this.#consumer.commitOffsets(
        pending.map(([partition, offset]) => ({
          topic: this.#topic,
          partition,
          offset: (BigInt(offset) + 1n).toString(),
        })),
      );
    } catch (error) {
      throw kafkaError(error, `committing offsets of ${this.#options.group}`);
    }
    // A batch settled while the commit was in flight stays for the next one.
    for (const [partition, offset] of pending) {
      if (this.#uncommitted.get(partition) === offset) this.#uncommitted.delete(partition);
    }
  }

  settled(): Promise<void> {
    return this.#inHand.settled();
  }

  lag(): readonly PartitionLag[] {
    return [...this.#lag].map(([partition, lag]) => ({ partition, lag }));
  }

  async close(): Promise<void> {
    for (const timer of this.#nakTimers) clearTimeout(timer);
    this.#nakTimers.clear();
    this.#running = false;
    // disconnect() waits for the batch in hand and leaves the group; it commits resolved offsets only when
    // kafkajs auto-commits, that is when commits are not deferred.
    await this.#consumer.disconnect();
  }

  async #onBatch(payload: EachBatchPayload, handler: BatchHandler): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    if (batch.messages.length === 0) return;
    const partition = `${batch.topic}/${batch.partition}`;
    const deliveries = batch.messages.map(
      (message) =>
        new Delivery({
          stream: this.#options.stream,
          key: message.key?.toString(),
          value: message.value ?? EMPTY,
          headers: decodeHeaders(message.headers),
          partition,
          offset: message.offset,
          deliveryCount: 1,
          timestamp: Number(message.timestamp),
        }),
    );
    const settlements = await runBatch({
      batch: { partition, messages: deliveries, heartbeat, isActive: () => isRunning() && !isStale() },
      deliveries,
      handler,
      log: this.#deps.log,
    });
    let resolved: string | undefined;
    for (const [index, settlement] of settlements.entries()) {
      // The partition moved to another member: it resumes from the last commit.
      if (isStale()) return;
      const { offset } = deliveries[index]!;
      if (settlement.kind === 'nak') {
        this.#rewind(batch.partition, offset, settlement.delayMs);
        break;
      }
      resolveOffset(offset);
      resolved = offset;
    }
    if (this.defersCommits) {
      if (resolved !== undefined) this.#uncommitted.set(batch.partition, resolved);
    } else {
      await commitOffsetsIfNecessary();
    }
    if (resolved !== undefined)
      this.#lag.set(partition, Math.max(0, Number(batch.highWatermark) - Number(resolved) - 1));
  }

  /** Kafka has no per-message redelivery: seek back so the partition resumes at the nak'ed offset. */
  #rewind(partition: number, offset: string, delayMs: number): void {
    this.#consumer.seek({ topic: this.#topic, partition, offset });
    if (delayMs <= 0) return;
    const id = `${this.#topic}/${partition}`;
    this.#consumer.pause([{ topic: this.#topic, partitions: [partition] }]);
    const timer = setTimeout(() => {
      this.#nakTimers.delete(timer);
      if (this.#running && !this.#pausedAll && !this.#paused.has(id)) {
        this.#consumer.resume([{ topic: this.#topic, partitions: [partition] }]);
      }
    }, delayMs);
    this.#nakTimers.add(timer);
  }
}

function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const last = Array.isArray(value) ? value.at(-1) : value;
    if (last !== undefined) out[name] = last.toString();
  }
  return out;
}

/** `topic/3` ids back to kafkajs' shape. */
function toTopicPartitions(ids: Iterable<string>): TopicPartitions[] {
  const byTopic = new Map<string, number[]>();
  for (const id of ids) {
    const slash = id.lastIndexOf('/');
    const topic = id.slice(0, slash);
    const list = byTopic.get(topic) ?? [];
    list.push(Number(id.slice(slash + 1)));
    byTopic.set(topic, list);
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}
