import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { metricsAccessHook } from '../core/api-keys.ts';
import type { Clock } from '../core/clock.ts';
import type {
  Alert,
  EngineInputPaths,
  EngineLimits,
  Envelope,
  RecordError,
  RecordLimits,
} from '../engine/index.ts';
import type { SinkRouter } from '../sinks/index.ts';
import type { Redactor } from '../transforms/index.ts';
import type {
  Batch,
  CheckpointStore,
  Consumer,
  Message,
  OutboundRecord,
  Producer,
  Transport,
} from '../transport/index.ts';
import type { ProcessorSettings } from './config.ts';
import { decodeEvent } from './decode.ts';
import { createProcessorMetrics, type ProcessorMetrics } from './metrics.ts';
import { type PartitionEngine, PartitionEngines } from './partition-engines.ts';
import { Reloader } from './reloader.ts';

export interface ProcessorDeps {
  transport: Transport;
  router: SinkRouter;
  /** Engine state per partition; omit to keep state in memory only (single-process mode). */
  checkpoints?: CheckpointStore;
  clock: Clock;
  log: Logger;
  inputs: EngineInputPaths;
  limits?: Partial<EngineLimits>;
  /** limits.record, the collector's: decoding applies the same, so what it accepted decodes here. */
  recordLimits?: RecordLimits;
  /** Secret redaction between detection and delivery (transforms/). */
  redactor: Redactor;
}

/** Headers on a dead-lettered record; its value is the original bytes, untouched. */
export const DLQ_HEADERS = {
  error: 'edr-dlq-error',
  partition: 'edr-dlq-partition',
  offset: 'edr-dlq-offset',
} as const;

/** How often a long batch tells the broker it is still alive (group membership, NATS ack deadline). */
const HEARTBEAT_MS = 3_000;

/**
 * consume → engine → alerts to the `alerts` stream → sinks → checkpoint → commit.
 * A position is committed only after its batch was delivered and the state that includes it was saved (on
 * Kafka every `checkpointIntervalMs`, with offsets committed right after; elsewhere after each batch). A crash
 * before the commit makes those batches come again from the saved state (at least once): alert ids are
 * deterministic, so the repeat produces no new alert where the destination deduplicates by id.
 * A batch that fails after the engine ran it (alerts not published, sinks or dead letters not written, its
 * checkpoint not saved) is rolled back out of the partition's engine before it comes again, so its redelivery
 * raises the alerts it would have raised the first time.
 */
export class Processor {
  readonly #settings: ProcessorSettings;
  readonly #deps: ProcessorDeps;
  readonly #producer: Producer;
  readonly #consumer: Consumer;
  readonly #engines: PartitionEngines;
  readonly #reloader: Reloader;
  readonly #metrics: ProcessorMetrics;
  readonly #http: FastifyInstance;
  #consuming = false;
  /** State is saved to a store that outlives this process (else checkpoints only move the rollback base). */
  readonly #durable: boolean;
  /** Partitions whose engine changed since their last checkpoint. */
  readonly #dirty = new Map<string, PartitionEngine>();
  /** Why the last checkpoint of a partition (or the last commit) failed; /readyz shows them. */
  readonly #checkpointProblems = new Map<string, string>();
  #lastCheckpoint = 0;
  #checkpointTimer: NodeJS.Timeout | undefined;
  /** Batches and checkpoints run one at a time, so a checkpoint never sees a batch half done. */
  #exclusive: Promise<unknown> = Promise.resolve();

