import { pairHash } from './string-set.ts';

const MIN_RING = 16;

/**
 * Recently seen events by (agentId, eventId), bounded by count and by age (event time), forgotten oldest
 * first. Agents choose their own event ids, so the pair is the identity: another agent reusing an id is a
 * different event (deduplicating on the id alone let one agent hide another's events).
 *
 * A ring holds the ids in arrival order with their time and hash. An open-addressing table (linear probing,
 * load at most one half) finds an id: each slot is a pair of integers in one Int32Array, the id's hash and
 * its ring position + 1 (0: empty), so a probe reads one cache line, and the id itself is read from the ring
 * only when the hashes agree. Forgetting the oldest id looks for its ring position, never compares strings,
 * and closes the gap by shifting the rest of its probe run back. A table of hashes beside an array of the ids
 * read two cold cache lines per probe, and the engine probes twice per event (admit, then forget).
 */
export class DedupeWindow {
  private ids: Array<string | undefined> = new Array(MIN_RING);
  private agents: Array<string | undefined> = new Array(MIN_RING);
  private times = new Float64Array(MIN_RING);
  private hashes = new Int32Array(MIN_RING);
  /** Ring position of the oldest id; `count` ids follow it. */
  private head = 0;
  private count = 0;
  /** Slot i is cells[2i] (hash) and cells[2i + 1] (ring position + 1, 0 when empty). */
  private cells = new Int32Array(4 * MIN_RING);
  /** 32 minus log2 of the slot count: a slot is the top bits of the hash times the golden ratio. */
  private shift = 32 - Math.log2(2 * MIN_RING);
  /** Ids dropped because the window was full. */
  evictedForCapacity = 0;
  /**
   * Admission number of the next id held (ids are numbered in arrival order), so a changelog can key the held
   * ids by segment of numbers: a segment changes only while ids are admitted into it, and goes once the
   * oldest held id is past it.
   */
  private next = 0;
  /** `next` and the oldest held number when changes were last drained. */
  private drainedNext = 0;
  private drainedFirst = 0;

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.count;
  }

  /** Admission number of the oldest id held. */
  get first(): number {
    return this.next - this.count;
  }

  private get slotMask(): number {
    return (this.cells.length >> 1) - 1;
  }

  private home(hash: number): number {
    return Math.imul(hash, 0x9e3779b1) >>> this.shift;
  }

  /**
   * Records event `id` of `agent` first seen at `time`; false when the pair is already held (a duplicate),
   * which changes nothing.
   */
  admit(agent: string, id: string, time: number): boolean {
    const hash = pairHash(agent, id);
    const { cells, slotMask } = this;
    let slot = this.home(hash);
    for (let held = cells[2 * slot + 1]!; held !== 0; held = cells[2 * slot + 1]!) {
      if (cells[2 * slot] === hash && this.ids[held - 1] === id && this.agents[held - 1] === agent)
        return false;
      slot = (slot + 1) & slotMask;
    }
    // The new id is the newest, so making room forgets an older one, as evicting before adding would have.
    if (this.count >= this.capacity) {
      this.evictedForCapacity++;
      // With no room at all, the id is admitted and forgotten at once.
      if (this.count === 0) return true;
      this.forgetOldest();
      // Forgetting may have shifted entries of this probe run into earlier slots: look for the gap again.
      slot = this.emptySlot(hash);
    }
    if (this.count === this.ids.length) {
      this.growRing();
      slot = this.emptySlot(hash);
    }
    this.next++;
    const position = (this.head + this.count++) & (this.ids.length - 1);
    this.ids[position] = id;
    this.agents[position] = agent;
    this.times[position] = time;
    this.hashes[position] = hash;
    this.cells[2 * slot] = hash;
    this.cells[2 * slot + 1] = position + 1;
    return true;
  }

  /** Forgets ids first seen before `cutoff`. */
  expire(cutoff: number): void {
    while (this.count > 0 && this.times[this.head]! < cutoff) this.forgetOldest();
  }

  private emptySlot(hash: number): number {
    let slot = this.home(hash);
    while (this.cells[2 * slot + 1] !== 0) slot = (slot + 1) & this.slotMask;
    return slot;
  }

  private forgetOldest(): void {
    const position = this.head;
    const { cells, slotMask } = this;
    let hole = this.home(this.hashes[position]!);
    while (cells[2 * hole + 1] !== position + 1) hole = (hole + 1) & slotMask;
    // Backward shift: pull later entries of the probe run into the hole unless that would put one before its
    // home slot, so lookups never meet tombstones.
    for (let next = (hole + 1) & slotMask; cells[2 * next + 1] !== 0; next = (next + 1) & slotMask) {
      if (((next - this.home(cells[2 * next]!)) & slotMask) >= ((next - hole) & slotMask)) {
        cells[2 * hole] = cells[2 * next]!;
        cells[2 * hole + 1] = cells[2 * next + 1]!;
        hole = next;
      }
    }
    cells[2 * hole] = 0;
    cells[2 * hole + 1] = 0;
    this.ids[position] = undefined;
    this.agents[position] = undefined;
    this.head = (position + 1) & (this.ids.length - 1);
    this.count--;
  }

  /** Doubles the ring, unrolled so the oldest id is at position 0, and rebuilds the table over it. */
  private growRing(): void {
    const size = this.ids.length * 2;
    const ids: Array<string | undefined> = new Array(size);
    const agents: Array<string | undefined> = new Array(size);
    const times = new Float64Array(size);
    const hashes = new Int32Array(size);
    for (let i = 0; i < this.count; i++) {
      const from = (this.head + i) & (this.ids.length - 1);
      ids[i] = this.ids[from];
      agents[i] = this.agents[from];
      times[i] = this.times[from]!;
      hashes[i] = this.hashes[from]!;
    }
    this.ids = ids;
    this.agents = agents;
    this.times = times;
    this.hashes = hashes;
    this.head = 0;
    // Two slots per ring position keep the load at most one half.
    this.cells = new Int32Array(4 * size);
    this.shift--;
    for (let i = 0; i < this.count; i++) {
      const slot = this.emptySlot(hashes[i]!);
      this.cells[2 * slot] = hashes[i]!;
      this.cells[2 * slot + 1] = i + 1;
    }
  }

  /** The pairs held with their times, oldest first: [agentId, eventId, time]. */
  entries(): Array<[string, string, number]> {
    const out: Array<[string, string, number]> = [];
    for (let i = 0; i < this.count; i++) {
      const position = (this.head + i) & (this.ids.length - 1);
      out.push([this.agents[position]!, this.ids[position]!, this.times[position]!]);
    }
    return out;
  }

  /**
   * Segments (of `size` admission numbers) that took ids since the last call, and those whose every id was
   * forgotten meanwhile. Work in proportion to the ids admitted and forgotten since.
   */
  drainSegments(size: number): { changed: number[]; removed: number[] } {
    const changed: number[] = [];
    const removed: number[] = [];
    const first = this.first;
    if (this.next > this.drainedNext) {
      for (let k = Math.floor(Math.max(this.drainedNext, first) / size); k * size < this.next; k++)
        changed.push(k);
    }
    for (let k = Math.floor(this.drainedFirst / size); (k + 1) * size <= first; k++) removed.push(k);
    this.drainedNext = this.next;
    this.drainedFirst = first;
    return { changed, removed };
  }

  /** The held ids numbered within segment `k` (of `size` numbers), oldest first: [agentId, eventId, time]. */
  segment(k: number, size: number): Array<[string, string, number]> {
    const out: Array<[string, string, number]> = [];
    const first = this.first;
    const end = Math.min((k + 1) * size, this.next);
    for (let n = Math.max(k * size, first); n < end; n++) {
      const position = (this.head + (n - first)) & (this.ids.length - 1);
      out.push([this.agents[position]!, this.ids[position]!, this.times[position]!]);
    }
    return out;
  }

  /** Empties the window; the next id admitted is numbered `first` (a restore numbers ids as they were). */
  clear(first = 0): void {
    this.next = first;
    this.drainedNext = first;
    this.drainedFirst = first;
    this.ids = new Array(MIN_RING);
    this.agents = new Array(MIN_RING);
    this.times = new Float64Array(MIN_RING);
    this.hashes = new Int32Array(MIN_RING);
    this.head = 0;
    this.count = 0;
    this.cells = new Int32Array(4 * MIN_RING);
    this.shift = 32 - Math.log2(2 * MIN_RING);
  }
}
