import type { Producer } from '../../../transport/index.ts';
import { exposed } from '../expose.ts';

export interface TransportOptions extends Record<string, unknown> {
  producer: Producer;
  /** Releases what the collector owns (its producer, or the whole transport it created). */
  release: () => Promise<void>;
}

/**
 * Owns the broker connection's lifecycle: connect in the background once the app is ready (a broker that
 * is down must not keep the collector from starting; publishes answer 503 meanwhile), and on close,
 * after fastify has drained the requests in flight, flush and disconnect.
 */
export const transportPlugin = exposed<TransportOptions>(
  'edr-transport',
  async (app, { producer, release }) => {
    app.addHook('onReady', async () => {
      producer.connect().catch((error: unknown) => app.log.warn({ err: error }, 'broker not reachable yet'));
    });
    app.addHook('onClose', async () => {
      await release();
    });
  },
);
