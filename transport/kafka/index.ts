import type { Admin } from 'kafkajs';
import type { CheckpointStore } from '../checkpoints.ts';
import type { TransportConfig } from '../config.ts';
import type { Consumer, ConsumerOptions, Producer, Transport, TransportLogger } from '../types.ts';
import { KafkaCheckpointStore } from './checkpoints.ts';
import { createKafkaClient } from './client.ts';
import { KafkaConsumer } from './consumer.ts';
import { KafkaPlatformaticConsumer } from './platformatic/consumer.ts';
import { KafkaPlatformaticProducer } from './platformatic/producer.ts';
import { KafkaProducer } from './producer.ts';

/**
 * Kafka: one topic per logical stream, one shared client and admin connection per transport. Producers and
 * consumers use the client library `kafka.client` names; topic admin and the checkpoint store use kafkajs.
 */
export function createKafkaTransport(config: TransportConfig, log: TransportLogger): Transport {
  const kafka = createKafkaClient(config.kafka, log);
  const adminClient = kafka.admin();
  let adminConnected: Promise<Admin> | undefined;
  const admin = (): Promise<Admin> => {
    adminConnected ??= adminClient.connect().then(
      () => adminClient,
      (error: unknown) => {
        adminConnected = undefined;
        throw error;
      },
    );
    return adminConnected;
  };
  const owned: Array<Producer | Consumer | CheckpointStore> = [];
  const deps = { kafka, admin, names: config.names, config: config.kafka, log };
  return {
    kind: 'kafka',
    partitionedByKey: true,
    names: config.names,
    createProducer(): Producer {
      const options = { ...deps, publishTimeoutMs: config.publishTimeoutMs };
      const producer =
        config.kafka.client === 'platformatic'
          ? new KafkaPlatformaticProducer(options)
          : new KafkaProducer(options);
      owned.push(producer);
      return producer;
    },
    createConsumer(options: ConsumerOptions): Consumer {
      const consumer =
        config.kafka.client === 'platformatic'
          ? new KafkaPlatformaticConsumer(deps, options)
          : new KafkaConsumer(deps, options);
      owned.push(consumer);
      return consumer;
    },
    createCheckpointStore(): CheckpointStore {
      const store = new KafkaCheckpointStore({
        ...deps,
        timeoutMs: config.publishTimeoutMs,
        partBytes: config.checkpointPartBytes,
      });
      owned.push(store);
      return store;
    },
    async close(): Promise<void> {
      await Promise.allSettled(owned.map((client) => client.close()));
      await adminClient.disconnect();
    },
  };
}
