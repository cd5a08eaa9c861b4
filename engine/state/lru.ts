/** The links an entry of an LruList carries itself, so keeping the order allocates nothing per entry. */
export interface LruLinks<N> {
  prev: N | undefined;
  next: N | undefined;
}

/**
 * Entries in least-recently-touched order, linked through the entries themselves, so idle and over-cap
 * eviction pop from the front in O(1) and refreshing an entry is a relink.
 * Event time mostly rises with touch order, which is what makes "evict from the front while expired" cheap;
 * an entry touched out of order is evicted a little late, never early.
 */
export class LruList<N extends LruLinks<N>> {
  /** Least recently used. */
  head: N | undefined;
  /** Most recently used. */
  tail: N | undefined;

  /** Adds `node` (not in the list) as the most recently used entry. */
  append(node: N): void {
    node.prev = this.tail;
    node.next = undefined;
    if (this.tail) this.tail.next = node;
    else this.head = node;
    this.tail = node;
  }

  /** Marks `node` (in the list) as the most recently used entry. */
  moveToTail(node: N): void {
    if (node === this.tail) return;
    this.remove(node);
    this.append(node);
  }

  remove(node: N): void {
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = undefined;
    node.next = undefined;
  }

  clear(): void {
    this.head = undefined;
    this.tail = undefined;
  }

  *nodes(): IterableIterator<N> {
    for (let node = this.head; node; node = node.next) yield node;
  }
}

interface Node<V> extends LruLinks<Node<V>> {
  key: string;
  value: V;
  /** When the entry was last touched, by this map's counter: a changelog restores the order from it. */
  stamp: number;
}

/**
 * A map kept in least-recently-touched order (see LruList).
 * Refreshing an entry is a lookup and a relink, where re-inserting into an insertion-ordered Map
 * (delete + set) would cost two more hash operations and leave holes to rehash.
 */
export class LruMap<V> {
  private readonly map = new Map<string, Node<V>>();
  private readonly order = new LruList<Node<V>>();
  private clock = 0;

  /** `onChange` hears of every key touched, refreshed or removed (what an incremental checkpoint writes). */
  constructor(private readonly onChange?: (key: string) => void) {}

  get size(): number {
    return this.map.size;
  }

  get(key: string): V | undefined {
    return this.map.get(key)?.value;
  }

  /** The value and its touch stamp, without touching it. */
  peek(key: string): { value: V; stamp: number } | undefined {
    const node = this.map.get(key);
    return node && { value: node.value, stamp: node.stamp };
  }

  /** Marks `key` as the most recently used entry and returns its value; undefined when absent. */
  refresh(key: string): V | undefined {
    const node = this.map.get(key);
    if (!node) return undefined;
    this.order.moveToTail(node);
    node.stamp = ++this.clock;
    this.onChange?.(key);
    return node.value;
  }

  /** Inserts or refreshes `key` as the most recently used entry. */
  touch(key: string, value: V): void {
    const node = this.map.get(key);
    this.onChange?.(key);
    if (node) {
      node.value = value;
      node.stamp = ++this.clock;
      this.order.moveToTail(node);
      return;
    }
    const created: Node<V> = { key, value, stamp: ++this.clock, prev: undefined, next: undefined };
    this.order.append(created);
    this.map.set(key, created);
  }

  delete(key: string): boolean {
    const node = this.map.get(key);
    if (!node) return false;
    this.order.remove(node);
    this.map.delete(key);
    this.onChange?.(key);
    return true;
  }

  clear(): void {
    this.map.clear();
    this.order.clear();
  }

  /** The least recently used value. */
  oldest(): V | undefined {
    return this.order.head?.value;
  }

  *values(): IterableIterator<V> {
    for (const node of this.order.nodes()) yield node.value;
  }

  *entries(): IterableIterator<[string, V]> {
    for (const node of this.order.nodes()) yield [node.key, node.value];
  }

  /** Removes entries from the least recently used end while `expired` holds; returns how many. */
  evictWhile(expired: (value: V, key: string) => boolean, onEvict?: (value: V, key: string) => void): number {
    let evicted = 0;
    for (let node = this.order.head; node && expired(node.value, node.key); node = this.order.head) {
      this.order.remove(node);
      this.map.delete(node.key);
      this.onChange?.(node.key);
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
}
