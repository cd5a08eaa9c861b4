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
import { snapshotFromEntries } from '../engine/snapshot.ts';
import { type ChangelogOptions, PartitionChangelog } from '../transport/changelog.ts';
import type { CheckpointStore, Message } from '../transport/index.ts';
import { decodeSnapshot } from './checkpoint-codec.ts';

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
  /** How checkpoints chunk their redo logs and when they apply them (transport/changelog.ts). */
  changelog?: Partial<ChangelogOptions>;
  onRestore?: (partition: string, outcome: RestoreOutcome) => void;
}

export type RestoreOutcome = (
  | { restored: true; statesDropped: number; from: 'changelog' | 'whole-state checkpoint'; entries: number }
  | { restored: false; reason: 'no checkpoint' | 'unreadable checkpoint'; error?: string }
) & {
  /** Time to read and apply the checkpoint. */
  seconds: number;
};

export interface CheckpointWritten {
  /** Entries written or removed. */
  entries: number;
  /** Bytes written to the store (redo log, marker, entries). */
  bytes: number;
  /** Bytes of the partition's state as stored: every entry. */
  storedBytes: number;
}

/** Chunks of about a broker record (1 MiB by default) at most, well under it. */
const CHUNK_BYTES = 256 * 1024;
/**
 * Redo logs are applied to the entries once they hold this much, or this many checkpoints: an entry changed
 * at every checkpoint is then written once per apply instead of twice per checkpoint, and a restore reads at
 * most this much log beside the entries.
 */
const APPLY_BYTES = 8 * 1024 * 1024;
const MAX_LOGS = 32;

/** What changed a partition's engine since its base, in order. */
type JournalEntry =
  | { kind: 'batch'; messages: readonly Message[]; at: number }
  | { kind: 'reload'; update: Partial<EngineInputs> };

interface Base {
  /** JSON text of each state entry as the last checkpoint left it. */
  entries: Map<string, string>;
  /** JSON text of the engine's StateMeta then; undefined for the empty state. */
  meta: string | undefined;
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
  #engine: DetectionEngine;
  #inputs: EngineInputs;
  #base: Base;
  #journal: JournalEntry[] = [];
  #journalBytes = 0;
  /** A batch the engine ran that is neither kept nor rolled back yet. */
  #pending: { messages: readonly Message[]; at: number } | undefined;
  #retired = false;
  readonly #changelog: PartitionChangelog | undefined;
  /** Entries the engine reported changed since the base; a failed checkpoint leaves them here. */
  readonly #unsaved = new Set<string>();
  /** Entries whose stored value may differ from the base's (a failed checkpoint, a migration): written anyway. */
  readonly #doubtful: Set<string>;
  #storedBytes = 0;
  #lastWritten: CheckpointWritten = { entries: 0, bytes: 0, storedBytes: 0 };

