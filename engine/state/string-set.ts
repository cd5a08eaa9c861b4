/**
 * A set of strings by open addressing: each slot holds a string's 32-bit hash in one Int32Array and the string
 * in a parallel array, so a probe reads adjacent integers and compares strings only when the hashes agree.
 *
 * Why not Set: the engine's two large sets (recent event ids, each session's distinct targets) are probed with
 * a fresh string per event. V8's table follows chains through the stored strings, a cache miss per entry
 * looked at, and rehashes the whole table as deletions leave holes; bench:engine spent about a third of its
 * time there. Linear probing with backward-shift deletion leaves no holes; the load stays at most one half.
 */

/**
 * Event ids and targets come from agents, which may be hostile: a fixed hash would let one send ids that all
 * land in one probe run. The basis is drawn per process (V8 seeds its own string hashes likewise); it only
 * moves where strings sit in the tables, never what the engine answers.
 */
const BASIS = crypto.getRandomValues(new Int32Array(1))[0]! ^ 0x811c9dc5;

/**
 * FNV-1a over UTF-16 code units from a per-process basis, in two lanes (even and odd positions) that are mixed
 * at the end: each step waits for the previous multiply of its own lane only, which takes a long id or path
 * in about two thirds of the one-lane time. Never 0 (0 marks an empty slot).
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
  const hash = Math.imul(even ^ (odd >>> 15), 0x85ebca6b) ^ odd ^ text.length;
  return hash === 0 ? 1 : hash;
}

const MIN_BITS = 3;

export class StringSet {
  private hashes: Int32Array;
  private keys: Array<string | undefined>;
  /** 32 minus log2 of the slot count: a slot is the top bits of the hash times the golden ratio. */
  private shift: number;
  private mask: number;
  private count = 0;

  constructor(expected = 0) {
    let bits = MIN_BITS;
    while (1 << (bits - 1) < expected) bits++;
    this.hashes = new Int32Array(1 << bits);
    this.keys = new Array(1 << bits);
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
  }

  get size(): number {
    return this.count;
  }

  private home(hash: number): number {
    return Math.imul(hash, 0x9e3779b1) >>> this.shift;
  }

  /** The slot holding `key`, or the empty slot where it would go, as ~slot. */
  private find(key: string, hash: number): number {
    const hashes = this.hashes;
    for (let slot = this.home(hash); ; slot = (slot + 1) & this.mask) {
      const held = hashes[slot]!;
      if (held === 0) return ~slot;
      if (held === hash && this.keys[slot] === key) return slot;
    }
  }

  has(key: string, hash = stringHash(key)): boolean {
    return this.find(key, hash) >= 0;
  }

  /** Adds `key`; false when it was already there. */
  add(key: string, hash = stringHash(key)): boolean {
    const found = this.find(key, hash);
    if (found >= 0) return false;
    const slot = ~found;
    this.hashes[slot] = hash;
    this.keys[slot] = key;
    if (++this.count * 2 > this.hashes.length) this.grow();
    return true;
  }

  delete(key: string, hash = stringHash(key)): boolean {
    let hole = this.find(key, hash);
    if (hole < 0) return false;
    const { hashes, keys, mask } = this;
    // Backward shift: pull later entries of the probe run into the hole unless that would put one
    // before its home slot, so lookups never need tombstones.
    for (let next = (hole + 1) & mask; hashes[next] !== 0; next = (next + 1) & mask) {
      const home = this.home(hashes[next]!);
      const fromHole = (next - hole) & mask;
      if (((next - home) & mask) >= fromHole) {
        hashes[hole] = hashes[next]!;
        keys[hole] = keys[next];
        hole = next;
      }
    }
    hashes[hole] = 0;
    keys[hole] = undefined;
    this.count--;
    return true;
  }

  clear(): void {
    this.hashes = new Int32Array(1 << MIN_BITS);
    this.keys = new Array(1 << MIN_BITS);
    this.shift = 32 - MIN_BITS;
    this.mask = (1 << MIN_BITS) - 1;
    this.count = 0;
  }

  private grow(): void {
    const { hashes, keys } = this;
    const size = hashes.length * 2;
    this.hashes = new Int32Array(size);
    this.keys = new Array(size);
    this.shift--;
    this.mask = size - 1;
    for (let i = 0; i < hashes.length; i++) {
      const hash = hashes[i]!;
      if (hash === 0) continue;
      let slot = this.home(hash);
      while (this.hashes[slot] !== 0) slot = (slot + 1) & this.mask;
      this.hashes[slot] = hash;
      this.keys[slot] = keys[i];
    }
  }
}
