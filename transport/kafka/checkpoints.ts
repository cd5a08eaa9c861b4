import { randomUUID } from 'node:crypto';
import type {
  Admin,
  IHeaders,
  Kafka,
  Consumer as KafkaJsConsumer,
  Message as KafkaJsMessage,
  Producer as KafkaJsProducer,
  KafkaMessage,
} from 'kafkajs';
import kafkajs from 'kafkajs';
import type { EdrError } from '../../core/errors.ts';
import {
  type CheckpointStore,
  joinParts,
  missingParts,
  needsParts,
  readManifest,
  splitParts,
} from '../checkpoints.ts';
import type { KafkaConfig } from '../config.ts';
import { withTimeout } from '../errors.ts';
import type { StreamName, TransportLogger } from '../types.ts';
import { kafkaError } from './client.ts';
import { ensureTopics } from './topics.ts';

export interface KafkaCheckpointOptions {
  kafka: Kafka;
  admin: () => Promise<Admin>;
  /** Topic names; checkpoints live in the compacted `state` topic. */
  names: Readonly<Record<StreamName, string>>;
  config: KafkaConfig;
  timeoutMs: number;
  /** Values larger than this go in parts, one record each (see ../checkpoints.ts). */
  partBytes: number;
  log: TransportLogger;
}

/** On a part record: the checkpoint key it belongs to (part keys are `<key>#<version>#<index>`). */
const PART_HEADER = 'edr-checkpoint-part';
/** Tries at reading the state topic's end offsets while a partition has no leader yet. */
const END_OFFSET_ATTEMPTS = 8;
/** How often a load looks again when a manifest arrived before its parts (they may sit in other partitions). */
const LOAD_ATTEMPTS = 3;
/** Part records in flight at once. */
const PARTS_IN_FLIGHT = 8;
/** Bytes the reader fetches per partition per request, at most. */
const READ_BYTES_PER_PARTITION = 16 * 1024 * 1024;
/** Bytes a record adds to its key and value in a record batch, at most (varints, headers none). */
const RECORD_OVERHEAD = 32;

/**
 * Checkpoints in a compacted topic. A reader tails the topic into memory (newest value per key); `load` first
 * waits until the reader has caught up with the topic's end as of the call, so it sees every earlier save,
 * including those of the processor that owned a partition before a rebalance or crash. A value larger than
 * `partBytes` is saved as part records, one produce request each (the broker's max.message.bytes bounds a
 * whole record batch), then a manifest under the key; older parts are then tombstoned.
 */
export class KafkaCheckpointStore implements CheckpointStore {
  readonly #options: KafkaCheckpointOptions;
  readonly #latest = new Map<string, Uint8Array>();
  /** Part records by the checkpoint key they belong to, then by their own key. */
  readonly #parts = new Map<string, Map<string, Uint8Array>>();
  /** Next offset to read, per partition, as the reader advances. */
  readonly #position = new Map<number, bigint>();
  readonly #producer: KafkaJsProducer;
  /**
   * Parts go out concurrently on a producer of their own: each part key is written once per version, so
   * neither order nor a retried duplicate matters there, while the idempotent producer keeps manifests and
   * values in order (a manifest is sent only once its parts are acknowledged).
   */
  readonly #partProducer: KafkaJsProducer;
  readonly #reader: KafkaJsConsumer;
  #started: Promise<void> | undefined;
  #waiters: Array<() => void> = [];

