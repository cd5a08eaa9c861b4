import { z } from 'zod';
import { LruMap } from '../state/lru.ts';
import { MemoryStateStore, type StateEntry } from '../state/store.ts';
import type { CorrelationCounters } from './hits.ts';

/**
 * new_terms baselines: per (rule, group), the last time (event time) each term was seen, and since when the
 * group has been observed. Every event of the group counts as history (the learning clock); the events the
 * rule's condition selects that carry its fields are judged and learned. An event's term is new when it was
 * not seen for its group at any time from `history` before the event on, and the group's first event is at
 * least `learning` before it (inclusive at both ends: a term last seen exactly `history` before is still
 * known; an event exactly `learning` after the group's first is judged). So an agent watched for 14 days that
 * never read a secret alerts on its first secret read.
 *
 * Time is event time, per group, as for the other correlation types:
 * - an event older than the group's newest minus allowedLatenessMs is late: neither judged nor learned
 *   (lateEvents), as a late hit of a window rule does not count;
 * - within the lateness, an event arriving out of order is judged against every term seen so far, including
 *   ones stamped after it: a term that arrives out of order alerts at most once, on the copy that came first;
 * - a group whose newest event is older than the engine's event time minus `history` and the lateness starts
 *   over and learns again (the same whether idle eviction already dropped it or not).
 * Memory: terms past every acceptable event's history are pruned as the group moves on; a group keeps at most
 * maxTermsPerGroup (least recently seen go, and count as new when seen again); baselines and their terms
 * together weigh at most maxNewTerms (a baseline one, each term one; least recently used baselines go and
 * learn again). Eviction can make a rule miss a new term; it cannot make
 * a known term alert, except in the group that overflowed its own cap.
 */
export const TermsStateSchema = z.object({
  kind: z.literal('terms'),
  /** Event time of the group's first learned event: learning counts from here. */
  since: z.number(),
  /** The group's newest event time. */
  watermark: z.number(),
  /** [term, last seen (event time)], least recently seen first. */
  terms: z.array(z.tuple([z.string(), z.number()])),
});
export type TermsState = z.infer<typeof TermsStateSchema>;

interface LiveTermsState {
  since: number;
  watermark: number;
  terms: LruMap<number>;
}

export interface BaselineLimits {
  allowedLatenessMs: number;
  stateIdleTtlMs: number;
  maxTermsPerGroup: number;
  maxNewTerms: number;
}

export interface NewTermsSpec {
  historyMs: number;
  learningMs: number;
}

/** Whether nothing the group learned can matter to an event at or after engine event time `now`. */
function idle(state: LiveTermsState, now: number, historyMs: number, latenessMs: number): boolean {
  return state.watermark < now - historyMs - latenessMs;
}

export class Baselines {
  private readonly store = new MemoryStateStore<LiveTermsState>();
  private termCount = 0;
  /** Baselines plus terms, the measure maxNewTerms bounds. */
  private get weight(): number {
    return this.store.size + this.termCount;
  }
  /** Terms a group dropped at maxTermsPerGroup; groups dropped at maxNewTerms; idle groups dropped. */
  readonly evictions = { termsPerGroupCap: 0, baselinesCap: 0, baselinesIdle: 0 };

  constructor(private readonly limits: BaselineLimits) {}

  get groups(): number {
    return this.store.size;
  }

  get terms(): number {
    return this.termCount;
  }

  /**
   * Counts an event of the group at event time `t` and, when it has a `term` (it is selected and has the
   * fields), judges and learns it; true when the term is new for a group past its learning. `now` is the
   * engine's event time: a group idle since before `now` minus the history and the lateness starts over,
   * exactly as if idle eviction (expire) had dropped it already.
   */
  observe(
    ruleId: string,
    groupKey: string,
    term: string | undefined,
    t: number,
    now: number,
    spec: NewTermsSpec,
    counters: CorrelationCounters,
  ): boolean {
    const lateness = this.limits.allowedLatenessMs;
    let state = this.store.use(ruleId, groupKey);
    if (state && idle(state, now, spec.historyMs, lateness)) {
      this.termCount -= state.terms.size;
      state = undefined;
    }
    if (state && t < state.watermark - lateness) {
      counters.lateEvents++;
      return false;
    }
    const created = !state;
    if (!state) {
      state = { since: t, watermark: t, terms: new LruMap() };
      this.store.put(ruleId, groupKey, state);
    }
    if (t > state.watermark) {
      state.watermark = t;
      this.prune(state, spec.historyMs);
    }
    if (t < state.since) state.since = t;
    // Most events only move the group's clock: they add no weight unless they made the baseline.
    if (term === undefined) {
      if (created) this.cap(state);
      return false;
    }
    const last = state.terms.get(term);
    const isNew = (last === undefined || last < t - spec.historyMs) && t - state.since >= spec.learningMs;
    state.terms.touch(term, last === undefined ? t : Math.max(last, t));
    if (last === undefined) {
      this.termCount++;
      this.cap(state);
    } else if (created) this.cap(state);
    return isNew;
  }

