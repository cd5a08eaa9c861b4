import { z } from 'zod';
import { LruMap } from '../state/lru.ts';
import { MemoryStateStore } from '../state/store.ts';
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
 * The learning clock (first and newest event of a group) is kept once per group for all the rules that group
 * the same way over the same history (a "clock family": the four starter baselines are one), and moved once per
 * event; each rule keeps only its terms in the group's clock. A rule loaded after a group started learning
 * (a reload) learns from its load on, not from the group's first event.
 *
 * Time is event time, per group, as for the other correlation types:
 * - an event older than the group's newest minus allowedLatenessMs is late: neither judged nor learned
 *   (lateEvents, once per rule of the family), as a late hit of a window rule does not count;
 * - within the lateness, an event arriving out of order is judged against every term seen so far, including
 *   ones stamped after it: a term that arrives out of order alerts at most once, on the copy that came first;
 * - a group whose newest event is older than the engine's event time minus `history` and the lateness starts
 *   over and learns again (the same whether idle eviction already dropped it or not).
 * Memory: a rule's terms past every acceptable event's history are pruned when it next judges the group; a
 * rule keeps at most maxTermsPerGroup terms per group (least recently seen go, and count as new when seen
 * again); clocks and terms together weigh at most maxNewTerms (a clock one, each term one; least recently used
 * groups go with all their rules' terms and learn again). Eviction can make a rule miss a new term; it cannot
 * make a known term alert, except in the group that overflowed its own cap.
 */
export const TermsStateSchema = z.object({
  kind: z.literal('terms'),
  /** Event time of the group's first learned event: learning counts from here. */
  since: z.number(),
  /** The group's newest event time. */
  watermark: z.number(),
  /** [term, last seen (event time)], least recently seen first. */
  terms: z.array(z.tuple([z.string(), z.number()])),
  /**
   * The rule learns from here at the earliest (it was loaded after the group started learning); null when it
   * learns from `since`. Absent in snapshots written before clock families: there `since` is the rule's own.
   */
  notBefore: z.number().nullable().optional(),
});
export type TermsState = z.infer<typeof TermsStateSchema>;

/** One rule's terms in a group's clock. */
interface RuleTerms {
  /** See TermsState.notBefore; -Infinity for none. */
  notBefore: number;
  terms: LruMap<number>;
}

/** A group's learning clock, shared by the rules of one family, and each rule's terms in the group. */
export interface LearningClock {
  since: number;
  watermark: number;
  rules: Map<string, RuleTerms>;
}

/** Rules grouping the same way over the same history: they share each group's learning clock. */
export interface ClockFamily {
  key: string;
  historyMs: number;
  ruleIds: readonly string[];
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
function idle(clock: LearningClock, now: number, historyMs: number, latenessMs: number): boolean {
  return clock.watermark < now - historyMs - latenessMs;
}

export class Baselines {
  /** Clocks keyed by (family key, group key). */
  private readonly store = new MemoryStateStore<LearningClock>();
  private readonly families = new Map<string, ClockFamily>();
  private readonly familyOfRule = new Map<string, ClockFamily>();
  /** Event time at which a rule was loaded into a running engine (absent: loaded with the engine). */
  private readonly loadedAt = new Map<string, number>();
  private termCount = 0;
  /** Clocks plus terms, the measure maxNewTerms bounds. */
  private get weight(): number {
    return this.store.size + this.termCount;
  }
  /** Terms a group dropped at maxTermsPerGroup; groups dropped at maxNewTerms; idle groups dropped. */
  readonly evictions = { termsPerGroupCap: 0, baselinesCap: 0, baselinesIdle: 0 };

  constructor(private readonly limits: BaselineLimits) {}

  /** The loaded rules' families (after a reload too; see dropRules for the state of rules that changed). */
  install(families: readonly ClockFamily[]): void {
    this.families.clear();
    this.familyOfRule.clear();
    for (const family of families) {
      this.families.set(family.key, family);
      for (const ruleId of family.ruleIds) this.familyOfRule.set(ruleId, family);
    }
  }

  /** Groups observed (one clock each, whatever the number of rules sharing it). */
  get groups(): number {
    return this.store.size;
  }

  get terms(): number {
    return this.termCount;
  }

  /**
   * Moves the group's learning clock to an event at event time `t` (`now`: the engine's event time); returns
   * the clock, or undefined when the event is late for the group (counted once per rule of the family). A
   * group idle since before `now` minus the history and the lateness starts over, exactly as if idle eviction
   * (expire) had dropped it already.
   */
  tick(family: ClockFamily, groupKey: string, t: number, now: number, counters: CorrelationCounters) {
    const lateness = this.limits.allowedLatenessMs;
    let clock = this.store.use(family.key, groupKey);
    if (clock && idle(clock, now, family.historyMs, lateness)) {
      this.forgetTerms(clock);
      clock = undefined;
    }
    if (clock && t < clock.watermark - lateness) {
      counters.lateEvents += family.ruleIds.length;
      return undefined;
    }
    if (!clock) {
      clock = { since: t, watermark: t, rules: new Map() };
      this.store.put(family.key, groupKey, clock);
      this.cap(clock);
      return clock;
    }
    if (t > clock.watermark) clock.watermark = t;
    if (t < clock.since) clock.since = t;
    return clock;
  }

  /** Judges and learns a rule's term at event time `t` in a clock tick() returned; true when it is new. */
  judge(clock: LearningClock, ruleId: string, term: string, t: number, spec: NewTermsSpec): boolean {
    let rule = clock.rules.get(ruleId);
    if (!rule) {
      rule = { notBefore: this.loadedAt.get(ruleId) ?? Number.NEGATIVE_INFINITY, terms: new LruMap() };
      clock.rules.set(ruleId, rule);
    } else this.prune(rule, clock.watermark, spec.historyMs);
    const last = rule.terms.get(term);
    const since = Math.max(clock.since, rule.notBefore);
    const isNew = (last === undefined || last < t - spec.historyMs) && t - since >= spec.learningMs;
    rule.terms.touch(term, last === undefined ? t : Math.max(last, t));
    if (last === undefined) {
      this.termCount++;
      this.cap(clock, rule);
    }
    return isNew;
  }

  /** Drops terms no acceptable event can find any more (seen before the newest minus lateness and history). */
  private prune(rule: RuleTerms, watermark: number, historyMs: number): void {
    const horizon = watermark - this.limits.allowedLatenessMs - historyMs;
    const oldest = rule.terms.oldest();
    if (oldest !== undefined && oldest < horizon) {
      this.termCount -= rule.terms.evictWhile((seen) => seen < horizon);
    }
  }

  /** Applies the per-group cap to `rule`'s terms, then the global one (to other groups than `clock`). */
  private cap(clock: LearningClock, rule?: RuleTerms): void {
    if (rule) {
      const overflow = rule.terms.evictOverflow(this.limits.maxTermsPerGroup);
      this.termCount -= overflow;
      this.evictions.termsPerGroupCap += overflow;
    }
    if (this.weight <= this.limits.maxNewTerms) return;
    this.evictions.baselinesCap += this.store.evictLeastRecent(
      (next) => next.state !== clock && this.weight > this.limits.maxNewTerms,
      (entry) => this.forgetTerms(entry.state),
    );
  }

  private forgetTerms(clock: LearningClock): void {
    for (const rule of clock.rules.values()) this.termCount -= rule.terms.size;
    clock.rules.clear();
  }

  /**
   * Drops groups idle (engine event time `now`) for longer than their family's history plus the lateness (or
   * the idle TTL, when longer): tick() would start them over anyway. Groups of a family no rule uses any more
   * go too.
   */
  expire(now: number): void {
    const { stateIdleTtlMs, allowedLatenessMs } = this.limits;
    this.evictions.baselinesIdle += this.store.evictExpired(
      ({ ruleId: familyKey, state }) => {
        const family = this.families.get(familyKey);
        if (!family) return true;
        return idle(
          state,
          now,
          Math.max(stateIdleTtlMs - allowedLatenessMs, family.historyMs),
          allowedLatenessMs,
        );
      },
      (entry) => this.forgetTerms(entry.state),
    );
  }

  /**
   * After install(): drops what the given rules (changed or removed) learned, and has them and `added` learn
   * from engine event time `now` on. Returns how many (rule, group) baselines were dropped.
   */
  dropRules(stale: ReadonlySet<string>, added: readonly string[], now: number): number {
    let dropped = 0;
    for (const ruleId of [...stale, ...added]) {
      if (this.familyOfRule.has(ruleId)) this.loadedAt.set(ruleId, now);
      else this.loadedAt.delete(ruleId);
    }
    for (const entry of [...this.store.entries()]) {
      const family = this.families.get(entry.ruleId);
      for (const [ruleId, rule] of entry.state.rules) {
        if (!stale.has(ruleId) && family?.ruleIds.includes(ruleId)) continue;
        this.termCount -= rule.terms.size;
        entry.state.rules.delete(ruleId);
        dropped++;
      }
      if (!family) this.store.delete(entry.ruleId, entry.groupKey);
      // Read for change: the group's entries are written again (with the rules' new load time).
      else this.store.get(entry.ruleId, entry.groupKey);
    }
    return dropped;
  }

  /** Every (rule, group) baseline as a snapshot writes it, least recently used group first. */
  *snapshot(): Iterable<{ ruleId: string; groupKey: string; state: TermsState }> {
    for (const { ruleId: familyKey, groupKey, state } of this.store.entries()) {
      for (const ruleId of this.families.get(familyKey)?.ruleIds ?? []) {
        yield { ruleId, groupKey, state: this.termsSnapshot(state, ruleId) };
      }
    }
  }

  /**
   * One baseline as a snapshot writes it, and its place in the recency order (larger is more recent), built
   * when called; undefined when there is no such baseline.
   */
  entry(ruleId: string, groupKey: string): (() => { state: TermsState; order: number }) | undefined {
    const family = this.familyOfRule.get(ruleId);
    const held = family && this.store.peek(family.key, groupKey);
    return held && (() => ({ state: this.termsSnapshot(held.state, ruleId), order: held.order }));
  }

  /** (ruleId, groupKey) of the baselines changed or dropped since the last call; forgets them. */
  drainChanged(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const [familyKey, groupKey] of this.store.drainChanged()) {
      for (const ruleId of this.families.get(familyKey)?.ruleIds ?? []) out.push([ruleId, groupKey]);
    }
    return out;
  }

  /** Adds a snapshot's baseline of a loaded rule, within this engine's limits (the most recently seen terms). */
  restore(ruleId: string, groupKey: string, snapshot: TermsState): void {
    const family = this.familyOfRule.get(ruleId);
    if (!family) return;
    let clock = this.store.get(family.key, groupKey);
    if (!clock) {
      clock = { since: snapshot.since, watermark: snapshot.watermark, rules: new Map() };
      this.store.put(family.key, groupKey, clock);
    } else {
      clock.since = Math.min(clock.since, snapshot.since);
      clock.watermark = Math.max(clock.watermark, snapshot.watermark);
    }
    const terms = new LruMap<number>();
    for (const [term, seen] of snapshot.terms.slice(-this.limits.maxTermsPerGroup)) terms.touch(term, seen);
    // Written before families, `since` was the rule's own: it learns from there at the earliest.
    const notBefore = snapshot.notBefore === undefined ? snapshot.since : snapshot.notBefore;
    const rule: RuleTerms = { notBefore: notBefore ?? Number.NEGATIVE_INFINITY, terms };
    clock.rules.set(ruleId, rule);
    this.termCount += terms.size;
    this.prune(rule, clock.watermark, family.historyMs);
    this.cap(clock, rule);
  }

  /**
   * After restore(): a rule of a restored group with no baseline in the snapshot was not loaded when it was
   * written, so it learns from the snapshot's event time on.
   */
  finishRestore(eventTime: number): void {
    for (const { ruleId: familyKey, state } of this.store.entries()) {
      for (const ruleId of this.families.get(familyKey)?.ruleIds ?? []) {
        if (!state.rules.has(ruleId)) state.rules.set(ruleId, { notBefore: eventTime, terms: new LruMap() });
      }
    }
  }

  clear(): void {
    this.store.clear();
    this.loadedAt.clear();
    this.termCount = 0;
  }

  private termsSnapshot(clock: LearningClock, ruleId: string): TermsState {
    const rule = clock.rules.get(ruleId);
    const notBefore = rule?.notBefore ?? this.loadedAt.get(ruleId) ?? Number.NEGATIVE_INFINITY;
    return {
      kind: 'terms',
      since: clock.since,
      watermark: clock.watermark,
      terms: rule ? [...rule.terms.entries()] : [],
      notBefore: Number.isFinite(notBefore) ? notBefore : null,
    };
  }
}
