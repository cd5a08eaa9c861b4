import { EdrError } from '../core/errors.ts';
import type { TransportConfig } from './config.ts';
import { createKafkaTransport } from './kafka/index.ts';
import { stderrLogger } from './log.ts';
import { createMemoryTransport } from './memory/index.ts';
import { createNatsTransport } from './nats/index.ts';
import type { Transport, TransportLogger } from './types.ts';

export type { CheckpointStore } from './checkpoints.ts';
export { MemoryCheckpointStore } from './checkpoints.ts';
export type { KafkaConfig, MemoryConfig, NatsConfig, TransportConfig } from './config.ts';
export { TransportConfigSchema } from './config.ts';
export type { EndOffsetsReader, PartitionPositions } from './end-offsets.ts';
export { createEndOffsetsReader } from './end-offsets.ts';
export { RECORD_HEADERS } from './headers.ts';
export { subjectsOf as natsSubjectsOf } from './nats/stream.ts';
export type {
  Batch,
  BatchHandler,
  Consumer,
  ConsumerOptions,
  Message,
  OutboundRecord,
  PartitionLag,
  Producer,
  StreamName,
  Transport,
  TransportKind,
  TransportLogger,
} from './types.ts';
export { STREAMS, TRANSPORT_KINDS } from './types.ts';

export interface TransportDeps {
  /** Where adapter and broker-client logs go; JSON lines on stderr (warn and up) by default. */
  logger?: TransportLogger;
}

/** The one place a broker client is chosen; everything above transport/ sees only Transport. */
export function createTransport(config: TransportConfig, deps: TransportDeps = {}): Transport {
  const logger = deps.logger ?? stderrLogger;
  switch (config.kind) {
    case 'kafka':
      return createKafkaTransport(config, logger);
    case 'nats':
      return createNatsTransport(config, logger);
    case 'memory':
      return createMemoryTransport(config, logger);
    default:
      throw new EdrError('EDR_ERR_CONFIG', `transport.kind: unknown transport ${String(config.kind)}`);
  }
}