  constructor(settings: ProcessorSettings, deps: ProcessorDeps) {
    this.#settings = settings;
    this.#deps = deps;
    this.#reloader = new Reloader({
      paths: deps.inputs,
      watch: settings.watch,
      log: deps.log,
      // Between batches, so a rollback's journal has the reload where the engine had it.
      apply: (inputs) => this.#serially(() => this.#engines.reload(inputs)),
      // edr_processor_reloads_total was declared but never counted.
      onResult: (result) => this.#metrics.reloads.inc({ result }),
    });
    this.#durable = settings.checkpoints && deps.checkpoints !== undefined;
    this.#engines = new PartitionEngines({
      inputs: () => this.#reloader.current,
      clock: deps.clock,
      limits: deps.limits,
      checkpoints: this.#durable ? deps.checkpoints : undefined,
      group: settings.group,
      decode: (messages) => decodeAll(messages, deps.recordLimits).events,
      onRestore: (partition, outcome) => {
        if (outcome.restored || outcome.reason === 'no checkpoint') {
          deps.log.info({ partition, ...outcome }, 'partition engine ready');
          return;
        }
        this.#metrics.restoreFailures.inc();
        deps.log.error({ partition, ...outcome }, 'checkpoint unreadable: partition state starts empty');
      },
    });
    this.#producer = deps.transport.createProducer();
    this.#consumer = deps.transport.createConsumer({
      stream: 'events',
      group: settings.group,
      maxBatchSize: settings.maxBatchSize,
      fromBeginning: settings.fromBeginning,
      deferCommits: this.#durable,
      onAssignment: (partitions) => {
        deps.log.info({ partitions }, 'partitions assigned');
        this.#engines.retain(partitions);
        for (const partition of this.#dirty.keys())
          if (!partitions.includes(partition)) this.#dirty.delete(partition);
        for (const partition of this.#checkpointProblems.keys())
          if (partition !== COMMIT && !partitions.includes(partition))
            this.#checkpointProblems.delete(partition);
      },
    });
    const { registry, metrics } = createProcessorMetrics({
      lag: () => this.#consumer.lag(),
      engines: async () =>
        (await this.#engines.all()).map(({ partition, engine }) => ({ partition, stats: engine.stats() })),
      journalBytes: () => this.#journalBytes(),
      sinkPending: () => deps.router.pendingItems(),
      sinks: deps.router,
    });
    this.#metrics = metrics;
    this.#http = Fastify({
      loggerInstance: deps.log.child({ component: 'processor-http' }) as FastifyBaseLogger,
    });
    this.#http.get('/healthz', async () => ({ status: 'ok' }));
    // Ready when consuming with a broker that answers, every sink route ready, and every checkpoint saved.
    this.#http.get('/readyz', async (_request, reply) => {
      const broker = this.#consuming && (await this.#producer.ready());
      const sinks = deps.router.health();
      const checkpoints = [...this.#checkpointProblems].map(([partition, reason]) =>
        partition === COMMIT ? { stage: 'commit', reason } : { stage: 'save', partition, reason },
      );
      const ready = broker && sinks.ready && checkpoints.length === 0;
      return reply
        .code(ready ? 200 : 503)
        .send({ ready, broker, sinks: sinks.routes, checkpoints, rules: this.#reloader.stats() });
    });
    // The collector's key check: with auth.metricsScope read, /metrics wants a read (or admin) key.
    const metricsAccess = metricsAccessHook(settings.auth);
    const metricsOptions = metricsAccess ? { onRequest: metricsAccess } : {};
    this.#http.get('/metrics', metricsOptions, async (_request, reply) => {
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    });
  }

  /** Where /healthz, /readyz and /metrics listen once started. */
  get address(): string {
    const address = this.#http.server.address();
    return typeof address === 'object' && address ? `http://${this.#settings.host}:${address.port}` : '';
  }

  async start(): Promise<void> {
    await this.#http.listen({ host: this.#settings.host, port: this.#settings.port });
    await this.#deps.router.start();
    await this.#producer.connect();
    this.#reloader.start();
    await this.#consumer.start((batch) => this.#serially(() => this.#handle(batch)));
    this.#consuming = true;
    if (this.#consumer.defersCommits) {
      // Also checkpoint when traffic stops, so the committed position does not lag behind for long.
      this.#checkpointTimer = setInterval(
        () => void this.#serially(() => this.#checkpointIfDue()).catch(() => undefined),
        this.#settings.checkpointIntervalMs,
      );
      this.#checkpointTimer.unref();
    }
    this.#deps.log.info(
      { group: this.#settings.group, transport: this.#deps.transport.kind },
      'processor consuming',
    );
  }

  /** Finishes the batch in hand, commits it, flushes sinks, then disconnects. */
  async stop(): Promise<void> {
    this.#consuming = false;
    this.#reloader.stop();
    clearInterval(this.#checkpointTimer);
    this.#consumer.pause();
    // A batch waiting out a sink outage fails now (rolled back, delivered again after the restart).
    this.#deps.router.interruptRetries();
    // The batch in hand records its positions a little after its handler returns: wait for that, or the
    // final commit below would leave it out and it would be delivered again.
    await this.#consumer.settled();
    if (this.#durable) {
      await this.#serially(() => this.#checkpointDirty()).catch((error: unknown) =>
        this.#deps.log.error(
          { err: error },
          'final checkpoint failed: batches since the last one will be delivered again',
        ),
      );
    }
    await this.#consumer.close();
    await this.#deps.router.close();
    await this.#producer.close();
    await this.#deps.checkpoints?.close();
    await this.#deps.transport.close();
    await this.#http.close();
  }

  /** Applies changed rule/intel/asset files now (what SIGHUP does). */
  reload(): Promise<boolean> {
    return this.#reloader.reload('request');
  }

  async #handle(batch: Batch): Promise<void> {
    let partition: PartitionEngine | undefined;
    try {
      await this.#whileAlive(batch, this.#waitForSinks());
      partition = await this.#engines.forPartition(batch.partition);
      const events = await this.#decode(batch);
      const alerts = this.#evaluate(partition, batch, events);
      // Detect first, redact after: the alerts stream and the sinks get no secret in clear.
      const delivery = this.#deps.redactor.redact({ events, alerts }, this.#reloader.current.rules);
      if (alerts.length > 0) await this.#producer.publish(delivery.alerts.map(alertRecord));
      await this.#whileAlive(batch, this.#deps.router.deliver(delivery));
      await this.#whileAlive(batch, this.#afterDelivery(partition));
      this.#metrics.batches.inc({ result: 'ok' });
    } catch (error) {
      this.#metrics.batches.inc({ result: 'failed' });
      if (partition) await this.#rollback(partition);
      this.#deps.log.error(
        { err: error, partition: batch.partition },
        'batch failed; it will be delivered again',
      );
      throw error;
    }
  }

  /** The batch was delivered: its state is saved before its position can be committed. */
  async #afterDelivery(partition: PartitionEngine): Promise<void> {
    if (!partition.current) return; // assigned elsewhere meanwhile: the new owner resumes from the checkpoint
    if (this.#durable && !this.#consumer.defersCommits) {
      // The transport commits right after this handler returns: the state that includes the batch goes first.
      await this.#checkpoint(partition);
      return;
    }
    this.#dirty.set(partition.partition, partition);
    // The journal that rollbacks replay is bounded: past the bound, this batch waits for a checkpoint that
    // includes it (saved last, so a failure leaves it in hand to be rolled back and delivered again).
    if (this.#journalBytes() >= this.#settings.rollbackJournalBytes) {
      await this.#checkpointDirty(partition);
      return;
    }
    partition.keep();
    if (this.#consumer.defersCommits) await this.#checkpointIfDue().catch(() => undefined);
  }

  /** Puts the partition's engine back to where it was before the failed batch. */
  async #rollback(partition: PartitionEngine): Promise<void> {
    if (!partition.current) return;
    try {
      if (await partition.rollback()) this.#metrics.rollbacks.inc({ result: 'ok' });
    } catch (error) {
      // Only a bug gets here (the base is this process's own bytes): reopen from the saved checkpoint.
      this.#metrics.rollbacks.inc({ result: 'failed' });
      this.#engines.drop(partition.partition);
      this.#dirty.delete(partition.partition);
      this.#deps.log.error(
        { err: error, partition: partition.partition },
        'rollback failed: the partition engine is reopened from its last checkpoint',
      );
    }
  }

  #journalBytes(): number {
    let total = 0;
    for (const partition of this.#dirty.values()) total += partition.journalBytes;
    return total;
  }

  async #checkpointIfDue(): Promise<void> {
    if (this.#deps.clock() - this.#lastCheckpoint >= this.#settings.checkpointIntervalMs) {
      await this.#checkpointDirty();
    }
  }

  /**
   * Saves the state of every partition changed since the last checkpoint (`last` after the others), then
   * commits their positions: a restart resumes exactly where the saved state ends (events it already holds
   * are dropped as duplicates). A failed save stops before the commit and rejects; a failed commit leaves the
   * positions for the next one. Either is logged, counted and shown by /readyz until a checkpoint succeeds.
   */
  async #checkpointDirty(last?: PartitionEngine): Promise<void> {
    const order = [...this.#dirty.values()].filter((partition) => partition !== last);
    if (last) order.push(last);
    for (const partition of order) {
      if (partition.current) await this.#checkpoint(partition);
      this.#dirty.delete(partition.partition);
    }
    this.#lastCheckpoint = this.#deps.clock();
    try {
      await this.#consumer.commit();
      this.#checkpointProblems.delete(COMMIT);
    } catch (error) {
      this.#metrics.checkpointFailures.inc({ stage: 'commit' });
      this.#checkpointProblems.set(COMMIT, `commit failed: ${(error as Error).message}`);
      this.#deps.log.error({ err: error }, 'offsets not committed; the next checkpoint commits them');
    }
  }

  async #checkpoint(partition: PartitionEngine): Promise<void> {
    const stopTimer = this.#metrics.checkpointSeconds.startTimer();
    try {
      const bytes = await partition.checkpoint();
      this.#metrics.checkpointBytes.set({ partition: partition.partition }, bytes);
      this.#checkpointProblems.delete(partition.partition);
    } catch (error) {
      this.#metrics.checkpointFailures.inc({ stage: 'save' });
      this.#checkpointProblems.set(partition.partition, `checkpoint not saved: ${(error as Error).message}`);
      this.#deps.log.error(
        { err: error, partition: partition.partition },
        'checkpoint not saved; its positions are not committed until one is',
      );
      throw error;
    } finally {
      stopTimer();
    }
  }

  #serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#exclusive.then(work, work);
    this.#exclusive = run.catch(() => undefined);
    return run;
  }

  /** Poison records go to the dead-letter stream with their error; the rest continue. */
  async #decode(batch: Batch): Promise<Envelope[]> {
    const { events, poison } = decodeAll(batch.messages, this.#deps.recordLimits);
    if (poison.length > 0) {
      await this.#producer.publish(poison.map(({ message, errors }) => deadLetterRecord(message, errors)));
      for (const { message, errors } of poison) message.term(errors[0]?.message);
      this.#metrics.deadLettered.inc(poison.length);
      this.#deps.log.warn(
        { partition: batch.partition, count: poison.length },
        'poison records dead-lettered',
      );
    }
    return events;
  }

  #evaluate(partition: PartitionEngine, batch: Batch, events: readonly Envelope[]): Alert[] {
    const stopTimer = this.#metrics.evaluationSeconds.startTimer();
    const alerts = partition.evaluate(batch.messages, events);
    stopTimer();
    this.#metrics.events.inc(events.length);
    for (const alert of alerts) this.#metrics.alerts.inc({ rule: alert.ruleId, severity: alert.severity });
    return alerts;
  }

  /** Backpressure: while sinks hold too much, stop fetching instead of buffering without bound. */
  async #waitForSinks(): Promise<void> {
    const router = this.#deps.router;
    if (!router.saturated()) return;
    this.#consumer.pause();
    this.#metrics.paused.set(1);
    this.#deps.log.warn({ pending: router.pendingItems() }, 'sinks saturated; consumption paused');
    try {
      await router.whenUnsaturated();
    } finally {
      this.#consumer.resume();
      this.#metrics.paused.set(0);
    }
  }

  /** Keeps the batch's lease while a slow step runs. */
  async #whileAlive<T>(batch: Batch, work: Promise<T>): Promise<T> {
    const timer = setInterval(() => void batch.heartbeat().catch(() => undefined), HEARTBEAT_MS);
    try {
      return await work;
    } finally {
      clearInterval(timer);
    }
  }
}

