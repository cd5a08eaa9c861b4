import { gunzipSync, gzipSync } from 'node:zlib';
import type { Clock } from '../core/clock.ts';
import { createEngine, type DetectionEngine, type EngineInputs, type EngineLimits } from '../engine/index.ts';
import type { CheckpointStore } from '../transport/index.ts';

export interface PartitionEnginesOptions {
  inputs: () => EngineInputs;
  clock: Clock;
  limits?: Partial<EngineLimits>;
  /** Where each partition's state is saved; without one, state lives only in this process. */
  checkpoints?: CheckpointStore;
  /** Prefix of checkpoint keys, so groups reading the same topic keep separate state. */
  group: string;
  onRestore?: (partition: string, outcome: RestoreOutcome) => void;
}

export type RestoreOutcome =
  | { restored: true; statesDropped: number }
  | { restored: false; reason: 'no checkpoint' | 'unreadable checkpoint'; error?: string };

/**
 * One detection engine per assigned partition. Kafka keys records by agentId:sessionId, so a session's events
 * all reach one partition and its state can move with the partition: it is checkpointed after every batch
 * and restored by whichever processor is assigned the partition next.
 */
export class PartitionEngines {
  readonly #options: PartitionEnginesOptions;
  readonly #engines = new Map<string, Promise<DetectionEngine>>();

  constructor(options: PartitionEnginesOptions) {
    this.#options = options;
  }

  /** The engine of a partition, restored from its checkpoint on first use. */
  forPartition(partition: string): Promise<DetectionEngine> {
    let engine = this.#engines.get(partition);
    if (!engine) {
      engine = this.#open(partition);
      engine.catch(() => this.#engines.delete(partition));
      this.#engines.set(partition, engine);
    }
    return engine;
  }

  /** Saves a partition's state; called after its batch was delivered and before its position is committed. */
  async checkpoint(partition: string, engine: DetectionEngine): Promise<void> {
    const store = this.#options.checkpoints;
    if (!store) return;
    const snapshot = Buffer.from(JSON.stringify(engine.snapshot()));
    await store.save(this.#key(partition), gzipSync(snapshot));
  }

  /** Forgets partitions this member no longer owns; their last checkpoint lets the new owner carry on. */
  retain(partitions: readonly string[]): void {
    const kept = new Set(partitions);
    for (const partition of this.#engines.keys()) if (!kept.has(partition)) this.#engines.delete(partition);
  }

  /** Applies new rules, intel or assets to every engine; state is kept. */
  async reload(update: Partial<EngineInputs>): Promise<void> {
    for (const engine of this.#engines.values()) (await engine).reload(update);
  }

  async all(): Promise<Array<{ partition: string; engine: DetectionEngine }>> {
    return Promise.all(
      [...this.#engines].map(async ([partition, engine]) => ({ partition, engine: await engine })),
    );
  }

  async #open(partition: string): Promise<DetectionEngine> {
    const { rules, intel, assets } = this.#options.inputs();
    const engine = createEngine({
      rules,
      intel,
      assets,
      clock: this.#options.clock,
      limits: this.#options.limits,
    });
    const saved = await this.#options.checkpoints?.load(this.#key(partition));
    this.#options.onRestore?.(
      partition,
      saved ? restoreFrom(engine, saved) : { restored: false, reason: 'no checkpoint' },
    );
    return engine;
  }

  #key(partition: string): string {
    return `${this.#options.group}/${partition}`;
  }
}

/**
 * A checkpoint that cannot be read (corrupt, or written by an incompatible version) must not stall the
 * partition forever: the engine starts empty instead, and the caller logs and counts it.
 */
function restoreFrom(engine: DetectionEngine, saved: Uint8Array): RestoreOutcome {
  try {
    const { statesDropped } = engine.restore(JSON.parse(gunzipSync(saved).toString('utf8')));
    return { restored: true, statesDropped };
  } catch (error) {
    return { restored: false, reason: 'unreadable checkpoint', error: (error as Error).message };
  }
}
