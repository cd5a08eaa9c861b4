/**
 * Event ids and targets come from agents, which may be hostile: a fixed hash would let one send ids that all
 * land in one probe run. The basis is drawn per process (V8 seeds its own string hashes likewise); it only
 * moves where strings sit in the tables, never what the engine answers.
 */
const BASIS = crypto.getRandomValues(new Int32Array(1))[0]! ^ 0x811c9dc5;

/**
 * FNV-1a over UTF-16 code units from a per-process basis, in two lanes (even and odd positions) that are mixed
 * at the end: each step waits for the previous multiply of its own lane only, which takes a long id or path
 * in about two thirds of the one-lane time.
 */
export function stringHash(text: string): number {
  let even = BASIS;
  let odd = BASIS ^ 0x5bd1e995;
  const pairs = text.length & ~1;
  for (let i = 0; i < pairs; i += 2) {
    even = Math.imul(even ^ text.charCodeAt(i), 0x01000193);
    odd = Math.imul(odd ^ text.charCodeAt(i + 1), 0x01000193);
  }
  if (pairs < text.length) even = Math.imul(even ^ text.charCodeAt(pairs), 0x01000193);
  return Math.imul(even ^ (odd >>> 15), 0x85ebca6b) ^ odd ^ text.length;
}

/**
 * stringHash of a pair of strings (the dedupe window's agentId and eventId) in one pass: `first` then `second`
 * through the same two lanes, each length mixed in, so (a, bc) and (ab, c) differ.
 */
export function pairHash(first: string, second: string): number {
  let even = BASIS ^ first.length;
  let odd = BASIS ^ 0x5bd1e995;
  for (let i = 0; i < first.length; i++) even = Math.imul(even ^ first.charCodeAt(i), 0x01000193);
  odd ^= even;
  const pairs = second.length & ~1;
  for (let i = 0; i < pairs; i += 2) {
    even = Math.imul(even ^ second.charCodeAt(i), 0x01000193);
    odd = Math.imul(odd ^ second.charCodeAt(i + 1), 0x01000193);
  }
  if (pairs < second.length) even = Math.imul(even ^ second.charCodeAt(pairs), 0x01000193);
  return Math.imul(even ^ (odd >>> 15), 0x85ebca6b) ^ odd ^ second.length;
}

const MIN_BITS = 3;

/**
 * A set of strings that only grows, remembering the order they came in (each session's distinct targets, which
 * snapshots list in first-seen order), by open addressing: slot i is a pair of integers in one Int32Array, a
 * string's 32-bit hash and its index in the list + 1 (0: empty), so a probe reads one cache line and the list
 * is read only when the hashes agree. The load stays at most one half.
 *
 * Why not Set: the set is probed with a fresh string per event, and V8's table follows chains through the
 * stored strings, a cache miss per entry looked at. A hash array beside an array of the strings read two cold
 * lines per probe. stringHash also serves the recent-event-id window (dedupe.ts), which has a table of its own.
 */
export class StringSet {
  /** Slot i is cells[2i] (hash) and cells[2i + 1] (index in `list` + 1, 0 when empty). */
  private cells: Int32Array;
  private readonly list: string[] = [];
  /** 32 minus log2 of the slot count: a slot is the top bits of the hash times the golden ratio. */
  private shift: number;

  constructor(expected = 0) {
    let bits = MIN_BITS;
    while (1 << (bits - 1) < expected) bits++;
    this.cells = new Int32Array(2 << bits);
    this.shift = 32 - bits;
  }

  get size(): number {
    return this.list.length;
  }

  /** The strings in the order they were first added. */
  values(): readonly string[] {
    return this.list;
  }

  private home(hash: number): number {
    return Math.imul(hash, 0x9e3779b1) >>> this.shift;
  }

  /** The slot holding `key`, or the empty slot where it would go, as ~slot. */
  private find(key: string, hash: number): number {
    const cells = this.cells;
    const mask = (cells.length >> 1) - 1;
    for (let slot = this.home(hash); ; slot = (slot + 1) & mask) {
      const index = cells[2 * slot + 1]!;
      if (index === 0) return ~slot;
      if (cells[2 * slot] === hash && this.list[index - 1] === key) return slot;
    }
  }

  has(key: string, hash = stringHash(key)): boolean {
    return this.find(key, hash) >= 0;
  }

  /** Adds `key`; false when it was already there. */
  add(key: string, hash = stringHash(key)): boolean {
    const found = this.find(key, hash);
    if (found >= 0) return false;
    this.list.push(key);
    this.place(~found, hash, this.list.length);
    if (this.list.length * 4 > this.cells.length) this.grow();
    return true;
  }

  private place(slot: number, hash: number, index: number): void {
    this.cells[2 * slot] = hash;
    this.cells[2 * slot + 1] = index;
  }

  /** Doubles the slots and places every string again, from the list (no hashing: the hashes are in the cells). */
  private grow(): void {
    const old = this.cells;
    this.cells = new Int32Array(old.length * 2);
    this.shift--;
    const mask = (this.cells.length >> 1) - 1;
    for (let i = 0; i < old.length; i += 2) {
      if (old[i + 1] === 0) continue;
      let slot = this.home(old[i]!);
      while (this.cells[2 * slot + 1] !== 0) slot = (slot + 1) & mask;
      this.place(slot, old[i]!, old[i + 1]!);
    }
  }
}
