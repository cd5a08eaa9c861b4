import { StringSet, stringHash } from './string-set.ts';

/**
 * Recently seen event ids, bounded by count and by age (event time). The ids are held in a string set for
 * lookups and in a ring buffer in arrival order, so eviction pops the oldest. The ring doubles when full and
 * never shrinks: its size follows the most ids ever held, at most the capacity.
 */
export class DedupeWindow {
  private readonly seen = new StringSet();
  private ids: Array<string | undefined> = new Array(16);
  private times = new Float64Array(16);
  /** Each id's hash, so evicting it does not hash it again. */
  private hashes = new Int32Array(16);
  /** Ring position of the oldest id; `seen.size` ids follow it. */
  private head = 0;
  /** Ids dropped because the window was full. */
  evictedForCapacity = 0;

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.seen.size;
  }

  /** Records `id` first seen at `time`; false when it is already held (a duplicate), which changes nothing. */
  admit(id: string, time: number): boolean {
    const hash = stringHash(id);
    if (!this.seen.add(id, hash)) return false;
    // The new id is the newest, so making room pops an older one, as evicting before adding would have.
    if (this.seen.size > this.capacity) {
      this.popOldest();
      this.evictedForCapacity++;
    }
    if (this.seen.size > this.ids.length) this.grow();
    const slot = (this.head + this.seen.size - 1) & (this.ids.length - 1);
    this.ids[slot] = id;
    this.times[slot] = time;
    this.hashes[slot] = hash;
    return true;
  }

  /** Forgets ids first seen before `cutoff`. */
  expire(cutoff: number): void {
    while (this.seen.size > 0 && this.times[this.head]! < cutoff) this.popOldest();
  }

  private popOldest(): void {
    const head = this.head;
    this.seen.delete(this.ids[head]!, this.hashes[head]);
    this.ids[head] = undefined;
    this.head = (head + 1) & (this.ids.length - 1);
  }

  /** Doubles the ring, unrolling it so the oldest id is at position 0. */
  private grow(): void {
    const held = this.seen.size - 1;
    const size = this.ids.length * 2;
    const ids: Array<string | undefined> = new Array(size);
    const times = new Float64Array(size);
    const hashes = new Int32Array(size);
    for (let i = 0; i < held; i++) {
      const from = (this.head + i) & (this.ids.length - 1);
      ids[i] = this.ids[from];
      times[i] = this.times[from]!;
      hashes[i] = this.hashes[from]!;
    }
    this.ids = ids;
    this.times = times;
    this.hashes = hashes;
    this.head = 0;
  }

  /** The ids held with their times, oldest first. */
  entries(): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    for (let i = 0; i < this.seen.size; i++) {
      const slot = (this.head + i) & (this.ids.length - 1);
      out.push([this.ids[slot]!, this.times[slot]!]);
    }
    return out;
  }

  clear(): void {
    this.seen.clear();
    this.ids = new Array(16);
    this.times = new Float64Array(16);
    this.hashes = new Int32Array(16);
    this.head = 0;
  }
}
