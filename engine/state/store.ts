import { ChangedPairs } from './changes.ts';
import { LruMap } from './lru.ts';

/** One correlation state and what it belongs to. */
export interface StateEntry<S> {
  ruleId: string;
  groupKey: string;
  state: S;
}

/**
 * Correlation state keyed by (ruleId, groupKey). The engine only talks to this interface, so a store that
 * spills to disk or a shared cache can replace the in-memory one without touching the correlation code.
 */
export interface StateStore<S> {
  readonly size: number;
  get(ruleId: string, groupKey: string): S | undefined;
  /** get, and marks the entry as the most recently used, as putting it back would: one lookup for both. */
  use(ruleId: string, groupKey: string): S | undefined;
  /** Inserts or refreshes the entry as the most recently used. */
  put(ruleId: string, groupKey: string, state: S): void;
  delete(ruleId: string, groupKey: string): void;
  entries(): Iterable<StateEntry<S>>;
  /** Drops least recently used entries while `expired` holds; returns how many. */
  evictExpired(expired: (entry: StateEntry<S>) => boolean, onEvict?: (entry: StateEntry<S>) => void): number;
  /**
   * Drops the least recently used entries, over all rules, while `more` holds (asked before each, with the
   * entry next in line); returns how many.
   */
  evictLeastRecent(more: (next: StateEntry<S>) => boolean, onEvict?: (entry: StateEntry<S>) => void): number;
  clear(): void;
  /** The state and its place in the recency order (larger is more recent), without touching it. */
  peek(ruleId: string, groupKey: string): { state: S; order: number } | undefined;
  /**
   * The entries read for change, put, deleted or evicted since the last call (clear() aside): what an
   * incremental checkpoint writes again. Forgets them.
   */
  drainChanged(): Array<[ruleId: string, groupKey: string]>;
}

/**
 * One LRU map per rule: lookups hash the group key alone (no composite key string per event), and the global
 * cap evicts from the rule whose least recently used entry is oldest (`touched` is a store-wide counter).
 */
export class MemoryStateStore<S> implements StateStore<S> {
  private readonly byRule = new Map<string, LruMap<StateEntry<S> & { touched: number }>>();
  private clock = 0;
  private count = 0;
  /** Entries read with get or use may be changed in place by the caller: they count as changed too. */
  private readonly changed = new ChangedPairs();

  get size(): number {
    return this.count;
  }

  get(ruleId: string, groupKey: string): S | undefined {
    const entry = this.byRule.get(ruleId)?.get(groupKey);
    if (!entry) return undefined;
    this.changed.add(ruleId, groupKey);
    return entry.state;
  }

  use(ruleId: string, groupKey: string): S | undefined {
    const entry = this.byRule.get(ruleId)?.refresh(groupKey);
    if (!entry) return undefined;
    entry.touched = ++this.clock;
    this.changed.add(ruleId, groupKey);
    return entry.state;
  }

  peek(ruleId: string, groupKey: string): { state: S; order: number } | undefined {
    const entry = this.byRule.get(ruleId)?.get(groupKey);
    return entry && { state: entry.state, order: entry.touched };
  }

  drainChanged(): Array<[string, string]> {
    return this.changed.drain();
  }

  put(ruleId: string, groupKey: string, state: S): void {
    this.changed.add(ruleId, groupKey);
    let rule = this.byRule.get(ruleId);
    if (!rule) {
      rule = new LruMap();
      this.byRule.set(ruleId, rule);
    }
    const existing = rule.refresh(groupKey);
    if (existing?.state === state) {
      existing.touched = ++this.clock;
      return;
    }
    if (!existing) this.count++;
    rule.touch(groupKey, { ruleId, groupKey, state, touched: ++this.clock });
  }

  delete(ruleId: string, groupKey: string): void {
    if (!this.byRule.get(ruleId)?.delete(groupKey)) return;
    this.count--;
    this.changed.add(ruleId, groupKey);
  }

  *entries(): Iterable<StateEntry<S>> {
    for (const rule of this.byRule.values()) yield* rule.values();
  }

  evictExpired(expired: (entry: StateEntry<S>) => boolean, onEvict?: (entry: StateEntry<S>) => void): number {
    let evicted = 0;
    const evict = (entry: StateEntry<S>) => {
      this.changed.add(entry.ruleId, entry.groupKey);
      onEvict?.(entry);
    };
    for (const rule of this.byRule.values()) evicted += rule.evictWhile(expired, evict);
    this.count -= evicted;
    return evicted;
  }

  evictLeastRecent(more: (next: StateEntry<S>) => boolean, onEvict?: (entry: StateEntry<S>) => void): number {
    let evicted = 0;
    for (;;) {
      let oldest: LruMap<StateEntry<S> & { touched: number }> | undefined;
      let oldestTouch = Number.POSITIVE_INFINITY;
      for (const rule of this.byRule.values()) {
        const front = rule.oldest();
        if (front && front.touched < oldestTouch) {
          oldestTouch = front.touched;
          oldest = rule;
        }
      }
      const next = oldest?.oldest();
      if (!oldest || !next || !more(next)) break;
      this.changed.add(next.ruleId, next.groupKey);
      oldest.evictOverflow(oldest.size - 1, onEvict);
      this.count--;
      evicted++;
    }
    return evicted;
  }

  clear(): void {
    this.byRule.clear();
    this.count = 0;
  }
}
