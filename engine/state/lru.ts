/**
 * A Map kept in least-recently-touched order, so idle and over-cap eviction pop from the front in O(1).
 * Event time mostly rises with touch order, which is what makes "evict from the front while expired" cheap;
 * an entry touched out of order is evicted a little late, never early.
 */
export class LruMap<V> {
  private readonly map = new Map<string, V>();
  private lastKey: string | undefined;

  get size(): number {
    return this.map.size;
  }

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  /** Inserts or refreshes `key` as the most recently used entry. */
  touch(key: string, value: V): void {
    if (key === this.lastKey) {
      this.map.set(key, value);
      return;
    }
    this.map.delete(key);
    this.map.set(key, value);
    this.lastKey = key;
  }

  delete(key: string): boolean {
    if (key === this.lastKey) this.lastKey = undefined;
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
    this.lastKey = undefined;
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }

  entries(): IterableIterator<[string, V]> {
    return this.map.entries();
  }

  /** Removes entries from the least recently used end while `expired` holds; returns how many. */
  evictWhile(expired: (value: V, key: string) => boolean, onEvict?: (value: V, key: string) => void): number {
    let evicted = 0;
    for (const [key, value] of this.map) {
      if (!expired(value, key)) break;
      this.delete(key);
      onEvict?.(value, key);
      evicted++;
    }
    return evicted;
  }

  /** Removes the least recently used entries until at most `max` remain; returns how many. */
  evictOverflow(max: number, onEvict?: (value: V, key: string) => void): number {
    let excess = this.map.size - max;
    return excess > 0 ? this.evictWhile(() => excess-- > 0, onEvict) : 0;
  }
}
