// Smoke tests: the harness really provides working Kafka, NATS JetStream and Elasticsearch.
import { randomUUID } from 'node:crypto';
import { Client } from '@elastic/elasticsearch';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { elasticsearchUrl, kafkaBrokers, natsUrl, serviceVersion } from '../harness/env.ts';

const unique = () => randomUUID().slice(0, 8);

describe('real services', () => {
  it('kafka: creates a topic, produces and consumes a message', async () => {
    const kafka = new Kafka({ clientId: 'edr-smoke', brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
    const topic = `edr-smoke-${unique()}`;
    const admin = kafka.admin();
    const producer = kafka.producer();
    const consumer = kafka.consumer({ groupId: `edr-smoke-${unique()}` });
    try {
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      await producer.connect();
      await producer.send({ topic, messages: [{ key: 'k', value: 'hello kafka' }] });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const received = new Promise<string>((resolve) => {
        void consumer.run({ eachMessage: async ({ message }) => resolve(message.value?.toString() ?? '') });
      });
      expect(await received).toBe('hello kafka');
      console.log(`[smoke] kafka ${serviceVersion('kafka')} at ${kafkaBrokers().join(',')}`);
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    }
  });

  it('nats: publishes and consumes through a JetStream durable pull consumer', async () => {
    const nc = await connect({ servers: natsUrl() });
    const jsm = await jetstreamManager(nc);
    const stream = `EDR_SMOKE_${unique()}`;
    const subject = `edr.smoke.${stream.toLowerCase()}`;
    try {
      await jsm.streams.add({ name: stream, subjects: [subject] });
      await jsm.consumers.add(stream, { durable_name: 'smoke', ack_policy: AckPolicy.Explicit });
      const js = jetstream(nc);
      await js.publish(subject, 'hello nats');
      const consumer = await js.consumers.get(stream, 'smoke');
      const messages = await consumer.fetch({ max_messages: 1, expires: 5_000 });
      const received: string[] = [];
      for await (const m of messages) {
        received.push(m.string());
        await m.ackAck();
      }
      expect(received).toEqual(['hello nats']);
      expect((await consumer.info()).num_ack_pending).toBe(0);
      console.log(`[smoke] nats ${nc.info?.version} at ${natsUrl()}`);
    } finally {
      await jsm.streams.delete(stream).catch(() => {});
      await nc.close();
    }
  });

  it('elasticsearch: indexes and searches a document', async () => {
    const client = new Client({ node: elasticsearchUrl() });
    const index = `edr-smoke-${unique()}`;
    try {
      await client.index({ index, id: '1', document: { message: 'hello elasticsearch' }, refresh: true });
      const result = await client.search<{ message: string }>({
        index,
        query: { match: { message: 'hello' } },
      });
      expect(result.hits.hits.map((h) => h._source?.message)).toEqual(['hello elasticsearch']);
      const version = await elasticsearchVersion(client);
      console.log(`[smoke] elasticsearch ${version} at ${elasticsearchUrl()}`);
    } finally {
      await client.indices.delete({ index }).catch(() => {});
      await client.close();
    }
  });
});

/** info() is GET /, which the integ-test distribution lacks; the nodes API answers everywhere. */
async function elasticsearchVersion(client: Client): Promise<string> {
  try {
    return (await client.info()).version.number;
  } catch {
    const nodes = await client.nodes.info({ node_id: '_local', metric: '_none' });
    return Object.values(nodes.nodes)[0]?.version ?? 'unknown';
  }
}
