import type { Clock } from '../core/clock.ts';
import { EdrError } from '../core/errors.ts';
import {
  type Alert,
  createEngine,
  type DetectionEngine,
  type EngineInputs,
  type EngineLimits,
  type Envelope,
} from '../engine/index.ts';
import type { CheckpointStore, Message } from '../transport/index.ts';
import { decodeSnapshot, encodeSnapshot } from './checkpoint-codec.ts';

export interface PartitionEnginesOptions {
  inputs: () => EngineInputs;
  clock: Clock;
  limits?: Partial<EngineLimits>;
  /** Where each partition's state is saved; without one, state lives only in this process. */
  checkpoints?: CheckpointStore;
  /** Prefix of checkpoint keys, so groups reading the same topic keep separate state. */
  group: string;
  /** The events of a batch as the processor decodes them, poison records left out; replays use it. */
  decode: (messages: readonly Message[]) => Envelope[];
  onRestore?: (partition: string, outcome: RestoreOutcome) => void;
}

export type RestoreOutcome =
  | { restored: true; statesDropped: number }
  | { restored: false; reason: 'no checkpoint' | 'unreadable checkpoint'; error?: string };

/** What changed a partition's engine since its base, in order. */
type JournalEntry =
  | { kind: 'batch'; messages: readonly Message[]; at: number }
  | { kind: 'reload'; update: Partial<EngineInputs> };

interface Base {
  /** The last checkpoint's bytes; undefined for the empty state. */
  bytes: Uint8Array | undefined;
  /** The rules, intel and assets the engine ran under when the base was taken. */
  inputs: EngineInputs;
}

/**
 * One partition's engine, and what it takes to put the engine back as it was before a batch that failed: the
 * last checkpoint (the base) and every batch kept and reload applied since (the journal). Keeping a batch
 * costs a reference to its messages; a rollback restores the base and runs the journal again, clock pinned to
 * when each batch first ran, alerts discarded (they were delivered then). Checkpoints move the base forward.
 */
export class PartitionEngine {
  readonly partition: string;
  readonly #options: PartitionEnginesOptions;
  readonly #key: string;
  #engine: DetectionEngine;
  #inputs: EngineInputs;
  #base: Base;
  #journal: JournalEntry[] = [];
  #journalBytes = 0;
  /** A batch the engine ran that is neither kept nor rolled back yet. */
  #pending: { messages: readonly Message[]; at: number } | undefined;
  #retired = false;

  constructor(partition: string, options: PartitionEnginesOptions, engine: DetectionEngine, base: Base) {
    this.partition = partition;
    this.#options = options;
    this.#key = `${options.group}/${partition}`;
    this.#engine = engine;
    this.#inputs = base.inputs;
    this.#base = base;
  }

  get engine(): DetectionEngine {
    return this.#engine;
  }

  /** Bytes of the records kept since the base: what a rollback would run again. */
  get journalBytes(): number {
    return this.#journalBytes;
  }

  /** False once the partition was assigned elsewhere: nothing this handle does counts any more. */
  get current(): boolean {
    return !this.#retired;
  }

  /** Runs a batch; its effect on the state lasts once kept or checkpointed, and rollback() undoes it. */
  evaluate(messages: readonly Message[], events: readonly Envelope[]): Alert[] {
    this.#pending ??= { messages, at: this.#options.clock() };
    return this.#engine.processBatch(events);
  }

