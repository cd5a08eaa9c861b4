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
  StreamName,
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

/** Header on a re-keyed record: the events record it copies, `<topic/partition>@<offset>`. */
export const REPARTITION_SOURCE_HEADER = 'edr-repartition-source';

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
  /** The events consumer, then (where the transport partitions by key) the repartition consumer. */
  readonly #consumers: ReadonlyArray<{ stream: StreamName; consumer: Consumer }>;
  /** Partitions assigned per consumed stream; engines are kept for their union. */
  readonly #assigned = new Map<StreamName, readonly string[]>();
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
    // Kafka Streams' repartition: its own group, since a kafkajs group assigns every member every topic.
    const streams: Array<{ stream: StreamName; group: string; fromBeginning: boolean }> = [
      { stream: 'events', group: settings.group, fromBeginning: settings.fromBeginning },
    ];
    if (deps.transport.partitionedByKey) {
      // From the beginning even for a new group: it must not miss what it re-keyed before it first fetched.
      streams.push({ stream: 'repartition', group: `${settings.group}.repartition`, fromBeginning: true });
    }
    this.#consumers = streams.map(({ stream, group, fromBeginning }) => ({
      stream,
      consumer: deps.transport.createConsumer({
        stream,
        group,
        maxBatchSize: settings.maxBatchSize,
        fromBeginning,
        deferCommits: this.#durable,
        onAssignment: (partitions) => {
          deps.log.info({ stream, partitions }, 'partitions assigned');
          this.#assigned.set(stream, partitions);
          this.#retainAssigned();
        },
      }),
    }));
    const { registry, metrics } = createProcessorMetrics({
      lag: () => this.#consumers.flatMap(({ consumer }) => consumer.lag()),
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
    // Repartition first: records the events consumer re-keys find their reader in place.
    const rekeys = this.#consumers.length > 1;
    for (const { stream, consumer } of [...this.#consumers].reverse()) {
      const rekey = rekeys && stream === 'events';
      await consumer.start((batch) => this.#serially(() => this.#handle(batch, rekey)));
    }
    this.#consuming = true;
    if (this.#defersCommits) {
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
    for (const { consumer } of this.#consumers) consumer.pause();
    // A batch waiting out a sink outage fails now (rolled back, delivered again after the restart).
    this.#deps.router.interruptRetries();
    // The batch in hand records its positions a little after its handler returns: wait for that, or the
    // final commit below would leave it out and it would be delivered again.
    await Promise.all(this.#consumers.map(({ consumer }) => consumer.settled()));
    if (this.#durable) {
      await this.#serially(() => this.#checkpointDirty()).catch((error: unknown) =>
        this.#deps.log.error(
          { err: error },
          'final checkpoint failed: batches since the last one will be delivered again',
        ),
      );
    }
    await Promise.all(this.#consumers.map(({ consumer }) => consumer.close()));
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

  /** `rekey`: the batch is from the events stream, where records not keyed by their session are re-keyed. */
  async #handle(batch: Batch, rekey: boolean): Promise<void> {
    let partition: PartitionEngine | undefined;
    try {
      await this.#whileAlive(batch, this.#waitForSinks());
      partition = await this.#engines.forPartition(batch.partition);
      const decoded = await this.#decode(batch);
      const { messages, events } = rekey ? await this.#whileAlive(batch, this.#rekey(decoded)) : decoded;
      const alerts = this.#evaluate(partition, messages, events);
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
    if (this.#durable && !this.#defersCommits) {
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
    if (this.#defersCommits) await this.#checkpointIfDue().catch(() => undefined);
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
      // After every save: a re-keyed record's events offset is among these, acknowledged by the
      // repartition topic before its batch returned.
      for (const { consumer } of this.#consumers) await consumer.commit();
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
  async #decode(batch: Batch): Promise<DecodedBatch> {
    const { messages, events, poison } = decodeAll(batch.messages, this.#deps.recordLimits);
    if (poison.length > 0) {
      await this.#producer.publish(poison.map(({ message, errors }) => deadLetterRecord(message, errors)));
      for (const { message, errors } of poison) message.term(errors[0]?.message);
      this.#metrics.deadLettered.inc(poison.length);
      this.#deps.log.warn(
        { partition: batch.partition, count: poison.length },
        'poison records dead-lettered',
      );
    }
    return { messages, events };
  }

  /**
   * A record keyed other than `agentId:sessionId` (no key, another producer's) sits in a partition that need
   * not hold the rest of its session: it is re-keyed into the repartition topic, whose partitions are read
   * like the events ones, so the whole session meets in one engine. Resolves with the records that stay, once
   * the repartition topic acknowledged the others: only then may their events offsets be committed.
   */
  async #rekey(decoded: DecodedBatch): Promise<DecodedBatch> {
    const { messages, events } = decoded;
    if (events.every((event, index) => hasSessionKey(messages[index]!, event))) return decoded;
    const kept: DecodedBatch = { messages: [], events: [] };
    const rekeyed: OutboundRecord[] = [];
    let missingKey = 0;
    for (const [index, event] of events.entries()) {
      const message = messages[index]!;
      if (hasSessionKey(message, event)) {
        kept.messages.push(message);
        kept.events.push(event);
        continue;
      }
      if (!message.key) missingKey++;
      rekeyed.push(repartitionRecord(message, event));
    }
    await this.#producer.publish(rekeyed);
    this.#metrics.rekeyed.inc({ reason: 'missing_key' }, missingKey);
    this.#metrics.rekeyed.inc({ reason: 'other_key' }, rekeyed.length - missingKey);
    return kept;
  }

  /** Engines are kept for the partitions some consumer holds; the rest move to their new owners. */
  #retainAssigned(): void {
    const partitions = new Set([...this.#assigned.values()].flat());
    this.#engines.retain([...partitions]);
    for (const partition of this.#dirty.keys()) if (!partitions.has(partition)) this.#dirty.delete(partition);
    for (const partition of this.#checkpointProblems.keys())
      if (partition !== COMMIT && !partitions.has(partition)) this.#checkpointProblems.delete(partition);
  }

  /** Every consumer is made with the same deferCommits, so they agree. */
  get #defersCommits(): boolean {
    return this.#consumers[0]!.consumer.defersCommits;
  }

  #evaluate(partition: PartitionEngine, messages: readonly Message[], events: readonly Envelope[]): Alert[] {
    const stopTimer = this.#metrics.evaluationSeconds.startTimer();
    const alerts = partition.evaluate(messages, events);
    stopTimer();
    this.#metrics.events.inc(events.length);
    for (const alert of alerts) this.#metrics.alerts.inc({ rule: alert.ruleId, severity: alert.severity });
    return alerts;
  }

  /** Backpressure: while sinks hold too much, stop fetching instead of buffering without bound. */
  async #waitForSinks(): Promise<void> {
    const router = this.#deps.router;
    if (!router.saturated()) return;
    for (const { consumer } of this.#consumers) consumer.pause();
    this.#metrics.paused.set(1);
    this.#deps.log.warn({ pending: router.pendingItems() }, 'sinks saturated; consumption paused');
    try {
      await router.whenUnsaturated();
    } finally {
      for (const { consumer } of this.#consumers) consumer.resume();
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

/** The events of a batch, each beside the message it came from. */
interface DecodedBatch {
  messages: Message[];
  events: Envelope[];
}

function decodeAll(
  batch: readonly Message[],
  limits: RecordLimits | undefined,
): DecodedBatch & { poison: Array<{ message: Message; errors: RecordError[] }> } {
  const messages: Message[] = [];
  const events: Envelope[] = [];
  const poison: Array<{ message: Message; errors: RecordError[] }> = [];
  for (const message of batch) {
    const decoded = decodeEvent(message.value, message.timestamp, limits);
    if (decoded.ok) {
      messages.push(message);
      events.push(decoded.event);
    } else poison.push({ message, errors: decoded.errors });
  }
  return { messages, events, poison };
}

/** The partition key the collector gives a session's records (and the processor its alerts). */
function sessionKey({ agentId, sessionId }: { agentId: string; sessionId: string }): string {
  return `${agentId}:${sessionId}`;
}

/** `message.key === sessionKey(event)` without building the string for every record of the fast path. */
function hasSessionKey({ key }: Message, { agentId, sessionId }: Envelope): boolean {
  return (
    key !== undefined &&
    key.length === agentId.length + 1 + sessionId.length &&
    key.charCodeAt(agentId.length) === COLON &&
    key.startsWith(agentId) &&
    key.endsWith(sessionId)
  );
}

const COLON = 0x3a;

/** The original bytes, headers and broker time under the session's key: decoded there as it would be here. */
function repartitionRecord(message: Message, event: Envelope): OutboundRecord {
  return {
    stream: 'repartition',
    key: sessionKey(event),
    token: event.agentId,
    id: event.eventId,
    value: message.value,
    headers: { ...message.headers, [REPARTITION_SOURCE_HEADER]: `${message.partition}@${message.offset}` },
    ...(message.timestamp > 0 ? { timestamp: message.timestamp } : {}),
  };
}

function alertRecord(alert: Alert): OutboundRecord {
  return {
    stream: 'alerts',
    key: sessionKey(alert),
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
