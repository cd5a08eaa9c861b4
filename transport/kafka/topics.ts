import type { Admin, ITopicConfig } from 'kafkajs';
import type { KafkaConfig } from '../config.ts';
import type { StreamName } from '../types.ts';

/** Logical streams whose topics keep only the latest record per key (checkpoints). */
const COMPACTED: ReadonlySet<StreamName> = new Set(['state']);

/** A partition's engine snapshot can outgrow the broker's 1 MB default record size. */
const CHECKPOINT_TOPIC_CONFIG = [
  { name: 'cleanup.policy', value: 'compact' },
  { name: 'max.message.bytes', value: String(64 * 1024 * 1024) },
];

/** Creates the missing topics; a topic created concurrently by another process counts as present. */
export async function ensureTopics(
  admin: Admin,
  names: Readonly<Record<StreamName, string>>,
  config: KafkaConfig,
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing: ITopicConfig[] = [];
  for (const [stream, topic] of Object.entries(names) as [StreamName, string][]) {
    if (existing.has(topic)) continue;
    missing.push({
      topic,
      numPartitions:
        stream === 'repartition' && existing.has(names.events)
          ? await partitionCount(admin, names.events, config.partitions)
          : config.partitions,
      replicationFactor: config.replicationFactor,
      configEntries: COMPACTED.has(stream) ? CHECKPOINT_TOPIC_CONFIG : [],
    });
  }
  if (missing.length === 0) return;
  try {
    await admin.createTopics({ topics: missing, waitForLeaders: true });
  } catch (error) {
    // Another collector or processor won the race: fine as long as the topics exist now.
    const now = new Set(await admin.listTopics());
    if (missing.some(({ topic }) => !now.has(topic))) throw error;
  }
}

/** Re-keyed records keep the partitioning of the events they come from: an existing events topic sets the count. */
async function partitionCount(admin: Admin, topic: string, fallback: number): Promise<number> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  return topics[0]?.partitions.length || fallback;
}