  /** The batch in hand was delivered: it stays in the state (and in the journal until the next checkpoint). */
  keep(): void {
    if (!this.#pending) return;
    this.#journal.push({ kind: 'batch', ...this.#pending });
    for (const message of this.#pending.messages) this.#journalBytes += message.value.byteLength;
    this.#pending = undefined;
  }

  /** Puts the engine back as it was before the batch in hand, as if that batch never came; false if untouched. */
  async rollback(): Promise<boolean> {
    if (!this.#pending) return false;
    this.#pending = undefined;
    this.#engine = await this.#rebuild();
    return true;
  }

  reload(update: Partial<EngineInputs>): void {
    this.#engine.reload(update);
    this.#inputs = { ...this.#inputs, ...update };
    this.#journal.push({ kind: 'reload', update });
  }

  /**
   * Takes the state (the batch in hand included) as the new base and saves it to the store, if any; resolves
   * with its size. On failure nothing moves: the base, the journal and the batch in hand stay as they were.
   */
  async checkpoint(): Promise<number> {
    const bytes = await encodeSnapshot(this.#engine.snapshot());
    await this.#options.checkpoints?.save(this.#key, bytes);
    this.#base = { bytes, inputs: this.#inputs };
    this.#journal = [];
    this.#journalBytes = 0;
    this.#pending = undefined;
    return bytes.byteLength;
  }

  retire(): void {
    this.#retired = true;
  }

  async #rebuild(): Promise<DetectionEngine> {
    let pinned: number | undefined;
    const engine = newEngine(this.#options, this.#base.inputs, () => pinned ?? this.#options.clock());
    if (this.#base.bytes) engine.restore(await decodeSnapshot(this.#base.bytes));
    for (const entry of this.#journal) {
      if (entry.kind === 'reload') {
        engine.reload(entry.update);
        continue;
      }
      // The clock as the batch first saw it (or earlier): a replay never moves time further than the original.
      pinned = entry.at;
      engine.processBatch(this.#options.decode(entry.messages));
    }
    pinned = undefined;
    return engine;
  }
}

/**
 * One detection engine per assigned partition. Kafka keys records by agentId:sessionId, so a session's events
 * all reach one partition and its state can move with the partition: it is checkpointed and restored by
 * whichever processor is assigned the partition next.
 */
export class PartitionEngines {
  readonly #options: PartitionEnginesOptions;
  readonly #engines = new Map<string, Promise<PartitionEngine>>();

  constructor(options: PartitionEnginesOptions) {
    this.#options = options;
  }

  /** The engine of a partition, restored from its checkpoint on first use. */
  forPartition(partition: string): Promise<PartitionEngine> {
    let engine = this.#engines.get(partition);
    if (!engine) {
      engine = this.#open(partition);
      engine.catch(() => this.#engines.delete(partition));
      this.#engines.set(partition, engine);
    }
    return engine;
  }

  /** Forgets partitions this member no longer owns; their last checkpoint lets the new owner carry on. */
  retain(partitions: readonly string[]): void {
    const kept = new Set(partitions);
    for (const [partition, engine] of this.#engines) {
      if (kept.has(partition)) continue;
      this.#engines.delete(partition);
      void engine.then(
        (handle) => handle.retire(),
        () => undefined,
      );
    }
  }

  /** Forgets one partition's engine: its next batch reopens it from the saved checkpoint. */
  drop(partition: string): void {
    this.retain([...this.#engines.keys()].filter((name) => name !== partition));
  }

  /** Applies new rules, intel or assets to every engine; state is kept. */
  async reload(update: Partial<EngineInputs>): Promise<void> {
    for (const engine of this.#engines.values()) (await engine).reload(update);
  }

  async all(): Promise<PartitionEngine[]> {
    return Promise.all(this.#engines.values());
  }

  async #open(partition: string): Promise<PartitionEngine> {
    const inputs = this.#options.inputs();
    const engine = newEngine(this.#options, inputs, this.#options.clock);
    let saved: Uint8Array | undefined;
    let outcome: RestoreOutcome;
    try {
      saved = await this.#options.checkpoints?.load(`${this.#options.group}/${partition}`);
      outcome = saved ? await restoreFrom(engine, saved) : { restored: false, reason: 'no checkpoint' };
    } catch (error) {
      // An outage is retried with the batch; a checkpoint the store itself cannot put together is unreadable.
      if (!(error instanceof EdrError) || error.retriable) throw error;
      outcome = { restored: false, reason: 'unreadable checkpoint', error: error.message };
    }
    this.#options.onRestore?.(partition, outcome);
    return new PartitionEngine(partition, this.#options, engine, {
      bytes: outcome.restored ? saved : undefined,
      inputs,
    });
  }
}

function newEngine(options: PartitionEnginesOptions, inputs: EngineInputs, clock: Clock): DetectionEngine {
  const { rules, intel, assets } = inputs;
  return createEngine({ rules, intel, assets, clock, limits: options.limits });
}

/**
 * A checkpoint that cannot be read (corrupt, or written by an incompatible version) must not stall the
 * partition forever: the engine starts empty instead, and the caller logs and counts it.
 */
async function restoreFrom(engine: DetectionEngine, saved: Uint8Array): Promise<RestoreOutcome> {
  try {
    const { statesDropped } = engine.restore(await decodeSnapshot(saved));
    return { restored: true, statesDropped };
  } catch (error) {
    return { restored: false, reason: 'unreadable checkpoint', error: (error as Error).message };
  }
}
