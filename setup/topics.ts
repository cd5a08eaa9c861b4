import {
  createTransport,
  natsSubjectsOf,
  type TransportConfig,
  type TransportLogger,
} from '../transport/index.ts';
import { waitFor } from './wait.ts';

/**
 * Creates the missing Kafka topics / the JetStream stream by connecting a producer (connect() creates
 * them), retrying until the broker answers. Returns what it made sure of, for the progress line.
 */
export async function setupStreams(
  config: TransportConfig,
  options: { timeoutMs: number; logger?: TransportLogger },
): Promise<string> {
  if (config.kind === 'memory') return 'memory transport: nothing to create (streams live in the process)';
  const where =
    config.kind === 'kafka'
      ? `Kafka at ${config.kafka.brokers.join(', ')}`
      : `NATS at ${config.nats.servers.join(', ')}`;
  await waitFor(
    'transport',
    where,
    async () => {
      const transport = createTransport(config, options.logger ? { logger: options.logger } : {});
      try {
        const producer = transport.createProducer();
        await producer.connect();
        await producer.close();
      } finally {
        await transport.close();
      }
    },
    { timeoutMs: options.timeoutMs },
  );
  return config.kind === 'kafka'
    ? `${where}: topics ${Object.values(config.names).join(', ')} ready (${config.kafka.partitions} partitions each, created when missing)`
    : `${where}: stream ${config.nats.stream} ready for subjects ${natsSubjectsOf(config.names).join(', ')}`;
}
