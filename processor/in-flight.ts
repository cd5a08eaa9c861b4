import type { Clock } from '../core/clock.ts';

/** One batch the engine ran whose deliveries are not all final yet. */
interface Entry {
  partition: string;
  records: number;
  /** The position after the batch's last record. */
  next: number;
  since: number;
  done: boolean;
  /** true once every route finalized the batch; false when it will not be in this process (stopping). */
  finalized: Promise<boolean>;
}

/**
 * The batches evaluated and handed to the sinks but not yet final on every route, in the order they were
 * evaluated. The processor bounds their records (backpressure) and checkpoints only when none is left, so
 * the saved state and the committed positions end where every record before them is final.
 */
export class InFlight {
  readonly #clock: Clock;
  /** A Set keeps insertion order: the first entry is the oldest. */
  readonly #entries = new Set<Entry>();
  readonly #byPartition = new Map<string, number>();
  /** Each partition's batches in flight, oldest first. */
  readonly #queues = new Map<string, Entry[]>();
  /** Per partition: the position below which every record this process handled is final on every sink. */
  readonly #watermarks = new Map<string, number>();
  #records = 0;
  /** Batches that ended without becoming final (stopping): no position past them may be committed. */
  #abandoned = 0;
  /** Moving average of how long a batch takes from hand-over to final on every sink. */
  #typicalMs = 0;
  #waiters: Array<() => void> = [];

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  get records(): number {
    return this.#records;
  }

  get batches(): number {
    return this.#entries.size;
  }

  /** Unfinished records per partition (only partitions with some). */
  recordsByPartition(): ReadonlyMap<string, number> {
    return this.#byPartition;
  }

  /** The position below which every record handled here is final, per partition handled since assignment. */
  watermark(partition: string): number | undefined {
    return this.#watermarks.get(partition);
  }

  /** Forgets the watermarks of partitions assigned elsewhere now. */
  retain(partitions: ReadonlySet<string>): void {
    for (const partition of this.#watermarks.keys())
      if (!partitions.has(partition)) this.#watermarks.delete(partition);
  }

  /** How long a batch usually takes to become final (a moving average; 0 before the first). */
  get typicalMs(): number {
    return this.#typicalMs;
  }

  /** How long the oldest unfinished batch has waited; 0 when none. */
  oldestMs(): number {
    for (const entry of this.#entries) return this.#clock() - entry.since;
    return 0;
  }

  /**
   * Tracks a batch until `finalized` settles (a rejection counts as not finalized); `next` is the position
   * after its last record. Batches of one partition are added in offset order.
   */
  add(partition: string, records: number, next: number, finalized: Promise<boolean>): void {
    const entry: Entry = {
      partition,
      records,
      next,
      since: this.#clock(),
      done: false,
      finalized: finalized.catch(() => false),
    };
    this.#entries.add(entry);
    const queue = this.#queues.get(partition) ?? [];
    queue.push(entry);
    this.#queues.set(partition, queue);
    this.#records += records;
    this.#byPartition.set(partition, (this.#byPartition.get(partition) ?? 0) + records);
    void entry.finalized.then((final) => this.#remove(entry, final));
  }

  /**
   * Resolves true once every batch in flight now is final; false if one of them will not be (or one already
   * ended so), or when `timeoutMs` passes first. Batches added meanwhile are not waited for.
   */
  async drained(timeoutMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    if (this.#abandoned > 0) return false;
    if (this.#entries.size === 0) return true;
    const all = Promise.all([...this.#entries].map((entry) => entry.finalized)).then((results) =>
      results.every(Boolean),
    );
    if (!Number.isFinite(timeoutMs)) return all;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([all, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves once fewer than `limit` records are in flight. */
  async below(limit: number): Promise<void> {
    while (this.#records >= limit) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  #remove(entry: Entry, final: boolean): void {
    this.#entries.delete(entry);
    entry.done = final;
    if (!final) this.#abandoned++;
    if (final) {
      const took = this.#clock() - entry.since;
      this.#typicalMs = this.#typicalMs === 0 ? took : this.#typicalMs * 0.8 + took * 0.2;
    }
    // The watermark moves over the finished batches at the head of the partition's queue; one that will not
    // be final (stopping) stays, and holds it.
    const queue = this.#queues.get(entry.partition) ?? [];
    while (queue[0]?.done) this.#watermarks.set(entry.partition, queue.shift()!.next);
    if (queue.length === 0) this.#queues.delete(entry.partition);
    this.#records -= entry.records;
    const left = (this.#byPartition.get(entry.partition) ?? 0) - entry.records;
    if (left > 0) this.#byPartition.set(entry.partition, left);
    else this.#byPartition.delete(entry.partition);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
