import type { CheckpointStore } from './checkpoints.ts';

/** The logical streams of the pipeline; each adapter maps them to topics or subjects (see config `names`). */
export const STREAMS = ['events', 'violations', 'audit', 'alerts', 'dlq', 'state', 'repartition'] as const;
export type StreamName = (typeof STREAMS)[number];

export const TRANSPORT_KINDS = ['kafka', 'nats', 'memory'] as const;
export type TransportKind = (typeof TRANSPORT_KINDS)[number];

/** One record to publish. The value is opaque bytes; the transport never looks inside. */
export interface OutboundRecord {
  stream: StreamName;
  /** Partition key: records with one key keep their order (Kafka message key), e.g. the agentId. */
  key: string;
  /** Last NATS subject token (`agent.events.<token>`), sanitized by the adapter; usually the agent id. */
  token: string;
  /** Deduplication id (eventId, alertId): JetStream drops a repeat within its duplicate window. */
  id?: string;
  value: Uint8Array;
  headers?: Readonly<Record<string, string>>;
  /** Kafka record timestamp (epoch ms) to keep, e.g. a re-keyed record's original; the send time when unset. */
  timestamp?: number;
}

export interface Producer {
  /** Connects and creates missing topics/streams. publish() connects on demand too. */
  connect(): Promise<void>;
  /**
   * Resolves only once the broker acknowledged every record (Kafka acks=all; a JetStream PubAck each).
   * Rejects with a retriable EdrError EDR_ERR_BROKER_UNAVAILABLE or EDR_ERR_BROKER_TIMEOUT; after a
   * rejection some records may be stored anyway, so callers resend all of them (at least once).
   */
  publish(records: readonly OutboundRecord[]): Promise<void>;
  /** True when the broker answers right now. */
  ready(): Promise<boolean>;
  /** Waits for publishes in flight, then disconnects. */
  close(): Promise<void>;
}

/** A delivered record. Settle it once; a later call is ignored. Unsettled messages are settled by the consumer. */
export interface Message {
  readonly stream: StreamName;
  readonly key: string | undefined;
  readonly value: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  /** `topic/partition` on Kafka, `STREAM/subject-prefix` on NATS, `memory/<name>` in memory. */
  readonly partition: string;
  /** Kafka offset or JetStream stream sequence, as a decimal string. */
  readonly offset: string;
  /** 1 on first delivery; counts redeliveries where the broker tracks them (NATS, memory). */
  readonly deliveryCount: number;
  /** Broker timestamp, epoch milliseconds. */
  readonly timestamp: number;
  /** Done: its position may be committed. */
  ack(): void;
  /** Redeliver after `delayMs`. On Kafka this rewinds the partition, so later messages come again too. */
  nak(delayMs?: number): void;
  /** Never redeliver (a poison record, already sent to the DLQ). Commits like ack. */
  term(reason?: string): void;
  /** Still working on it: extends the NATS ack deadline; a no-op elsewhere. */
  working(): void;
}

export interface Batch {
  readonly partition: string;
  readonly messages: readonly Message[];
  /** Keeps group membership (Kafka) and ack deadlines (NATS) alive during long work. */
  heartbeat(): Promise<void>;
  /** False once the consumer is closing or the partition was taken away: stop early, leave the rest unsettled. */
  isActive(): boolean;
}

/**
 * Handles one batch. On success every message left unsettled is acked; if it throws they are nak'ed and come
 * again. Positions are committed only after the handler returned, up to the first message not acked.
 */
export type BatchHandler = (batch: Batch) => Promise<void>;

export interface ConsumerOptions {
  stream: StreamName;
  /** Kafka consumer group id; JetStream durable consumer name. */
  group: string;
  /** Upper bound of messages per batch (NATS and memory; Kafka batches follow its fetch sizes). */
  maxBatchSize?: number;
  /** Where a new group starts: the oldest retained record (default) or only new ones. */
  fromBeginning?: boolean;
  /**
   * Positions advance after each batch (fetching goes on) but are committed only by commit(), so a caller
   * can commit together with state it saved elsewhere: Kafka commits offsets then, NATS sends the acks then,
   * in order. Memory ignores it and commits after each batch; `Consumer.defersCommits` tells which happened.
   */
  deferCommits?: boolean;
  /** Called with this member's partitions whenever the assignment changes (restore state here). */
  onAssignment?: (partitions: readonly string[]) => void | Promise<void>;
}

export interface PartitionLag {
  partition: string;
  /** Records behind the end of the partition after the last handled batch. */
  lag: number;
}

export interface Consumer {
  /** Joins the group and starts delivering batches; resolves once consuming. */
  start(handler: BatchHandler): Promise<void>;
  /** Stops fetching from the given partitions (all when omitted) until resume(); for backpressure. */
  pause(partitions?: readonly string[]): void;
  resume(partitions?: readonly string[]): void;
  /** True when positions wait for commit() (ConsumerOptions.deferCommits on a transport that supports it). */
  readonly defersCommits: boolean;
  /** Commits every position settled so far; a no-op when commits happen after each batch. */
  commit(): Promise<void>;
  /**
   * True when so many settled positions wait for commit() that the broker will soon stop delivering (NATS:
   * half of `max_ack_pending` held unacknowledged): the owner should commit soon. False on Kafka and memory.
   */
  readonly commitWanted: boolean;
  /**
   * Resolves once every batch handed to the handler so far is settled: its positions recorded for commit() or
   * its acks sent. A batch settles a little after its handler returns, so an owner that commits on stopping
   * waits for this first, or the batch in hand would be delivered again.
   */
  settled(): Promise<void>;
  /** Last known lag per assigned partition. */
  lag(): readonly PartitionLag[];
  /**
   * Stops fetching, waits for the batch in hand and leaves the group. Positions are committed as the transport
   * does after each batch; with deferred commits only commit() commits, so an owner calls settled() and
   * commit() first.
   */
  close(): Promise<void>;
}

export interface Transport {
  readonly kind: TransportKind;
  /**
   * Records are spread over partitions by key and each partition is consumed on its own (Kafka): a record
   * reaches the engine of its agent (and session) only if its key is the agentId. False where one consumer
   * reads the whole stream in order (a JetStream durable, memory).
   */
  readonly partitionedByKey: boolean;
  /** Broker-side name per logical stream: Kafka topic, or NATS subject prefix. */
  readonly names: Readonly<Record<StreamName, string>>;
  createProducer(): Producer;
  createConsumer(options: ConsumerOptions): Consumer;
  /** Durable storage for processor state: the compacted `state` topic, a JetStream KV bucket, or memory. */
  createCheckpointStore(): CheckpointStore;
  /** Closes every producer and consumer it created, then the connection. */
  close(): Promise<void>;
}

/** The subset of a pino logger the adapters use; the caller passes its own. */
export interface TransportLogger {
  error(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  debug(fields: Record<string, unknown>, message: string): void;
}
