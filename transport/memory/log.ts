import { EdrError } from '../../core/errors.ts';

export interface StoredRecord {
  offset: number;
  key: string;
  value: Uint8Array;
  headers: Readonly<Record<string, string>>;
  timestamp: number;
}

interface Cursor {
  position: number;
  /** Deliveries per offset not yet passed, so redeliveries are counted like JetStream does. */
  deliveries: Map<number, number>;
  /** One reader per group at a time; a second member of the group idles. */
  busy: boolean;
}

/**
 * One logical stream held in process memory: an append-only array with a cursor per consumer group.
 * Records every group has passed are dropped; with no group, only the newest `maxBacklog` are kept.
 */
/** Records a group member took to handle, with how often each was delivered so far. */
export interface Claim {
  records: StoredRecord[];
  deliveryCounts: number[];
}

export class MemoryLog {
  readonly #maxBacklog: number;
  #records: StoredRecord[] = [];
  #next = 0;
  readonly #cursors = new Map<string, Cursor>();
  #changed = signal();

  constructor(maxBacklog: number) {
    this.#maxBacklog = maxBacklog;
  }

  append(records: readonly Omit<StoredRecord, 'offset'>[]): void {
    if (this.#cursors.size > 0 && this.#next - this.#minPosition() + records.length > this.#maxBacklog) {
      throw new EdrError('EDR_ERR_BROKER_UNAVAILABLE', 'in-memory backlog full: consumers are behind');
    }
    for (const record of records) this.#records.push({ ...record, offset: this.#next++ });
    this.#trim();
    this.#notify();
  }

  /** Joins `group`, starting at the oldest retained record or at the end. */
  join(group: string, fromBeginning: boolean): void {
    if (this.#cursors.has(group)) return;
    const position = fromBeginning ? (this.#records[0]?.offset ?? this.#next) : this.#next;
    this.#cursors.set(group, { position, deliveries: new Map(), busy: false });
  }

  /** Takes the group's read lock and returns up to `max` records from its position; undefined when none. */
  claim(group: string, max: number): Claim | undefined {
    const cursor = this.#cursor(group);
    if (cursor.busy || cursor.position >= this.#next) return undefined;
    const start = cursor.position - (this.#records[0]?.offset ?? this.#next);
    const records = this.#records.slice(start, start + max);
    const deliveryCounts = records.map((record) => {
      const count = (cursor.deliveries.get(record.offset) ?? 0) + 1;
      cursor.deliveries.set(record.offset, count);
      return count;
    });
    cursor.busy = true;
    return { records, deliveryCounts };
  }

  /** Moves the group to `position` (the first offset not done) and releases the read lock. */
  release(group: string, position: number): void {
    const cursor = this.#cursor(group);
    cursor.position = Math.max(cursor.position, position);
    for (const offset of cursor.deliveries.keys())
      if (offset < cursor.position) cursor.deliveries.delete(offset);
    cursor.busy = false;
    this.#trim();
    this.#notify();
  }

  backlog(group: string): number {
    return this.#next - this.#cursor(group).position;
  }

  /** Resolves on the next append or release. */
  changed(): Promise<void> {
    return this.#changed.promise;
  }

  #cursor(group: string): Cursor {
    const cursor = this.#cursors.get(group);
    if (!cursor) throw new Error(`group ${group} has not joined`);
    return cursor;
  }

  #minPosition(): number {
    let min = this.#next;
    for (const cursor of this.#cursors.values()) min = Math.min(min, cursor.position);
    return min;
  }

  #trim(): void {
    const keepFrom = this.#cursors.size > 0 ? this.#minPosition() : this.#next - this.#maxBacklog;
    const first = this.#records[0]?.offset ?? this.#next;
    if (keepFrom > first) this.#records = this.#records.slice(keepFrom - first);
  }

  #notify(): void {
    this.#changed.resolve();
    this.#changed = signal();
  }
}

/** Promise.withResolvers() arrives with Node 22; this is the part we need. */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}
