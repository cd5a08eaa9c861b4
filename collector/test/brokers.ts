import type { FastifyInstance } from 'fastify';
import { afterAll } from 'vitest';
import type { Envelope } from '../../engine/model/index.ts';
import {
  createTransport,
  type Message,
  type Transport,
  type TransportConfig,
} from '../../transport/index.ts';
import {
  dropTransportResources,
  isolatedTransportConfig,
  silentLogger,
} from '../../transport/testing/index.ts';
import { buildCollector, type CollectorDeps } from '../index.ts';
import { collectorConfig } from './support.ts';

export const BROKERS = ['kafka', 'nats'] as const;
export type BrokerKind = (typeof BROKERS)[number];

export interface BrokerCollector {
  app: FastifyInstance;
  transport: Transport;
  config: TransportConfig;
}

/**
 * A collector publishing to a real broker on topics / a stream of its own, and a transport on the same
 * names to read back with. Everything is closed and deleted after the file's tests.
 */
export function brokerCollectors(): (
  kind: BrokerKind,
  overrides?: Parameters<typeof collectorConfig>[0],
  deps?: Omit<CollectorDeps, 'transport' | 'producer'>,
) => Promise<BrokerCollector> {
  const opened: BrokerCollector[] = [];
  afterAll(async () => {
    for (const { app, transport, config } of opened) {
      await app.close();
      await transport.close();
      await dropTransportResources(config);
    }
  });
  return async (kind, overrides = {}, deps = {}) => {
    const config = isolatedTransportConfig(kind);
    const transport = createTransport(config, { logger: silentLogger });
    const app = await buildCollector(collectorConfig(overrides), { ...deps, transport });
    const collector = { app, transport, config };
    opened.push(collector);
    return collector;
  };
}

export const envelopeOf = (message: Message): Envelope =>
  JSON.parse(Buffer.from(message.value).toString()) as Envelope;
export const eventIds = (messages: readonly Message[]): string[] =>
  messages.map((message) => envelopeOf(message).eventId);