/** The key of a failed commit among the checkpoint problems (partition names contain a slash, this one not). */
const COMMIT = 'commit';

function decodeAll(
  messages: readonly Message[],
  limits: RecordLimits | undefined,
): {
  events: Envelope[];
  poison: Array<{ message: Message; errors: RecordError[] }>;
} {
  const events: Envelope[] = [];
  const poison: Array<{ message: Message; errors: RecordError[] }> = [];
  for (const message of messages) {
    const decoded = decodeEvent(message.value, message.timestamp, limits);
    if (decoded.ok) events.push(decoded.event);
    else poison.push({ message, errors: decoded.errors });
  }
  return { events, poison };
}

function alertRecord(alert: Alert): OutboundRecord {
  return {
    stream: 'alerts',
    key: `${alert.agentId}:${alert.sessionId}`,
    token: alert.agentId,
    id: alert.alertId,
    value: Buffer.from(JSON.stringify(alert)),
    headers: { 'edr-alert-id': alert.alertId, 'edr-rule-id': alert.ruleId, 'edr-severity': alert.severity },
  };
}

function deadLetterRecord(message: Message, errors: readonly RecordError[]): OutboundRecord {
  return {
    stream: 'dlq',
    key: message.key ?? message.partition,
    token: 'processor',
    value: message.value,
    headers: {
      ...message.headers,
      [DLQ_HEADERS.error]: JSON.stringify(errors.slice(0, 10)),
      [DLQ_HEADERS.partition]: message.partition,
      [DLQ_HEADERS.offset]: message.offset,
    },
  };
}
