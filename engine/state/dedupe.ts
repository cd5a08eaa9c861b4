/**
 * Recently seen event ids, bounded by count and by age (event time). A ring buffer keeps arrival order, so
 * eviction pops the oldest without iterating a Map (iterating a Map whose front was deleted walks the holes).
 */
export class DedupeWindow {
  private readonly seen = new Map<string, number>();
  private ids: string[] = [];
  private times: number[] = [];
  private head = 0;
  /** Ids dropped because the window was full. */
  evictedForCapacity = 0;

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.seen.size;
  }

  has(id: string): boolean {
    return this.seen.has(id);
  }

  add(id: string, time: number): void {
    if (this.seen.size >= this.capacity) {
      this.popOldest();
      this.evictedForCapacity++;
    }
    this.seen.set(id, time);
    this.ids.push(id);
    this.times.push(time);
  }

  /** Forgets ids first seen before `cutoff`. */
  expire(cutoff: number): void {
    while (this.head < this.ids.length && this.times[this.head]! < cutoff) this.popOldest();
  }

  private popOldest(): void {
    this.seen.delete(this.ids[this.head]!);
    this.head++;
    // Compact once the consumed prefix dominates, keeping memory proportional to what is held.
    if (this.head > 1024 && this.head * 2 > this.ids.length) {
      this.ids = this.ids.slice(this.head);
      this.times = this.times.slice(this.head);
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
    this.head = 0;
  }
}
