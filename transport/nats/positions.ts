import { JetStreamApiCodes, type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import type { TransportConfig } from '../config.ts';
import type { EndOffsetsReader } from '../end-offsets.ts';
import type { TransportLogger } from '../types.ts';
import { NatsConnectionHandle } from './connection.ts';
import { natsError } from './errors.ts';
import { isApiError, partitionOf, subjectToken } from './stream.ts';

/**
 * The durable's own counts, read from the server on the processor's timer: num_pending (not yet delivered)
 * plus num_ack_pending (delivered, not acknowledged) grow while the consumer is paused or a sink holds its
 * batches, which the last fetch cannot tell. Stream sequences interleave every logical stream, so the lag
 * is this count (`unacknowledged`), not `end` minus a position.
 */
export function createNatsEndOffsetsReader(config: TransportConfig, log: TransportLogger): EndOffsetsReader {
  const connection = new NatsConnectionHandle(config.nats, log);
  let manager: Promise<JetStreamManager> | undefined;
  return {
    async positions(stream, group) {
      const durable = subjectToken(group);
      try {
        manager ??= connection
          .get()
          .then((nc) => jetstreamManager(nc))
          .catch((error: unknown) => {
            manager = undefined;
            throw error;
          });
        const jsm = await manager;
        const [streamInfo, info] = await Promise.all([
          jsm.streams.info(config.nats.stream),
          jsm.consumers.info(config.nats.stream, durable),
        ]);
        const acked = info.ack_floor.stream_seq;
        return [
          {
            partition: partitionOf(config.nats, config.names, stream),
            end: streamInfo.state.last_seq + 1,
            committed: acked > 0 ? acked + 1 : undefined,
            unacknowledged: info.num_pending + info.num_ack_pending,
          },
        ];
      } catch (error) {
        // Not created yet (the consumer starts after the first reading): nothing behind.
        if (isApiError(error, JetStreamApiCodes.ConsumerNotFound)) return [];
        throw natsError(error, `reading the consumer info of ${durable}`);
      }
    },
    close: () => connection.close(),
  };
}
