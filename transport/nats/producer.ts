import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { EdrError } from '../../core/errors.ts';
import type { NatsConfig } from '../config.ts';
import { withTimeout } from '../errors.ts';
import type { OutboundRecord, Producer, StreamName } from '../types.ts';
import type { NatsConnectionHandle } from './connection.ts';
import { natsError } from './errors.ts';
import { ensureStream, KEY_HEADER, subjectToken } from './stream.ts';

export interface NatsProducerDeps {
  connection: NatsConnectionHandle;
  config: NatsConfig;
  names: Readonly<Record<StreamName, string>>;
  publishTimeoutMs: number;
}

/**
 * Publishes each record to `<prefix>.<token>` and waits for every PubAck. The dedupe id is
 * `<logical stream>:<id>`: all logical streams share one JetStream stream, whose duplicate window spans
 * its subjects, so a bare eventId on agent.events would swallow the same event on agent.violations.
 */
export class NatsProducer implements Producer {
  readonly #deps: NatsProducerDeps;
  #streamReady: Promise<void> | undefined;
  readonly #inFlight = new Set<Promise<unknown>>();
  #closed = false;

  constructor(deps: NatsProducerDeps) {
    this.#deps = deps;
  }

  async connect(): Promise<void> {
    try {
      const nc = await this.#deps.connection.get();
      this.#streamReady ??= jetstreamManager(nc).then((jsm) =>
        ensureStream(jsm, this.#deps.config, this.#deps.names),
      );
      await this.#streamReady;
    } catch (error) {
      this.#streamReady = undefined;
      throw natsError(error, 'connecting to NATS JetStream');
    }
  }

  async publish(records: readonly OutboundRecord[]): Promise<void> {
    if (this.#closed) throw new EdrError('EDR_ERR_BROKER_UNAVAILABLE', 'producer closed');
    if (records.length === 0) return;
    const { publishTimeoutMs: timeout, names } = this.#deps;
    const work = (async () => {
      await this.connect();
      const js = jetstream(await this.#deps.connection.get(), { timeout });
      await Promise.all(
        records.map((record) => {
          const options: Parameters<typeof js.publish>[2] = { timeout };
          if (record.id !== undefined) options.msgID = `${record.stream}:${record.id}`;
          const h = natsHeaders();
          h.set(KEY_HEADER, record.key);
          for (const [name, value] of Object.entries(record.headers ?? {})) h.set(name, value);
          options.headers = h;
          return js.publish(`${names[record.stream]}.${subjectToken(record.token)}`, record.value, options);
        }),
      );
    })();
    this.#inFlight.add(work);
    void work.catch(() => {}).finally(() => this.#inFlight.delete(work));
    try {
      await withTimeout(work, timeout, 'publishing to NATS');
    } catch (error) {
      // The stream may have been deleted or the server restarted: check it again next time.
      this.#streamReady = undefined;
      throw natsError(error, 'publishing to NATS');
    }
  }

  async ready(): Promise<boolean> {
    try {
      await withTimeout(this.connect(), 2_000, 'NATS readiness probe');
      return this.#deps.connection.isConnected();
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled(this.#inFlight);
  }
}
