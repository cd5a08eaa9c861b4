import {
  type MessagesStream,
  Consumer as PlatformaticConsumer,
  type Message as PlatformaticMessage,
  stringDeserializer,
} from '@platformatic/kafka';
import type { Admin } from 'kafkajs';
import type { KafkaConfig } from '../../config.ts';
import { BatchesInHand, Delivery, runBatch } from '../../delivery.ts';
import type {
  BatchHandler,
  Consumer,
  ConsumerOptions,
  PartitionLag,
  StreamName,
  TransportLogger,
} from '../../types.ts';
import { splitPartitionId } from '../records.ts';
import { ensureTopics } from '../topics.ts';
import { baseOptions, platformaticError } from './client.ts';

type Received = PlatformaticMessage<string, Buffer, string, string>;

export interface PlatformaticConsumerDeps {
  admin: () => Promise<Admin>;
  names: Readonly<Record<StreamName, string>>;
  config: KafkaConfig;
  log: TransportLogger;
}

/** Records fetched ahead of the handler, over all partitions, before the stream stops fetching. */
const BUFFERED_HIGH = 20_000;
const BUFFERED_LOW = 5_000;
/** Records per handed-over batch when a partition has more buffered. */
const MAX_BATCH = 5_000;
/** How often the broker's end offsets are read for lag(). */
const LAG_INTERVAL_MS = 2_000;

/** What this member knows about one partition it owns. */
interface PartitionState {
  buffered: Received[];
  /** Paused by the owner, or waiting out a nak delay: arrivals are dropped and fetched again on resume. */
  held: boolean;
  /** Where to fetch from again when released: the first record not handed over. */
  resumeAt: bigint | undefined;
  /** Seeking: drop arrivals until this offset arrives (a fetch in flight may still bring later ones). */
  seekTo: bigint | undefined;
  /** Offset of the last record taken from the stream, to notice the stream starting over (rebalance). */
  lastArrived: bigint | undefined;
  /** Offset of the last record handed over and settled, for lag. */
  settled: bigint | undefined;
  leaderEpoch: number;
}

/**
 * A consumer-group member on @platformatic/kafka. The library delivers a stream of records; this class
 * groups them into per-partition batches for the handler, one batch at a time as kafkajs' eachBatch does,
 * and adds what the stream lacks: per-partition pause and seeking back after a nak, by moving the stream's
 * fetch position and dropping records fetched from before the move.
 */
export class KafkaPlatformaticConsumer implements Consumer {
  readonly #deps: PlatformaticConsumerDeps;
  readonly #options: ConsumerOptions;
  readonly #topic: string;
  readonly #consumer: PlatformaticConsumer<string, Buffer, string, string>;
  readonly #partitions = new Map<number, PartitionState>();
  readonly #lag = new Map<number, number>();
  /** With deferred commits: the last settled offset (and its leader epoch) per partition not yet committed. */
  readonly #uncommitted = new Map<number, { offset: bigint; leaderEpoch: number }>();
  readonly #inHand = new BatchesInHand();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly defersCommits: boolean;
  /** Uncommitted offsets hold back no fetch on Kafka. */
  readonly commitWanted = false;
  #stream: MessagesStream<string, Buffer, string, string> | undefined;
  #handler: BatchHandler | undefined;
  #bufferedCount = 0;
  #pausedAll = false;
  #draining = false;
  #closing = false;
  #lagTimer: NodeJS.Timeout | undefined;
  #nextPartition = 0;

