import { StringSet, stringHash } from './string-set.ts';

/**
 * Recently seen event ids, bounded by count and by age (event time). A ring buffer keeps arrival order, so
 * eviction pops the oldest without iterating a Map (iterating a Map whose front was deleted walks the holes).
 */
export class DedupeWindow {
  /** The ids held; their times are in the ring buffer. */
  private readonly seen = new StringSet();
  private ids: string[] = [];
  private times: number[] = [];
  /** Each id's hash, so evicting it does not hash it again. */
  private hashes: number[] = [];
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
    this.ids.push(id);
    this.times.push(time);
    this.hashes.push(hash);
    return true;
  }

  /** Forgets ids first seen before `cutoff`. */
  expire(cutoff: number): void {
    while (this.head < this.ids.length && this.times[this.head]! < cutoff) this.popOldest();
  }

  private popOldest(): void {
    this.seen.delete(this.ids[this.head]!, this.hashes[this.head]);
    this.head++;
    // Compact once the consumed prefix dominates, keeping memory proportional to what is held.
    if (this.head > 1024 && this.head * 2 > this.ids.length) {
      this.ids = this.ids.slice(this.head);
      this.times = this.times.slice(this.head);
      this.hashes = this.hashes.slice(this.head);
      this.head = 0;
    }
  }

  entries(): Array<[string, number]> {
    return this.ids.slice(this.head).map((id, i) => [id, this.times[this.head + i]!]);
  }

  clear(): void {
    this.seen.clear();
    this.ids = [];
    this.times = [];
    this.hashes = [];
    this.head = 0;
  }
}
