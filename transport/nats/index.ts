import type { CheckpointStore } from '../checkpoints.ts';
import type { TransportConfig } from '../config.ts';
import type { Consumer, ConsumerOptions, Producer, Transport, TransportLogger } from '../types.ts';
import { NatsCheckpointStore } from './checkpoints.ts';
import { NatsConnectionHandle } from './connection.ts';
import { NatsConsumer } from './consumer.ts';
import { NatsProducer } from './producer.ts';

/** NATS JetStream: one stream holding `<prefix>.<token>` subjects for every logical stream. */
export function createNatsTransport(config: TransportConfig, log: TransportLogger): Transport {
  const connection = new NatsConnectionHandle(config.nats, log);
  const owned: Array<Producer | Consumer | CheckpointStore> = [];
  const deps = { connection, config: config.nats, names: config.names, log };
  return {
    kind: 'nats',
    partitionedByKey: false,
    names: config.names,
    createProducer(): Producer {
      const producer = new NatsProducer({ ...deps, publishTimeoutMs: config.publishTimeoutMs });
      owned.push(producer);
      return producer;
    },
    createConsumer(options: ConsumerOptions): Consumer {
      const consumer = new NatsConsumer(deps, options);
      owned.push(consumer);
      return consumer;
    },
    createCheckpointStore(): CheckpointStore {
      const store = new NatsCheckpointStore({
        connection,
        bucket: `${config.nats.stream}-checkpoints`,
        timeoutMs: config.publishTimeoutMs,
        partBytes: config.checkpointPartBytes,
        log,
      });
      owned.push(store);
      return store;
    },
    async close(): Promise<void> {
      await Promise.allSettled(owned.map((client) => client.close()));
      await connection.close();
    },
  };
}
