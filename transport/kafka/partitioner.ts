import kafkajs, { type ICustomPartitioner, type PartitionerArgs } from 'kafkajs';

const { Partitioners } = kafkajs;

/**
 * kafkajs' default (Java-compatible murmur2) partitioner, memoized per topic, partition count and key.
 * Keys (agent ids) repeat across a stream, and the default re-hashes the key and filters the
 * partition list for every message, a visible share of the collector's CPU.
 */
export function memoizedPartitioner(maxKeysPerTopic = 50_000): ICustomPartitioner {
  return () => {
    const partitionOf = Partitioners.DefaultPartitioner();
    const cache = new Map<string, { partitions: number; byKey: Map<string, number> }>();
    return (args: PartitionerArgs) => {
      const { topic, partitionMetadata, message } = args;
      if (
        typeof message.key !== 'string' ||
        (message.partition !== undefined && message.partition !== null)
      ) {
        return partitionOf(args);
      }
      let entry = cache.get(topic);
      // A changed partition count invalidates every cached choice for the topic.
      if (!entry || entry.partitions !== partitionMetadata.length) {
        entry = { partitions: partitionMetadata.length, byKey: new Map() };
        cache.set(topic, entry);
      }
      let partition = entry.byKey.get(message.key);
      if (partition === undefined) {
        partition = partitionOf(args);
        if (entry.byKey.size >= maxKeysPerTopic) entry.byKey.clear();
        entry.byKey.set(message.key, partition);
      }
      return partition;
    };
  };
}
