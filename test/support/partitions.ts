import kafkajs from 'kafkajs';

/**
 * The partition of `partitions` that kafkajs' default partitioner (murmur2, as the collector's producer and
 * every Java client) gives `key`: where a test's agents land, computed before anything is published.
 */
export function partitionOfKey(key: string, partitions: number): number {
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    partitionErrorCode: 0,
    leader: 0,
    replicas: [0],
    isr: [0],
  }));
  return kafkajs.Partitioners.DefaultPartitioner()({
    topic: 'any',
    partitionMetadata,
    message: { key, value: null },
  });
}
