interface Node<V> {
  key: string;
  value: V;
  prev: Node<V> | undefined;
  next: Node<V> | undefined;
}

/**
 * A map kept in least-recently-touched order, so idle and over-cap eviction pop from the front in O(1).
 * Event time mostly rises with touch order, which is what makes "evict from the front while expired" cheap;
 * an entry touched out of order is evicted a little late, never early.
 * The order is a linked list through the entries: refreshing one is a lookup and a relink, where re-inserting
 * into an insertion-ordered Map (delete + set) would cost two more hash operations and leave holes to rehash.
 */
export class LruMap<V> {
  private readonly map = new Map<string, Node<V>>();
  /** Least recently used. */
  private head: Node<V> | undefined;
  /** Most recently used. */
  private tail: Node<V> | undefined;

  get size(): number {
    return this.map.size;
  }

  get(key: string): V | undefined {
    return this.map.get(key)?.value;
  }

  /** Marks `key` as the most recently used entry and returns its value; undefined when absent. */
  refresh(key: string): V | undefined {
    const node = this.map.get(key);
    if (!node) return undefined;
    this.moveToTail(node);
    return node.value;
  }

  /** Inserts or refreshes `key` as the most recently used entry. */
  touch(key: string, value: V): void {
    const node = this.map.get(key);
    if (node) {
      node.value = value;
      this.moveToTail(node);
      return;
    }
    const created: Node<V> = { key, value, prev: this.tail, next: undefined };
    if (this.tail) this.tail.next = created;
    else this.head = created;
    this.tail = created;
    this.map.set(key, created);
  }

  delete(key: string): boolean {
    const node = this.map.get(key);
    if (!node) return false;
    this.unlink(node);
    this.map.delete(key);
    return true;
  }

  clear(): void {
    this.map.clear();
    this.head = undefined;
    this.tail = undefined;
  }

  /** The least recently used value. */
  oldest(): V | undefined {
    return this.head?.value;
  }

  *values(): IterableIterator<V> {
    for (let node = this.head; node; node = node.next) yield node.value;
  }

  *entries(): IterableIterator<[string, V]> {
    for (let node = this.head; node; node = node.next) yield [node.key, node.value];
  }

  /** Removes entries from the least recently used end while `expired` holds; returns how many. */
  evictWhile(expired: (value: V, key: string) => boolean, onEvict?: (value: V, key: string) => void): number {
    let evicted = 0;
    for (let node = this.head; node && expired(node.value, node.key); node = this.head) {
      this.unlink(node);
      this.map.delete(node.key);
      onEvict?.(node.value, node.key);
      evicted++;
    }
    return evicted;
  }

  /** Removes the least recently used entries until at most `max` remain; returns how many. */
  evictOverflow(max: number, onEvict?: (value: V, key: string) => void): number {
    let excess = this.map.size - max;
    return excess > 0 ? this.evictWhile(() => excess-- > 0, onEvict) : 0;
  }

  private moveToTail(node: Node<V>): void {
    if (node === this.tail) return;
    this.unlink(node);
    node.prev = this.tail;
    this.tail!.next = node;
    this.tail = node;
  }

  private unlink(node: Node<V>): void {
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = undefined;
    node.next = undefined;
  }
}
