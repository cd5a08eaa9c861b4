import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { metricsAccessHook } from '../core/api-keys.ts';
import type { Clock } from '../core/clock.ts';
import { EdrError } from '../core/errors.ts';
import type {
  Alert,
  EngineInputPaths,
  EngineLimits,
  Envelope,
  RecordError,
  RecordLimits,
} from '../engine/index.ts';
import type { DeliveryBatch, SinkRouter } from '../sinks/index.ts';
import type { Redactor } from '../transforms/index.ts';
import type {
  Batch,
  CheckpointStore,
  Consumer,
  EndOffsetsReader,
  Message,
  OutboundRecord,
  PartitionLag,
  PartitionPositions,
  Producer,
  StreamName,
  Transport,
} from '../transport/index.ts';
import type { ProcessorSettings } from './config.ts';
import { decodeEvent } from './decode.ts';
import { InFlight } from './in-flight.ts';
import { createProcessorMetrics, type ProcessorMetrics } from './metrics.ts';
import { type PartitionEngine, PartitionEngines } from './partition-engines.ts';
import { Reloader } from './reloader.ts';
import { ProcessorReports } from './reports.ts';

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
  /**
   * Kafka's end offsets, or the NATS durable's pending counts, read on a timer, so lag grows while
   * consumption is paused or stuck.
   */
  endOffsets?: EndOffsetsReader;
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
 * How long a due checkpoint holds new batches back, at least, while the batches in flight become final: twice
 * the time a batch usually takes, not less than this, and not more than the checkpoint interval. Past it (a
 * stalled or failing sink) the checkpoint is put off to the next interval and the pipeline goes on.
 */
const CHECKPOINT_ALIGN_MS = 1_000;

/** How often the broker's end offsets are read for the lag metric and /readyz. */
const LAG_REFRESH_MS = 2_000;

/**
 * Backoff between redeliveries of a handed-on batch to a route whose delivery rejected (its dead letters
 * unwritable), or of its alerts to the alerts stream.
 */
const REDELIVERY_DELAY_MS = { initial: 500, max: 30_000 } as const;
/** The `sink` label of the alerts stream among a handed-on batch's destinations (no route has this name). */
const ALERTS_DESTINATION = 'alerts stream';

/**
 * consume → engine → alerts to the `alerts` stream → sinks → checkpoint → commit.
 * A position is committed only after its batch was final on every sink and the state that includes it was
 * saved. On Kafka and NATS (deferred commits: offsets, or JetStream acks in order) the alerts stream and the
 * sinks run behind the engine: a batch's handler returns once its alerts are handed to the producer and its
 * items to every route (`router.dispatch`), so the next batch is decoded and evaluated while this one is
 * published and written, each destination on its own. Every `checkpointIntervalMs` the processor waits (up
 * to CHECKPOINT_ALIGN_MS) until the batches in flight are final, then saves the state and commits: both end
 * at the watermark, the position below which every record is final everywhere.
 * A consumer whose broker would soon stop delivering for want of a commit (`commitWanted`: NATS holds half of
 * max_ack_pending unacknowledged) gets its checkpoint before the interval is up.
 * Elsewhere (memory, or without checkpoints) each batch is final and checkpointed before its handler returns.
 * A crash before the commit makes those batches come again from the saved state (at least once): alert ids
 * are deterministic, so the repeat produces no new alert where the destination deduplicates by id.
 * A batch that fails after the engine ran it and before it was handed on (in memory alerts not published,
 * sinks or dead letters not written, its checkpoint not saved) is rolled back out of the partition's engine
 * before it comes again, so its redelivery raises the alerts it would have raised the first time. A
 * destination whose delivery of a handed-on batch rejects (a route, or the alerts stream) gets it again, with
 * backoff, until it is final.
 */
