import { z } from 'zod';

/**
 * A hit: one event that satisfied one or more of a rule's conditions. `mask` has bit i set when the event
 * matched role i (sequence step i, all_of condition i, ...). Hits are kept sorted by (time, seq); seq is the
 * engine's arrival counter, which orders events with equal timestamps.
 */
export const HitSchema = z.object({
  t: z.number(),
  seq: z.number(),
  id: z.string(),
  mask: z.int(),
  /** The threshold rule's distinct-field value. */
  value: z.string().optional(),
});
export type Hit = z.infer<typeof HitSchema>;

/** A hit as an object: an absence trigger, or a buffer's hit in a snapshot. */
export function newHit(t: number, seq: number, id: string, mask: number, value?: string): Hit {
  return { t, seq, id, mask, value };
}

/** A buffer's hits as snapshots write them: newest event time in `watermark`. */
export const BufferStateSchema = z.object({
  kind: z.literal('buffer'),
  hits: z.array(HitSchema),
  watermark: z.number(),
  /**
   * all_of: the newest time each condition was seen (by bit), a cheap first test before searching. Conditions
   * not seen yet are holes, which JSON writes as null: both mean "never".
   */
  latest: z.array(z.number().nullable()).optional(),
});

/**
 * The hits of one (rule, group), oldest first, in (time, seq) order, stored by column: the time, arrival number
 * and condition mask of hit i are cells 3i, 3i + 1 and 3i + 2 of one array of unboxed numbers, which searches
 * read front to back; event ids and distinct values have arrays of their own, read only to report a match.
 * A hit object per hit put every hit a search read in an allocation of its own, each one a cache miss.
 */
export class HitBuffer {
  private readonly cells: number[] = [];
  private readonly ids: string[] = [];
  private readonly values: Array<string | undefined> = [];
  /**
   * Where hit 0 sits in the arrays: dropping the oldest hits moves it forward, and the arrays are compacted once
   * it passes half their length, so a drop costs O(1) amortized instead of moving every hit kept.
   */
  private start = 0;

  static from(hits: readonly Hit[]): HitBuffer {
    const buffer = new HitBuffer();
    for (const hit of hits) buffer.insert(hit.t, hit.seq, hit.mask, hit.id, hit.value);
    return buffer;
  }

  get length(): number {
    return this.ids.length - this.start;
  }

  time(index: number): number {
    return this.cells[3 * (this.start + index)]!;
  }

  seq(index: number): number {
    return this.cells[3 * (this.start + index) + 1]!;
  }

  mask(index: number): number {
    return this.cells[3 * (this.start + index) + 2]!;
  }

  /** The threshold rule's distinct-field value of hit `index`. */
  value(index: number): string | undefined {
    return this.values[this.start + index];
  }

  /** Event ids of the hits at `indexes`. */
  eventIds(indexes: readonly number[]): string[] {
    return indexes.map((index) => this.ids[this.start + index]!);
  }

  /** Event ids of the hits in [from, to). */
  eventIdsBetween(from: number, to: number): string[] {
    return this.ids.slice(this.start + from, this.start + to);
  }

  /** Inserts in (t, seq) order and returns the index; a hit after every held one is appended. */
  insert(t: number, seq: number, mask: number, id: string, value: string | undefined): number {
    const index = insertionIndex(
      this.length,
      (i) => this.time(i),
      (i) => this.seq(i),
      t,
      seq,
    );
    const at = this.start + index;
    this.cells.splice(3 * at, 0, t, seq, mask);
    this.ids.splice(at, 0, id);
    this.values.splice(at, 0, value);
    return index;
  }

  /** Appends a hit known to be newer than every held one. */
  push(t: number, seq: number, mask: number, id: string, value: string | undefined): number {
    this.cells.push(t, seq, mask);
    this.ids.push(id);
    this.values.push(value);
    return this.length - 1;
  }