  constructor(deps: PlatformaticConsumerDeps, options: ConsumerOptions) {
    this.#deps = deps;
    this.#options = options;
    this.#topic = deps.names[options.stream];
    this.defersCommits = options.deferCommits === true;
    this.#consumer = new PlatformaticConsumer({
      ...baseOptions(deps.config),
      groupId: options.group,
      sessionTimeout: deps.config.sessionTimeoutMs,
      heartbeatInterval: deps.config.heartbeatIntervalMs,
      autocreateTopics: false,
      autocommit: false,
      // As with kafkajs: an idle fetch returns within a second, so closing does not wait long for it.
      maxWaitTime: 1_000,
      deserializers: {
        key: stringDeserializer,
        headerKey: stringDeserializer,
        headerValue: stringDeserializer,
      },
    });
    this.#consumer.on('consumer:group:join', ({ assignments }) => {
      const assigned = assignments?.find((entry) => entry.topic === this.#topic)?.partitions ?? [];
      this.#onAssignment(assigned);
    });
  }

  async start(handler: BatchHandler): Promise<void> {
    const { config, admin, names } = this.#deps;
    this.#handler = handler;
    try {
      if (config.createTopics) await ensureTopics(await admin(), names, config);
      const stream = await this.#consumer.consume({
        topics: [this.#topic],
        mode: 'committed',
        fallbackMode: (this.#options.fromBeginning ?? true) ? 'earliest' : 'latest',
        autocommit: false,
      });
      this.#stream = stream;
      stream.on('data', (message: Received) => this.#arrived(message));
      stream.on('offsets', () => this.#followRecoveredOffsets());
      stream.on('error', (error: Error) => {
        if (!this.#closing)
          this.#deps.log.error({ err: error, group: this.#options.group }, 'Kafka consumer stream failed');
      });
      if (this.#pausedAll) stream.pause();
    } catch (error) {
      throw platformaticError(error, `starting Kafka consumer ${this.#options.group}`);
    }
    this.#lagTimer = setInterval(() => void this.#refreshLag(), LAG_INTERVAL_MS);
  }

  pause(partitions?: readonly string[]): void {
    if (!partitions) {
      this.#pausedAll = true;
      this.#stream?.pause();
      return;
    }
    for (const id of this.#own(partitions)) this.#hold(this.#state(id));
  }

  resume(partitions?: readonly string[]): void {
    if (!partitions) {
      this.#pausedAll = false;
      for (const [partition, state] of this.#partitions) if (state.held) this.#release(partition, state);
      this.#flow();
      return;
    }
    for (const id of this.#own(partitions)) this.#release(id, this.#state(id));
    this.#flow();
  }

  async commit(): Promise<void> {
    const pending = [...this.#uncommitted];
    if (pending.length === 0) return;
    await this.#commitOffsets(pending.map(([partition, at]) => ({ partition, ...at })));
    // A batch settled while the commit was in flight stays for the next one.
    for (const [partition, at] of pending) {
      if (this.#uncommitted.get(partition) === at) this.#uncommitted.delete(partition);
    }
  }

  settled(): Promise<void> {
    return this.#inHand.settled();
  }

  lag(): readonly PartitionLag[] {
    return [...this.#lag].map(([partition, lag]) => ({ partition: `${this.#topic}/${partition}`, lag }));
  }

  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#lagTimer);
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await this.#inHand.settled();
    // Closing the stream does not commit (autocommit is off); the consumer then leaves the group.
    await this.#stream?.close().catch(() => undefined);
    await this.#consumer.close(true);
  }

  #state(partition: number): PartitionState {
    let state = this.#partitions.get(partition);
    if (!state) {
      state = {
        buffered: [],
        held: false,
        resumeAt: undefined,
        seekTo: undefined,
        lastArrived: undefined,
        settled: undefined,
        leaderEpoch: -1,
      };
      this.#partitions.set(partition, state);
    }
    return state;
  }

  /** Partition numbers of the given `topic/N` ids that belong to this consumer's topic. */
  #own(ids: readonly string[]): number[] {
    return ids
      .map(splitPartitionId)
      .filter(({ topic }) => topic === this.#topic)
      .map(({ partition }) => partition);
  }

  #onAssignment(assigned: readonly number[]): void {
    // The stream starts every owned partition over from its committed offset: what was buffered or being
    // sought is moot. Positions settled for partitions now owned elsewhere are theirs to commit.
    for (const [partition, state] of this.#partitions) {
      this.#bufferedCount -= state.buffered.length;
      if (!assigned.includes(partition)) {
        this.#partitions.delete(partition);
        this.#uncommitted.delete(partition);
        this.#lag.delete(partition);
        continue;
      }
      state.buffered = [];
      state.seekTo = undefined;
      state.resumeAt = undefined;
      state.lastArrived = undefined;
    }
    this.#flow();
    const ids = assigned.map((partition) => `${this.#topic}/${partition}`);
    void Promise.resolve(this.#options.onAssignment?.(ids)).catch((error: unknown) =>
      this.#deps.log.error({ err: error, group: this.#options.group }, 'assignment callback failed'),
    );
  }

  #arrived(message: Received): void {
    if (this.#closing) return;
    const state = this.#state(message.partition);
    const { offset } = message;
    if (state.held) {
      state.resumeAt ??= offset;
      return;
    }
    if (state.seekTo !== undefined) {
      if (offset !== state.seekTo) {
        // Fetched before the seek; the fetch that brought it moved the position on again.
        this.#stream?.offsetsToFetch.set(`${this.#topic}:${message.partition}`, state.seekTo);
        return;
      }
      state.seekTo = undefined;
    }
    if (state.lastArrived !== undefined && offset <= state.lastArrived) {
      // The stream went back (it refreshed positions): what is buffered from there on comes again.
      const kept = state.buffered.filter((earlier) => earlier.offset < offset);
      this.#bufferedCount -= state.buffered.length - kept.length;
      state.buffered = kept;
    }
    state.lastArrived = offset;
    state.leaderEpoch = message.leaderEpoch;
    state.buffered.push(message);
    this.#bufferedCount++;
    if (this.#bufferedCount >= BUFFERED_HIGH) this.#stream?.pause();
    this.#scheduleDrain();
  }

  /** After the stream recovered from an out-of-range position, seeks follow the position it chose. */
  #followRecoveredOffsets(): void {
    for (const [partition, state] of this.#partitions) {
      if (state.seekTo === undefined) continue;
      state.seekTo = this.#stream?.offsetsToFetch.get(`${this.#topic}:${partition}`) ?? state.seekTo;
    }
  }

  /** Stops handing over a partition's records; the first one not handed over is fetched again on release. */
  #hold(state: PartitionState): void {
    if (state.held) return;
    state.held = true;
    state.resumeAt = state.seekTo ?? state.buffered[0]?.offset;
    this.#bufferedCount -= state.buffered.length;
    state.buffered = [];
    state.seekTo = undefined;
  }

  #release(partition: number, state: PartitionState): void {
    if (!state.held) return;
    state.held = false;
    if (state.resumeAt !== undefined) this.#seek(partition, state, state.resumeAt);
    state.resumeAt = undefined;
  }

  #seek(partition: number, state: PartitionState, offset: bigint): void {
    this.#bufferedCount -= state.buffered.length;
    state.buffered = [];
    state.seekTo = offset;
    state.lastArrived = undefined;
    this.#stream?.offsetsToFetch.set(`${this.#topic}:${partition}`, offset);
  }

  /** Lets the stream fetch again once the buffer has room and the owner has not paused everything. */
  #flow(): void {
    if (!this.#pausedAll && this.#bufferedCount <= BUFFERED_LOW && this.#stream?.isPaused()) {
      this.#stream.resume();
    }
  }

  #scheduleDrain(): void {
    if (this.#draining) return;
    this.#draining = true;
    setImmediate(() => void this.#drain());
  }

  /** Hands over one partition's batch at a time, taking partitions in turn. */
  async #drain(): Promise<void> {
    try {
      for (;;) {
        if (this.#closing || this.#pausedAll || !this.#handler) return;
        const next = this.#takeBatch();
        if (!next) return;
        await this.#inHand
          .run(() => this.#handle(next.partition, next.messages))
          .catch((error: unknown) =>
            // Its positions stay uncommitted: the next commit, or the next owner, covers them.
            this.#deps.log.error({ err: error, group: this.#options.group }, 'settling a Kafka batch failed'),
          );
        this.#flow();
      }
    } finally {
      this.#draining = false;
      if (!this.#closing && !this.#pausedAll && this.#bufferedCount > 0) this.#scheduleDrain();
    }
  }

  #takeBatch(): { partition: number; messages: Received[] } | undefined {
    const candidates = [...this.#partitions].filter(([, state]) => !state.held && state.buffered.length > 0);
    if (candidates.length === 0) return undefined;
    const [partition, state] = candidates[this.#nextPartition++ % candidates.length]!;
    const messages = state.buffered.splice(0, MAX_BATCH);
    this.#bufferedCount -= messages.length;
    return { partition, messages };
  }

  async #handle(partition: number, messages: Received[]): Promise<void> {
    const id = `${this.#topic}/${partition}`;
    const generation = this.#consumer.generationId;
    const stillOwned = () =>
      !this.#closing && this.#consumer.generationId === generation && this.#partitions.has(partition);
    const deliveries = messages.map(
      (message) =>
        new Delivery({
          stream: this.#options.stream,
          key: message.key,
          value: message.value ?? EMPTY,
          headers: Object.fromEntries(message.headers),
          partition: id,
          offset: message.offset.toString(),
          deliveryCount: 1,
          timestamp: Number(message.timestamp),
        }),
    );
    const settlements = await runBatch({
      batch: { partition: id, messages: deliveries, heartbeat: async () => {}, isActive: stillOwned },
      deliveries,
      handler: this.#handler!,
      log: this.#deps.log,
    });
    // The partition moved to another member meanwhile: it resumes from the last commit.
    if (!stillOwned()) return;
    const state = this.#state(partition);
    let resolved: bigint | undefined;
    for (const [index, settlement] of settlements.entries()) {
      const { offset } = messages[index]!;
      if (settlement.kind === 'nak') {
        this.#rewind(partition, state, offset, settlement.delayMs);
        break;
      }
      resolved = offset;
    }
    if (resolved === undefined) return;
    state.settled = resolved;
    if (this.defersCommits) {
      this.#uncommitted.set(partition, { offset: resolved, leaderEpoch: state.leaderEpoch });
    } else {
      await this.#commitOffsets([{ partition, offset: resolved, leaderEpoch: state.leaderEpoch }]);
    }
  }

  /** Kafka has no per-message redelivery: the partition resumes at the nak'ed offset, after the delay. */
  #rewind(partition: number, state: PartitionState, offset: bigint, delayMs: number): void {
    this.#seek(partition, state, offset);
    if (delayMs <= 0) return;
    this.#hold(state);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#closing && this.#partitions.get(partition) === state) this.#release(partition, state);
    }, delayMs);
    this.#timers.add(timer);
  }

  async #commitOffsets(
    positions: readonly { partition: number; offset: bigint; leaderEpoch: number }[],
  ): Promise<void> {
    try {
      // Kafka commits the next offset to read.
      await this.#consumer.commit({
        offsets: positions.map(({ partition, offset, leaderEpoch }) => ({
          topic: this.#topic,
          partition,
          offset: offset + 1n,
          leaderEpoch,
        })),
      });
    } catch (error) {
      throw platformaticError(error, `committing offsets of ${this.#options.group}`);
    }
  }

  async #refreshLag(): Promise<void> {
    const owned = [...this.#partitions].filter(([, state]) => state.settled !== undefined);
    if (owned.length === 0 || this.#closing) return;
    try {
      const ends = (await this.#consumer.listOffsets({ topics: [this.#topic] })).get(this.#topic) ?? [];
      for (const [partition, state] of owned) {
        const end = ends[partition];
        if (end !== undefined && state.settled !== undefined)
          this.#lag.set(partition, Math.max(0, Number(end - state.settled - 1n)));
      }
    } catch (error) {
      this.#deps.log.debug({ err: error, group: this.#options.group }, 'reading end offsets for lag failed');
    }
  }
}

const EMPTY = Buffer.alloc(0);
