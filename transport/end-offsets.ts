import type { TransportConfig } from './config.ts';
import { createKafkaClient, kafkaError } from './kafka/client.ts';
import { createNatsEndOffsetsReader } from './nats/positions.ts';
import type { StreamName, TransportLogger } from './types.ts';

/** Where one partition ends and where a group's committed position stands, as the broker has them now. */
export interface PartitionPositions {
  /** `topic/partition`, as Message.partition names it. */
  partition: string;
  /** The offset the next record written will get (the high watermark). */
  end: number;
  /** The group's committed offset (the next to read); undefined when it has none. */
  committed: number | undefined;
  /**
   * Set where offsets do not count a stream's records (one JetStream stream interleaves the subjects of
   * every logical stream): the records the group has not acknowledged yet, as the broker counts them (NATS:
   * the consumer's num_pending + num_ack_pending). The lag is then this count, not `end` minus a position.
   */
  unacknowledged?: number;
}

/**
 * Asks the broker itself for the end of each partition, independently of fetching: a consumer that is
 * paused (a sink stalled) or stuck in a batch learns nothing from its fetches, and its lag must still grow.
 */
export interface EndOffsetsReader {
  positions(stream: StreamName, group: string): Promise<PartitionPositions[]>;
  close(): Promise<void>;
}

/** Kafka (the admin API) and NATS (the durable's info); undefined in memory, whose consumer knows its lag. */
export function createEndOffsetsReader(
  config: TransportConfig,
  log: TransportLogger,
): EndOffsetsReader | undefined {
  if (config.kind === 'nats') return createNatsEndOffsetsReader(config, log);
  if (config.kind !== 'kafka') return undefined;
  const admin = createKafkaClient(config.kafka, log).admin();
  let connected: Promise<void> | undefined;
  return {
    async positions(stream, group) {
      const topic = config.names[stream];
      try {
        connected ??= admin.connect().catch((error: unknown) => {
          connected = undefined;
          throw error;
        });
        await connected;
        const [ends, [committed]] = await Promise.all([
          admin.fetchTopicOffsets(topic),
          admin.fetchOffsets({ groupId: group, topics: [topic] }),
        ]);
        const byPartition = new Map(
          (committed?.partitions ?? []).map(({ partition, offset }) => [partition, Number(offset)]),
        );
        return ends.map(({ partition, high }) => {
          const at = byPartition.get(partition);
          return {
            partition: `${topic}/${partition}`,
            end: Number(high),
            // kafkajs reports "no committed offset" as -1.
            committed: at === undefined || at < 0 ? undefined : at,
          };
        });
      } catch (error) {
        throw kafkaError(error, `reading the end offsets of ${topic}`);
      }
    },
    async close() {
      if (connected) await admin.disconnect();
    },
  };
}