export class Processor {
  readonly #settings: ProcessorSettings;
  readonly #deps: ProcessorDeps;
  readonly #producer: Producer;
  /** The events consumer, then (where the transport partitions by key) the repartition consumer. */
  readonly #consumers: ReadonlyArray<{ stream: StreamName; group: string; consumer: Consumer }>;
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
  /** Pipelined: batches handed to the sinks and not yet final on all of them. */
  readonly #inFlight: InFlight;
  #lagTimer: NodeJS.Timeout | undefined;
  /** The last end offsets read from the broker, per consumed stream. */
  readonly #positions = new Map<StreamName, PartitionPositions[]>();
  /** Rule counts and webhook outcomes for the console stores; undefined when no sink stores them. */
  readonly #reports: ProcessorReports | undefined;
  #reportTimer: NodeJS.Timeout | undefined;

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
    this.#inFlight = new InFlight(deps.clock);
    if (deps.router.takesReports()) {
      this.#reports = new ProcessorReports(deps.clock);
      deps.router.onOutcome(this.#reports.outcome);
    }
    this.#engines = new PartitionEngines({
      inputs: () => this.#reloader.current,
      clock: deps.clock,
      limits: deps.limits,
      checkpoints: this.#durable ? deps.checkpoints : undefined,
      group: settings.group,
      decode: (messages) => decodeAll(messages, deps.recordLimits).events,
      onRestore: (partition, outcome) => {
        this.#metrics.restoreSeconds.observe(outcome.seconds);
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
      group,
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
      lag: () => this.#lag(),
      inFlight: this.#inFlight,
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
      const lag = this.#lag();
      return reply.code(ready ? 200 : 503).send({
        ready,
        broker,
        sinks: sinks.routes,
        checkpoints,
        lag: { total: lag.reduce((sum, { lag }) => sum + lag, 0), partitions: lag },
        inFlight: {
          records: this.#inFlight.records,
          batches: this.#inFlight.batches,
          oldestMs: this.#inFlight.oldestMs(),
        },
        rules: this.#reloader.stats(),
      });
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
    if (this.#deps.endOffsets) {
      this.#lagTimer = setInterval(() => void this.#refreshPositions(), LAG_REFRESH_MS);
      this.#lagTimer.unref();
      void this.#refreshPositions();
    }
    if (this.#reports) {
      this.#reportTimer = setInterval(() => void this.#report(), this.#settings.reportIntervalMs);
      this.#reportTimer.unref();
    }
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
    clearInterval(this.#lagTimer);
    clearInterval(this.#reportTimer);
    for (const { consumer } of this.#consumers) consumer.pause();
    // A batch waiting out a sink outage fails now (rolled back, delivered again after the restart).
    this.#deps.router.interruptRetries();
    // The batch in hand records its positions a little after its handler returns: wait for that, or the
    // final commit below would leave it out and it would be delivered again.
    await Promise.all(this.#consumers.map(({ consumer }) => consumer.settled()));
    if (this.#durable) {
      await this.#serially(() => this.#finalCheckpoint()).catch((error: unknown) =>
        this.#deps.log.error(
          { err: error },
          'final checkpoint failed: batches since the last one will be delivered again',
        ),
      );
    }
    await Promise.all(this.#consumers.map(({ consumer }) => consumer.close()));
    // What the sinks finalized by now goes out before the router (and the sinks it writes to) closes.
    await this.#report();
    await this.#deps.router.close();
    await this.#producer.close();
    await this.#deps.checkpoints?.close();
    await this.#deps.endOffsets?.close();
    await this.#deps.transport.close();
    await this.#http.close();
  }

  /**
   * Writes the rule counts and webhook outcomes since the last report. Never rejects: the router keeps what a
   * sink could not take, and while a partition engine fails to open (its restore) the counts wait for the next.
   */
  async #report(): Promise<void> {
    if (!this.#reports) return;
    try {
      await this.#deps.router.report(this.#reports.take(await this.#engines.all()));
    } catch (error) {
      this.#deps.log.warn({ err: error }, 'report put off: a partition engine did not open');
    }
  }

  /** Applies changed rule/intel/asset files now (what SIGHUP does). */
  reload(): Promise<boolean> {
    return this.#reloader.reload('request');
  }

  /** `rekey`: the batch is from the events stream, where records not keyed by their agent are re-keyed. */
  async #handle(batch: Batch, rekey: boolean): Promise<void> {
    let partition: PartitionEngine | undefined;
    try {
      await this.#whileAlive(batch, this.#waitForRoom());
      partition = await this.#engines.forPartition(batch.partition);
      const decoded = await this.#decode(batch);
      const { messages, events } = rekey ? await this.#whileAlive(batch, this.#rekey(decoded)) : decoded;
      const alerts = this.#evaluate(partition, messages, events);
      // Detect first, redact after: the alerts stream and the sinks get no secret in clear.
      const delivery = this.#deps.redactor.redact({ events, alerts }, this.#reloader.current.rules);
      const alertRecords = delivery.alerts.map(alertRecord);
      if (this.#pipelined) await this.#handOn(partition, batch, delivery, alertRecords);
      else {
        if (alertRecords.length > 0) await this.#producer.publish(alertRecords);
        await this.#whileAlive(batch, this.#deps.router.deliver(delivery));
        await this.#whileAlive(batch, this.#afterDelivery(partition));
      }
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
    if (this.#pipelined) await this.#whileAlive(batch, this.#checkpointIfDue()).catch(() => undefined);
  }

  /**
   * Pipelined: the batch stays in the state (and the rollback journal) and goes to the sinks behind the engine.
   * Its position is recorded by the transport when this handler returns, but committed only with a
   * checkpoint, which waits until the batch is final on every route. Past the rollback journal's bound the
   * checkpoint is taken here, once every batch in flight, this one included, is final, however long a stalled
   * sink takes; this batch is saved last, so a failed save leaves it in hand to be rolled back and come again.
   */
  async #handOn(
    partition: PartitionEngine,
    batch: Batch,
    delivery: DeliveryBatch,
    alertRecords: readonly OutboundRecord[],
  ): Promise<void> {
    const current = partition.current; // false: assigned elsewhere meanwhile, the new owner resumes
    const bounded = current && this.#journalBytes() >= this.#settings.rollbackJournalBytes;
    if (current) {
      if (!bounded) partition.keep();
      this.#dirty.set(partition.partition, partition);
    }
    const { routes } = this.#deps.router.dispatch(delivery);
    const deliveries = routes.map(({ name, done }) =>
      this.#untilFinal(
        name,
        done,
        () => this.#deps.router.dispatch(delivery, { only: [name] }).routes[0]!.done,
      ),
    );
    if (alertRecords.length > 0) {
      const publish = () => this.#producer.publish(alertRecords);
      deliveries.push(this.#untilFinal(ALERTS_DESTINATION, publish(), publish));
    }
    const finalized = Promise.all(deliveries).then(() => true);
    const next = Number(batch.messages.at(-1)!.offset) + 1;
    this.#inFlight.add(batch.partition, batch.messages.length, next, finalized);
    if (!bounded) return;
    if (!(await this.#whileAlive(batch, this.#inFlight.drained()))) {
      throw new EdrError('EDR_ERR_SINK_RETRYABLE', 'stopping before the batches in flight were final');
    }
    await this.#whileAlive(batch, this.#checkpointDirty(partition));
  }

  /**
   * Waits for one destination (a route, or the alerts stream) to finalize its part of a handed-on batch. A
   * rejection (a route's dead letters could not be written, the broker refused the alerts) makes `again`
   * send it there once more, with backoff, while the processor runs; when stopping, the batch stays
   * unfinished, uncommitted, and comes again after the restart.
   */
  async #untilFinal(name: string, first: Promise<unknown>, again: () => Promise<unknown>): Promise<void> {
    let done = first;
    for (let failures = 0; ; failures++) {
      try {
        await done;
        return;
      } catch (error) {
        if (!this.#consuming) throw error;
        this.#metrics.redeliveries.inc({ sink: name });
        this.#deps.log.error({ err: error, sink: name }, 'delivery failed; the batch is sent there again');
        const delay = Math.min(REDELIVERY_DELAY_MS.max, REDELIVERY_DELAY_MS.initial * 2 ** failures);
        await new Promise((resolve) => setTimeout(resolve, delay));
        if (!this.#consuming) throw error;
        done = again();
      }
    }
  }

  /** The batch was delivered: its state is saved before its position can be committed. */
  async #afterDelivery(partition: PartitionEngine): Promise<void> {
    if (!partition.current) return; // assigned elsewhere meanwhile: the new owner resumes from the checkpoint
    if (this.#durable) {
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
    const due = this.#deps.clock() - this.#lastCheckpoint >= this.#settings.checkpointIntervalMs;
    if (due || this.#consumers.some(({ consumer }) => consumer.commitWanted)) {
      const typical = 2 * this.#inFlight.typicalMs;
      await this.#checkpointAligned(
        Math.min(this.#settings.checkpointIntervalMs, Math.max(CHECKPOINT_ALIGN_MS, typical)),
      );
    }
  }

  /**
   * Pipelined: checkpoints and commits once every batch in flight is final, so the saved state and the committed
   * positions end at the watermark. Runs with no batch being evaluated (serially), so none is added meanwhile.
   * When they are not final within `alignMs`, or already older than that (a stalled sink), it is put off to
   * the next interval: the pipeline goes on and the committed positions stay where they were.
   */
  async #checkpointAligned(alignMs: number): Promise<void> {
    const stalled = this.#inFlight.oldestMs() >= alignMs;
    if (stalled || !(await this.#inFlight.drained(alignMs))) {
      this.#lastCheckpoint = this.#deps.clock();
      this.#metrics.checkpointsDeferred.inc();
      return;
    }
    await this.#checkpointDirty();
  }

  /** On stop: only a state whose batches all became final may be saved and committed. */
  async #finalCheckpoint(): Promise<void> {
    if (await this.#inFlight.drained()) {
      await this.#checkpointDirty();
      return;
    }
    this.#deps.log.warn(
      { records: this.#inFlight.records },
      'batches in flight did not become final: not checkpointed, they will be delivered again',
    );
  }

  /**
   * Saves the state of every partition changed since the last checkpoint, all at once (each partition's
   * changelog is its own), `last` after the others; then commits their positions: a restart resumes exactly
   * where the saved state ends (events it already holds are dropped as duplicates). A failed save stops
   * before the commit and rejects; a failed commit leaves the positions for the next one. Either is logged,
   * counted and shown by /readyz until a checkpoint succeeds.
   */
  async #checkpointDirty(last?: PartitionEngine): Promise<void> {
    const save = async (partition: PartitionEngine) => {
      if (partition.current) await this.#checkpoint(partition);
      this.#dirty.delete(partition.partition);
    };
    const others = [...this.#dirty.values()].filter((partition) => partition !== last);
    const saved = await Promise.allSettled(others.map(save));
    const failed = saved.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    if (last) await save(last);
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
      this.#metrics.checkpointWrittenBytes.inc(partition.lastWritten.bytes);
      this.#metrics.checkpointEntries.inc(partition.lastWritten.entries);
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
   * A record keyed other than by its agentId (no key, another producer's, the `agentId:sessionId` of
   * an earlier version) sits in a partition that need not hold the rest of its agent: it is re-keyed into
   * the repartition topic, whose partitions are read like the events ones, so all of an agent's events meet
   * in one engine (its sessions whole, its baselines one). Resolves with the records that stay, once the
   * repartition topic acknowledged the others: only then may their events offsets be committed.
   */
  async #rekey(decoded: DecodedBatch): Promise<DecodedBatch> {
    const { messages, events } = decoded;
    if (events.every((event, index) => messages[index]!.key === event.agentId)) return decoded;
    const kept: DecodedBatch = { messages: [], events: [] };
    const rekeyed: OutboundRecord[] = [];
    let missingKey = 0;
    for (const [index, event] of events.entries()) {
      const message = messages[index]!;
      if (message.key === event.agentId) {
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
    this.#inFlight.retain(partitions);
    for (const partition of this.#dirty.keys()) if (!partitions.has(partition)) this.#dirty.delete(partition);
    for (const partition of this.#checkpointProblems.keys())
      if (partition !== COMMIT && !partitions.has(partition)) this.#checkpointProblems.delete(partition);
  }

  /** Every consumer is made with the same deferCommits, so they agree. */
  get #defersCommits(): boolean {
    return this.#consumers[0]!.consumer.defersCommits;
  }

  /** Sinks run behind the engine where positions wait for an explicit commit (Kafka, NATS with checkpoints). */
  get #pipelined(): boolean {
    return this.#defersCommits;
  }

  /**
   * Records behind the end of each assigned partition, counted from the watermark (the position below which
   * every record is final on every sink). On Kafka the end comes from the broker every LAG_REFRESH_MS and the
   * watermark is this process's, or the group's committed offset before its first final batch; on NATS the
   * broker's count of what the durable has not acknowledged, read as often (stream sequences do not count
   * one logical stream's records); in memory the transport's lag after the last fetch, plus what this process
   * fetched and has not finalized.
   */
  #lag(): PartitionLag[] {
    const unfinished = this.#inFlight.recordsByPartition();
    return this.#consumers.flatMap(({ stream, consumer }) => {
      const positions = this.#positions.get(stream);
      if (!positions) {
        return consumer
          .lag()
          .map(({ partition, lag }) => ({ partition, lag: lag + (unfinished.get(partition) ?? 0) }));
      }
      const assigned = new Set(this.#assigned.get(stream) ?? []);
      return positions
        .filter(({ partition }) => assigned.has(partition))
        .map(({ partition, end, committed, unacknowledged }) => {
          if (unacknowledged !== undefined) return { partition, lag: unacknowledged };
          const from = Math.max(this.#inFlight.watermark(partition) ?? 0, committed ?? 0);
          return { partition, lag: Math.max(0, end - from) };
        });
    });
  }

  /** Reads the broker's end offsets; a failure keeps the last ones (the broker check in /readyz tells). */
  async #refreshPositions(): Promise<void> {
    const reader = this.#deps.endOffsets;
    if (!reader) return;
    await Promise.all(
      this.#consumers.map(async ({ stream, group }) => {
        try {
          this.#positions.set(stream, await reader.positions(stream, group));
        } catch (error) {
          this.#deps.log.debug({ err: error, stream }, 'end offsets not read; lag stays as last read');
        }
      }),
    );
  }

  #evaluate(partition: PartitionEngine, messages: readonly Message[], events: readonly Envelope[]): Alert[] {
    const stopTimer = this.#metrics.evaluationSeconds.startTimer();
    const alerts = partition.evaluate(messages, events);
    stopTimer();
    this.#metrics.events.inc(events.length);
    for (const alert of alerts) this.#metrics.alerts.inc({ rule: alert.ruleId, severity: alert.severity });
    return alerts;
  }

  /**
   * Backpressure: while a blocking sink holds too much, or too many records are in flight, stop fetching
   * instead of buffering without bound.
   */
  async #waitForRoom(): Promise<void> {
    const router = this.#deps.router;
    const limit = this.#settings.maxInFlightRecords;
    const full = () => router.saturated() || this.#inFlight.records >= limit;
    if (!full()) return;
    for (const { consumer } of this.#consumers) consumer.pause();
    this.#metrics.paused.set(1);
    this.#deps.log.warn(
      { pending: router.pendingItems(), inFlightRecords: this.#inFlight.records },
      'sinks saturated or in-flight bound reached; consumption paused',
    );
    try {
      while (full()) {
        if (router.saturated()) await router.whenUnsaturated();
        else await this.#inFlight.below(limit);
      }
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

/** The original bytes, headers and broker time under the agent's key: decoded there as it would be here. */
function repartitionRecord(message: Message, event: Envelope): OutboundRecord {
  return {
    stream: 'repartition',
    key: event.agentId,
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
    // Keyed as the events are (collector/ingest/routing.ts): an agent's alerts share a partition (in order,
    // but for a batch whose publish was refused and sent again after later ones).
    key: alert.agentId,
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