  /** Drops terms no acceptable event can find any more (seen before the newest minus lateness and history). */
  private prune(state: LiveTermsState, historyMs: number): void {
    const horizon = state.watermark - this.limits.allowedLatenessMs - historyMs;
    const oldest = state.terms.oldest();
    if (oldest !== undefined && oldest < horizon) {
      this.termCount -= state.terms.evictWhile((seen) => seen < horizon);
    }
  }

  /** Applies the per-group cap, then the global one (to other baselines than `state`). */
  private cap(state: LiveTermsState): void {
    const overflow = state.terms.evictOverflow(this.limits.maxTermsPerGroup);
    this.termCount -= overflow;
    this.evictions.termsPerGroupCap += overflow;
    if (this.weight <= this.limits.maxNewTerms) return;
    this.evictions.baselinesCap += this.store.evictLeastRecent(
      (next) => next.state !== state && this.weight > this.limits.maxNewTerms,
      (entry) => this.forget(entry),
    );
  }

  private forget(entry: StateEntry<LiveTermsState>): void {
    this.termCount -= entry.state.terms.size;
  }

  /**
   * Drops groups idle (engine event time `now`) for longer than their rule's history plus the lateness (or the
   * idle TTL, when longer): observe() would start them over anyway.
   */
  expire(now: number, historyOf: (ruleId: string) => number): void {
    const { stateIdleTtlMs, allowedLatenessMs } = this.limits;
    this.evictions.baselinesIdle += this.store.evictExpired(
      ({ ruleId, state }) =>
        idle(state, now, Math.max(stateIdleTtlMs - allowedLatenessMs, historyOf(ruleId)), allowedLatenessMs),
      (entry) => this.forget(entry),
    );
  }

  /** Drops every baseline of the given rules; returns how many. */
  dropRules(ruleIds: ReadonlySet<string>): number {
    let dropped = 0;
    for (const entry of [...this.store.entries()]) {
      if (!ruleIds.has(entry.ruleId)) continue;
      this.forget(entry);
      this.store.delete(entry.ruleId, entry.groupKey);
      dropped++;
    }
    return dropped;
  }

  /** Every baseline as a snapshot writes it, least recently used first within each rule. */
  *snapshot(): Iterable<{ ruleId: string; groupKey: string; state: TermsState }> {
    for (const { ruleId, groupKey, state } of this.store.entries()) {
      yield { ruleId, groupKey, state: termsSnapshot(state) };
    }
  }

  /** One baseline as a snapshot writes it, and its place in the recency order (larger is more recent). */
  entry(ruleId: string, groupKey: string): { state: TermsState; order: number } | undefined {
    const held = this.store.peek(ruleId, groupKey);
    return held && { state: termsSnapshot(held.state), order: held.order };
  }

  /** (ruleId, groupKey) of the baselines changed or dropped since the last call; forgets them. */
  drainChanged(): Array<[string, string]> {
    return this.store.drainChanged();
  }

  /** Adds a snapshot's baseline, within this engine's limits (the most recently seen terms are kept). */
  restore(ruleId: string, groupKey: string, snapshot: TermsState, historyMs: number): void {
    const terms = new LruMap<number>();
    for (const [term, seen] of snapshot.terms.slice(-this.limits.maxTermsPerGroup)) terms.touch(term, seen);
    const state: LiveTermsState = { since: snapshot.since, watermark: snapshot.watermark, terms };
    this.store.put(ruleId, groupKey, state);
    this.termCount += terms.size;
    this.prune(state, historyMs);
    this.cap(state);
  }

  clear(): void {
    this.store.clear();
    this.termCount = 0;
  }
}

function termsSnapshot(state: LiveTermsState): TermsState {
  return { kind: 'terms', since: state.since, watermark: state.watermark, terms: [...state.terms.entries()] };
}