  /**
   * Index of the first hit with time >= t. Searched from the front with doubling steps, then by halves: callers
   * look for the start of a window or the first unexpired hit, which lie a few hits in.
   */
  lowerBound(t: number): number {
    const length = this.length;
    if (length === 0 || this.time(0) >= t) return 0;
    // time(below) < t throughout.
    let below = 0;
    let step = 1;
    while (below + step < length && this.time(below + step) < t) {
      below += step;
      step *= 2;
    }
    let lo = below + 1;
    let hi = Math.min(below + step, length);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.time(mid) < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the first hit with time > t. */
  upperBound(t: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.time(mid) <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Removes the `count` oldest hits. */
  dropOldest(count: number): void {
    this.start += count;
    if (2 * this.start >= this.ids.length) this.compact();
  }

  /** Moves the hits kept to the front of the arrays (splice would also build an array of the removed). */
  private compact(): void {
    const { cells, ids, values, start } = this;
    const kept = ids.length - start;
    for (let i = 0; i < kept; i++) {
      cells[3 * i] = cells[3 * (i + start)]!;
      cells[3 * i + 1] = cells[3 * (i + start) + 1]!;
      cells[3 * i + 2] = cells[3 * (i + start) + 2]!;
      ids[i] = ids[i + start]!;
      values[i] = values[i + start];
    }
    cells.length = 3 * kept;
    ids.length = kept;
    values.length = kept;
    this.start = 0;
  }

  /** The hits as snapshots hold them. */
  toHits(): Hit[] {
    return Array.from({ length: this.length }, (_, i) =>
      newHit(this.time(i), this.seq(i), this.ids[this.start + i]!, this.mask(i), this.value(i)),
    );
  }
}

/** A buffer's state while the engine runs; snapshots write `hits` as a list of Hit (BufferStateSchema). */
export interface BufferState {
  kind: 'buffer';
  hits: HitBuffer;
  watermark: number;
  latest?: Array<number | null | undefined>;
}

export function newBufferState(): BufferState {
  return { kind: 'buffer', hits: new HitBuffer(), watermark: Number.NEGATIVE_INFINITY };
}

/**
 * Where a hit at (t, seq) goes among `count` hits in (time, seq) order: after every one before it, searched
 * from the newest end, where late arrivals land.
 */
function insertionIndex(
  count: number,
  timeAt: (index: number) => number,
  seqAt: (index: number) => number,
  t: number,
  seq: number,
): number {
  let index = count;
  while (index > 0 && (timeAt(index - 1) > t || (timeAt(index - 1) === t && seqAt(index - 1) > seq))) index--;
  return index;
}

/** Inserts in (t, seq) order and returns the index. */
export function insertHit<H extends Hit>(hits: H[], hit: H): number {
  const index = insertionIndex(
    hits.length,
    (i) => hits[i]!.t,
    (i) => hits[i]!.seq,
    hit.t,
    hit.seq,
  );
  hits.splice(index, 0, hit);
  return index;
}

/** Drops hits older than `cutoff`, then the oldest beyond `max`. Returns how many were dropped for the cap. */
export function prune(hits: HitBuffer, cutoff: number, max: number): number {
  const expired = hits.lowerBound(cutoff);
  if (expired > 0) hits.dropOldest(expired);
  const excess = hits.length - max;
  if (excess > 0) hits.dropOldest(excess);
  return Math.max(0, excess);
}

export interface CorrelationLimits {
  allowedLatenessMs: number;
  maxHitsPerState: number;
}

export interface CorrelationCounters {
  /** Hits refused because they were older than their state's watermark minus the allowed lateness. */
  lateEvents: number;
  /** Hits dropped because a state held maxHitsPerState already. */
  hitsDropped: number;
}

/**
 * Applies the lateness policy, drops what no future window can use, and places the hit (time `t`, arrival
 * `seq`, condition `mask`, event `id`, distinct `value`) by event time. Returns its index, or -1 when it is
 * too late to count.
 */
export function admitHit(
  state: BufferState,
  t: number,
  seq: number,
  mask: number,
  id: string,
  value: string | undefined,
  windowMs: number,
  limits: CorrelationLimits,
  counters: CorrelationCounters,
): number {
  if (t < state.watermark - limits.allowedLatenessMs) {
    counters.lateEvents++;
    return -1;
  }
  // Later than every hit admitted so far (the watermark is their newest time): it goes last, found without
  // reading the buffer's last hit.
  const newest = t > state.watermark;
  if (newest) state.watermark = t;
  // A future hit is at least watermark - lateness; any window holding it starts no earlier than that - window.
  const cutoff = state.watermark - limits.allowedLatenessMs - windowMs;
  counters.hitsDropped += prune(state.hits, cutoff, limits.maxHitsPerState - 1);
  return newest ? state.hits.push(t, seq, mask, id, value) : state.hits.insert(t, seq, mask, id, value);
}