  constructor(
    partition: string,
    options: PartitionEnginesOptions,
    engine: DetectionEngine,
    opened: { base: Base; changelog?: PartitionChangelog; doubtful?: Iterable<string> },
  ) {
    this.partition = partition;
    this.#options = options;
    this.#engine = engine;
    this.#inputs = opened.base.inputs;
    this.#base = opened.base;
    this.#changelog = opened.changelog;
    this.#doubtful = new Set(opened.doubtful);
    for (const name of this.#doubtful) this.#unsaved.add(name);
    for (const [name, text] of opened.base.entries) this.#storedBytes += entryBytes(name, text);
  }

  get engine(): DetectionEngine {
    return this.#engine;
  }

  /** What the last checkpoint saved wrote. */
  get lastWritten(): CheckpointWritten {
    return this.#lastWritten;
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
   * Takes the state (the batch in hand included) as the new base and saves what changed since the last one to
   * the store, if any; resolves with the bytes of the partition's state as stored. Work in proportion to the
   * entries changed. On failure nothing moves: the base, the journal and the batch in hand stay as they were,
   * and the next checkpoint writes these entries again.
   */
  async checkpoint(): Promise<number> {
    for (const name of this.#engine.drainChanges()) this.#unsaved.add(name);
    const changes: Array<[string, string | null]> = [];
    for (const name of this.#unsaved) {
      const value = this.#engine.entry(name);
      const text = value === undefined ? null : JSON.stringify(value);
      if (text === (this.#base.entries.get(name) ?? null) && !this.#doubtful.has(name)) continue;
      changes.push([name, text]);
    }
    const meta = JSON.stringify(this.#engine.stateMeta());
    let bytes = 0;
    try {
      if (this.#changelog) bytes = await this.#changelog.save({ meta, changes });
    } catch (error) {
      for (const [name] of changes) this.#doubtful.add(name);
      throw error;
    }
    const entries = this.#base.entries;
    for (const [name, text] of changes) {
      const before = entries.get(name);
      if (before !== undefined) this.#storedBytes -= entryBytes(name, before);
      if (text === null) entries.delete(name);
      else {
        entries.set(name, text);
        this.#storedBytes += entryBytes(name, text);
      }
    }
    this.#base = { entries, meta, inputs: this.#inputs };
    this.#unsaved.clear();
    this.#doubtful.clear();
    this.#journal = [];
    this.#journalBytes = 0;
    this.#pending = undefined;
    this.#lastWritten = { entries: changes.length, bytes, storedBytes: this.#storedBytes };
    return this.#storedBytes;
  }

  retire(): void {
    this.#retired = true;
  }

  async #rebuild(): Promise<DetectionEngine> {
    let pinned: number | undefined;
    const engine = newEngine(this.#options, this.#base.inputs, () => pinned ?? this.#options.clock());
    restoreBase(engine, this.#base);
    // What changed since the base is what the journal does again; the restore itself changed nothing.
    engine.drainChanges();
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
 * One detection engine per assigned partition. Kafka keys records by agentId, so an agent's events (its
 * sessions whole, its baselines) all reach one partition and its state can move with the partition: it is
 * checkpointed and restored by whichever processor is assigned the partition next.
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
    const key = `${this.#options.group}/${partition}`;
    const store = this.#options.checkpoints;
    const changelog =
      store &&
      new PartitionChangelog(store, key, {
        chunkBytes: CHUNK_BYTES,
        applyBytes: APPLY_BYTES,
        maxLogs: MAX_LOGS,
        ...this.#options.changelog,
      });
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    let opened: { base: Base; doubtful?: Iterable<string>; outcome: RestoreOutcome } | undefined;
    try {
      const state = await changelog?.load();
      if (state) opened = restoreChangelog(engine, inputs, state, seconds);
      else {
        // Before changelogs a checkpoint was the whole state under the key: read once, then written as entries.
        const saved = await store?.load(key);
        if (saved) opened = await restoreWholeState(engine, inputs, saved, seconds);
      }
    } catch (error) {
      // An outage is retried with the batch; a checkpoint the store itself cannot put together is unreadable.
      if (!(error instanceof EdrError) || error.retriable) throw error;
      opened = unreadable(inputs, error, seconds);
    }
    opened ??= {
      base: { entries: new Map(), meta: undefined, inputs },
      outcome: { restored: false, reason: 'no checkpoint', seconds: seconds() },
    };
    this.#options.onRestore?.(partition, opened.outcome);
    const restored = opened.outcome.restored;
    return new PartitionEngine(
      partition,
      this.#options,
      restored ? engine : newEngine(this.#options, inputs, this.#options.clock),
      {
        base: opened.base,
        changelog,
        doubtful: opened.doubtful,
      },
    );
  }
}

function newEngine(options: PartitionEnginesOptions, inputs: EngineInputs, clock: Clock): DetectionEngine {
  const { rules, intel, assets } = inputs;
  return createEngine({ rules, intel, assets, clock, limits: options.limits });
}

function restoreBase(engine: DetectionEngine, base: Base): { statesDropped: number } {
  if (base.meta === undefined) return { statesDropped: 0 };
  const entries = Array.from(base.entries, ([name, text]): [string, unknown] => [name, JSON.parse(text)]);
  return engine.restore(snapshotFromEntries(JSON.parse(base.meta), entries));
}

type Opened = { base: Base; doubtful?: Iterable<string>; outcome: RestoreOutcome };

/**
 * A checkpoint that cannot be read (corrupt, or written by an incompatible version) must not stall the
 * partition forever: the engine starts empty instead, and the caller logs and counts it.
 */
function unreadable(inputs: EngineInputs, error: unknown, seconds: () => number): Opened {
  return {
    base: { entries: new Map(), meta: undefined, inputs },
    outcome: {
      restored: false,
      reason: 'unreadable checkpoint',
      error: (error as Error).message,
      seconds: seconds(),
    },
  };
}

/**
 * The changelog's entries into the engine. Entries the engine does not take back (a rule gone or changed, or
 * tighter limits) are removed from the store with the next checkpoint.
 */
function restoreChangelog(
  engine: DetectionEngine,
  inputs: EngineInputs,
  state: { meta: string; entries: Map<string, string> },
  seconds: () => number,
): Opened {
  const base: Base = { entries: state.entries, meta: state.meta, inputs };
  let statesDropped: number;
  try {
    ({ statesDropped } = restoreBase(engine, base));
  } catch (error) {
    return unreadable(inputs, error, seconds);
  }
  engine.drainChanges();
  const doubtful: string[] = [];
  for (const name of state.entries.keys()) if (!engine.holds(name)) doubtful.push(name);
  for (const name of doubtful) state.entries.delete(name);
  return {
    base,
    doubtful,
    outcome: {
      restored: true,
      statesDropped,
      from: 'changelog',
      entries: state.entries.size,
      seconds: seconds(),
    },
  };
}

/** A whole-state checkpoint of an earlier version: its every entry is written with the next checkpoint. */
async function restoreWholeState(
  engine: DetectionEngine,
  inputs: EngineInputs,
  saved: Uint8Array,
  seconds: () => number,
): Promise<Opened> {
  let statesDropped: number;
  try {
    ({ statesDropped } = engine.restore(await decodeSnapshot(saved)));
  } catch (error) {
    return unreadable(inputs, error, seconds);
  }
  const entries = new Map<string, string>();
  for (const name of new Set(engine.drainChanges())) {
    const value = engine.entry(name);
    if (value !== undefined) entries.set(name, JSON.stringify(value));
  }
  return {
    base: { entries, meta: JSON.stringify(engine.stateMeta()), inputs },
    doubtful: entries.keys(),
    outcome: {
      restored: true,
      statesDropped,
      from: 'whole-state checkpoint',
      entries: entries.size,
      seconds: seconds(),
    },
  };
}

/** Stored bytes of one entry, about: its name and its JSON (ASCII mostly). */
function entryBytes(name: string, text: string): number {
  return name.length + text.length;
}