  constructor(options: KafkaCheckpointOptions) {
    this.#options = options;
    this.#producer = options.kafka.producer({
      idempotent: true,
      allowAutoTopicCreation: false,
      createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
    });
    this.#partProducer = options.kafka.producer({
      allowAutoTopicCreation: false,
      createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
    });
    // A private group that never commits: every store reads the whole topic, and no group state outlives it.
    // Its fetches mostly idle on a quiet topic; a short long-poll keeps close() from waiting out kafkajs'
    // 5 s default before the processor can exit.
    // A restore reads the whole topic: fetches of 1 MiB a partition (the default) made it a round trip per MiB.
    this.#reader = options.kafka.consumer({
      groupId: `${options.config.clientId}-checkpoints-${randomUUID()}`,
      maxWaitTimeInMs: 500,
      maxBytesPerPartition: READ_BYTES_PER_PARTITION,
      maxBytes: 4 * READ_BYTES_PER_PARTITION,
    });
  }

  async load(key: string): Promise<Uint8Array | undefined> {
    return (await this.#read([key], '')).get(key);
  }

  async loadPrefix(prefix: string): Promise<Map<string, Uint8Array>> {
    await this.#caughtUp();
    const keys = [...this.#latest.keys()].filter((key) => key.startsWith(prefix));
    return this.#read(keys, prefix);
  }

  /** The values of `keys` (parts joined), by key without `prefix`, once the reader caught up. */
  async #read(keys: readonly string[], prefix: string): Promise<Map<string, Uint8Array>> {
    for (let attempt = 1; ; attempt++) {
      await this.#caughtUp();
      const found = new Map<string, Uint8Array>();
      let missing: EdrError | undefined;
      for (const key of keys) {
        const value = this.#latest.get(key);
        if (value === undefined) continue;
        const manifest = readManifest(value, key);
        if (!manifest) {
          found.set(key.slice(prefix.length), value);
          continue;
        }
        const parts = this.#parts.get(key);
        const joined = joinParts(
          manifest,
          Array.from({ length: manifest.parts }, (_, index) =>
            parts?.get(partKey(key, manifest.version, index)),
          ),
        );
        if (joined) found.set(key.slice(prefix.length), joined);
        else missing = missingParts(key, manifest);
      }
      if (!missing) return found;
      if (attempt === LOAD_ATTEMPTS) throw missing;
    }
  }

  async #caughtUp(): Promise<void> {
    await withTimeout(this.#catchUp(), this.#options.timeoutMs * 3, 'reading checkpoints').catch(
      (error: unknown) => {
        throw kafkaError(error, 'reading checkpoints');
      },
    );
  }

  /**
   * Small values go in produce requests of about partBytes each (max.message.bytes bounds a record batch),
   * several in flight on the parts producer: keys are distinct, so neither order nor a retried duplicate
   * matters. A value that needs parts goes through save().
   */
  async saveMany(records: ReadonlyArray<readonly [string, Uint8Array | null]>): Promise<void> {
    try {
      await this.#start();
      const requests: KafkaJsMessage[][] = [];
      const large: Array<readonly [string, Uint8Array]> = [];
      let request: KafkaJsMessage[] = [];
      let size = 0;
      for (const [key, value] of records) {
        if (value !== null && needsParts(value, this.#options.partBytes)) {
          large.push([key, value]);
          continue;
        }
        const length = key.length + (value?.byteLength ?? 0) + RECORD_OVERHEAD;
        if (size > 0 && size + length > this.#options.partBytes) {
          requests.push(request);
          request = [];
          size = 0;
        }
        request.push({ key, value: value === null ? null : Buffer.from(value) });
        size += length;
      }
      if (request.length > 0) requests.push(request);
      let next = 0;
      const sender = async (): Promise<void> => {
        for (let index = next++; index < requests.length; index = next++) {
          await this.#send(requests[index]!, 'saving checkpoint entries', this.#partProducer);
        }
      };
      await Promise.all(Array.from({ length: Math.min(PARTS_IN_FLIGHT, requests.length) }, sender));
      for (const [key, value] of records) {
        if (value !== null && needsParts(value, this.#options.partBytes)) continue;
        if (value === null) this.#latest.delete(key);
        else this.#latest.set(key, value);
        // A value that was in parts before: its parts go now.
        if (this.#parts.has(key)) await this.#dropParts(key, undefined);
      }
      for (const [key, value] of large) await this.save(key, value);
    } catch (error) {
      throw kafkaError(error, 'saving checkpoint entries');
    }
  }

  async save(key: string, value: Uint8Array): Promise<void> {
    try {
      await this.#start();
      if (!needsParts(value, this.#options.partBytes)) {
        await this.#send([{ key, value: Buffer.from(value) }], 'saving a checkpoint');
        this.#latest.set(key, value);
        await this.#dropParts(key, undefined);
        return;
      }
      const version = randomUUID();
      const { manifest, parts } = splitParts(value, this.#options.partBytes, version);
      // One produce request per part: max.message.bytes bounds a whole record batch, not a record.
      let next = 0;
      const sender = async (): Promise<void> => {
        for (let index = next++; index < parts.length; index = next++) {
          const record = { key: partKey(key, version, index), value: Buffer.from(parts[index]!) };
          await this.#send(
            [{ ...record, headers: { [PART_HEADER]: key } }],
            `saving part ${index + 1} of ${parts.length} of a checkpoint`,
            this.#partProducer,
          );
        }
      };
      await Promise.all(Array.from({ length: Math.min(PARTS_IN_FLIGHT, parts.length) }, sender));
      await this.#send([{ key, value: Buffer.from(manifest) }], 'saving a checkpoint manifest');
      this.#latest.set(key, manifest);
      const known = this.#partsOf(key);
      for (const [index, part] of parts.entries()) known.set(partKey(key, version, index), part);
      await this.#dropParts(key, version);
    } catch (error) {
      throw kafkaError(error, 'saving a checkpoint');
    }
  }

  /** Tombstones for every key under the prefix this store knows of (it reads the whole topic). */
  async removePrefix(prefix: string): Promise<void> {
    await this.#caughtUp();
    const keys = [...this.#latest.keys()].filter((key) => key.startsWith(prefix));
    await this.saveMany(keys.map((key) => [key, null] as const));
  }

  async close(): Promise<void> {
    await Promise.allSettled([
      this.#producer.disconnect(),
      this.#partProducer.disconnect(),
      this.#reader.disconnect(),
    ]);
  }

  async #send(messages: KafkaJsMessage[], what: string, producer = this.#producer): Promise<void> {
    await withTimeout(
      producer.send({ topic: this.#options.names.state, acks: -1, messages }),
      this.#options.timeoutMs,
      what,
    );
  }

  /**
   * Tombstones every part of `key` that is not of `keep` (earlier versions, and those of saves that failed
   * before their manifest). A failure leaves them for the next save: they are never read, only stored.
   */
  async #dropParts(key: string, keep: string | undefined): Promise<void> {
    const known = this.#parts.get(key);
    if (!known) return;
    const prefix = keep === undefined ? undefined : `${key}#${keep}#`;
    const stale = [...known.keys()].filter((part) => prefix === undefined || !part.startsWith(prefix));
    if (stale.length === 0) return;
    try {
      await this.#send(
        stale.map((part) => ({ key: part, value: null, headers: { [PART_HEADER]: key } })),
        'removing old checkpoint parts',
        this.#partProducer,
      );
      for (const part of stale) known.delete(part);
    } catch (error) {
      this.#options.log.warn(
        { err: error, key, parts: stale.length },
        'old checkpoint parts not removed yet',
      );
    }
  }

  #partsOf(key: string): Map<string, Uint8Array> {
    let parts = this.#parts.get(key);
    if (!parts) {
      parts = new Map();
      this.#parts.set(key, parts);
    }
    return parts;
  }

  #start(): Promise<void> {
    this.#started ??= (async () => {
      if (this.#options.config.createTopics) {
        await ensureTopics(await this.#options.admin(), this.#options.names, this.#options.config);
      }
      await this.#producer.connect();
      await this.#partProducer.connect();
      await this.#reader.connect();
      await this.#reader.subscribe({ topic: this.#options.names.state, fromBeginning: true });
      // A batch at a time, not a callback per message: a restore reads hundreds of thousands of records.
      await this.#reader.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) this.#take(message);
          const last = batch.messages.at(-1);
          if (last) this.#position.set(batch.partition, BigInt(last.offset) + 1n);
          for (const wake of this.#waiters.splice(0)) wake();
        },
      });
    })().catch((error: unknown) => {
      this.#started = undefined;
      throw error;
    });
    return this.#started;
  }

  /** A record of the topic into the newest values (or the parts of one). */
  #take(message: KafkaMessage): void {
    const key = message.key?.toString('utf8');
    if (key === undefined) return;
    const owner = headerValue(message.headers, PART_HEADER);
    if (owner !== undefined) {
      if (message.value === null) this.#parts.get(owner)?.delete(key);
      else this.#partsOf(owner).set(key, new Uint8Array(message.value));
    } else if (message.value === null) this.#latest.delete(key);
    else this.#latest.set(key, new Uint8Array(message.value));
  }

  async #catchUp(): Promise<void> {
    await this.#start();
    const ends = await endOffsets(await this.#options.admin(), this.#options.names.state);
    const behind = () =>
      ends.some(({ partition, high, low }) => {
        const end = BigInt(high);
        return end > BigInt(low) && (this.#position.get(partition) ?? 0n) < end;
      });
    while (behind()) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
}

/**
 * The state topic's end offsets. Right after the topic was created a partition may have no leader yet
 * (NOT_LEADER_FOR_PARTITION, retriable): asked again with backoff, within #caughtUp's timeout.
 */
async function endOffsets(admin: Admin, topic: string): ReturnType<Admin['fetchTopicOffsets']> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await admin.fetchTopicOffsets(topic);
    } catch (error) {
      if (attempt >= END_OFFSET_ATTEMPTS || (error as { retriable?: unknown }).retriable !== true)
        throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 50 * 2 ** attempt)));
    }
  }
}

function partKey(key: string, version: string, index: number): string {
  return `${key}#${version}#${index}`;
}

function headerValue(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  const last = Array.isArray(value) ? value.at(-1) : value;
  return last?.toString();
}
