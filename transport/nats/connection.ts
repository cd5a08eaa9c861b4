import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { NatsConfig } from '../config.ts';
import type { TransportLogger } from '../types.ts';

/**
 * One NATS connection per transport, opened on first use. The client reconnects by itself after it was
 * connected once; a first connect that fails is retried on the next get().
 */
export class NatsConnectionHandle {
  readonly #config: NatsConfig;
  readonly #log: TransportLogger;
  #connection: Promise<NatsConnection> | undefined;
  #connected = false;

  constructor(config: NatsConfig, log: TransportLogger) {
    this.#config = config;
    this.#log = log;
  }

  get(): Promise<NatsConnection> {
    this.#connection ??= this.#open().catch((error: unknown) => {
      this.#connection = undefined;
      throw error;
    });
    return this.#connection;
  }

  /** Connected right now (not reconnecting, not closed). */
  isConnected(): boolean {
    return this.#connected;
  }

  async close(): Promise<void> {
    const pending = this.#connection;
    this.#connection = undefined;
    if (!pending) return;
    const nc = await pending.catch(() => undefined);
    if (nc && !nc.isClosed()) await nc.drain();
  }

  async #open(): Promise<NatsConnection> {
    const { servers, user, pass, token } = this.#config;
    const nc = await connect({
      servers,
      name: 'clawdstrike-edr',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      timeout: 3_000,
      ...(user ? { user } : {}),
      ...(pass ? { pass } : {}),
      ...(token ? { token } : {}),
    });
    this.#connected = true;
    void this.#watch(nc);
    return nc;
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        this.#connected = false;
        this.#log.warn({ component: 'nats', server: status.server }, 'NATS disconnected');
      } else if (status.type === 'reconnect') {
        this.#connected = true;
        this.#log.info({ component: 'nats', server: status.server }, 'NATS reconnected');
      }
    }
    // The status iterator ends when the connection closes for good; the next get() opens a new one.
    this.#connected = false;
    if (this.#connection && (await this.#connection.catch(() => undefined)) === nc)
      this.#connection = undefined;
  }
}
