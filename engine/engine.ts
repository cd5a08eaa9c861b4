import type { Clock } from '../core/clock.ts';
import { EdrError } from '../core/errors.ts';
import type { Alert } from './alert.ts';
import { type AlertDraft, draftAlert, finishAlert } from './alerts.ts';
import type { FactContext } from './conditions/facts.ts';
import { EvalContext } from './context.ts';
import {
  type AbsenceState,
  absenceHit,
  absenceWeight,
  newAbsenceState,
  takePending,
  triggerWeight,
} from './correlation/absence.ts';
import { findAllOf, mayCompleteAllOf } from './correlation/all-of.ts';
import { DeadlineQueue } from './correlation/deadlines.ts';
import {
  admitHit,
  type BufferState,
  type CorrelationCounters,
  type Hit,
  newBufferState,
  newHit,
} from './correlation/hits.ts';
import { findMetric, metricValue } from './correlation/metric.ts';
import { Baselines, type ClockFamily, type LearningClock } from './correlation/new-terms.ts';
import { findSequence } from './correlation/sequence.ts';
import { findThreshold } from './correlation/threshold.ts';
import { buildDispatch, type Dispatch } from './dispatch.ts';
import { type AssetInventory, EMPTY_INVENTORY } from './enrichment/assets.ts';
import { EMPTY_INTEL, type IntelIndex } from './enrichment/intel.ts';
import { DEFAULT_LIMITS, type EngineLimits } from './limits.ts';
import { type Envelope, timestampMillis } from './model/index.ts';
import { RuleCounts } from './rule-counts.ts';
import type { CompiledRule } from './rules/compile.ts';
import type { RuleSet } from './rules/ruleset.ts';
import { SessionTracker } from './sessions.ts';
import {
  DEDUPE_SEGMENT,
  ENGINE_SNAPSHOT_VERSION,
  type EngineSnapshot,
  EngineSnapshotSchema,
  entryName,
  type LiveCorrelationState,
  liveState,
  parseEntryName,
  type StateMeta,
  snapshotState,
} from './snapshot.ts';
import { ChangedPairs } from './state/changes.ts';
import { DedupeWindow } from './state/dedupe.ts';
import { stateKey } from './state/keys.ts';
import { LruMap } from './state/lru.ts';
import { MemoryStateStore, type StateStore } from './state/store.ts';

export interface EngineOptions {
  rules: RuleSet;
  intel?: IntelIndex;
  assets?: AssetInventory;
  /** Read once per event for `detectedAt` and to bound clock skew; never Date.now(). */
  clock: Clock;
  limits?: Partial<EngineLimits>;
  /** Defaults to an in-memory LRU store. */
  store?: StateStore<LiveCorrelationState>;
}

export interface EngineStats {
  eventsProcessed: number;
  duplicatesDropped: number;
  /** Events whose timestamp could not be read; they are skipped. */
  invalidEvents: number;
  /**
   * Events that counted at an earlier time than their timestamp: further ahead than maxClockSkewMs of their
   * receivedAt or of the clock, or carrying an untrusted clock (integrity.clock), which counts as the present.
   */
  timeBounded: number;
  /** Hits too late for their correlation state (see EngineLimits.allowedLatenessMs). */
  lateEvents: number;
  alerts: number;
  alertsSuppressed: number;
  alertsByRule: Record<string, number>;
  suppressedByRule: Record<string, number>;
  state: {
    sessions: number;
    /** Distinct targets held over all sessions. */
    targets: number;
    correlationStates: number;
    /** Partial-match events held across all correlation states. */
    partialMatches: number;
    suppressions: number;
    dedupeEntries: number;
    pendingDeadlines: number;
    /** new_terms baselines (one per rule and group) and the terms they hold. */
    baselines: number;
    terms: number;
  };
  /** How often each bound bit. */
  evictions: {
    sessionsIdle: number;
    sessionsCap: number;
    /** Sessions forgotten to keep all sessions within maxTargets distinct targets. */
    sessionsTargets: number;
    statesIdle: number;
    statesCap: number;
    /** Correlation states dropped to keep all states within maxPartialMatches. */
    statesPartialMatches: number;
    partialMatchesCap: number;
    suppressionsCap: number;
    dedupeCap: number;
    targetsCapped: number;
    /** Terms a new_terms baseline dropped at maxTermsPerGroup. */
    termsPerGroupCap: number;
    /** Baselines dropped to keep all terms within maxNewTerms. */
    baselinesCap: number;
    /** Baselines idle for longer than their history plus the lateness. */
    baselinesIdle: number;
  };
  /** The engine's event time (ISO), null before the first event. */
  eventTime: string | null;
}

export interface ReloadReport {
  added: string[];
  removed: string[];
  changed: string[];
  /** Correlation states dropped because their rule was removed or changed. */
  statesDropped: number;
}

export interface DetectionEngine {
  /**
   * Evaluates one event; returns the alerts it completed (and absence alerts whose deadline it passed).
   * Most events complete none: they all get the same frozen empty list.
   */
  process(event: Envelope): readonly Alert[];
  processBatch(events: Iterable<Envelope>): Alert[];
  /** Replaces rules, intel and/or inventory; sessions, suppression and dedupe are kept, and so is the
   * correlation state of every rule whose definition did not change. */
  reload(update: { rules?: RuleSet; intel?: IntelIndex; assets?: AssetInventory }): ReloadReport;
  snapshot(): EngineSnapshot;
  /** Replaces all state with a snapshot's; returns how many correlation states were dropped (rule gone or changed). */
  restore(snapshot: unknown): { statesDropped: number };
  /**
   * Names of the state entries (snapshot.ts) changed, added or removed since the last call, a restore's
   * included; forgets them. Work in proportion to the changes, whatever the state holds.
   */
  drainChanges(): string[];
  /** The value of one state entry as an incremental checkpoint writes it; undefined when the state has none. */
  entry(name: string): unknown;
  /** Whether the state has the entry, as entry(name) !== undefined without building its value. */
  holds(name: string): boolean;
  /** What every incremental checkpoint writes beside the entries. */
  stateMeta(): StateMeta;
  stats(): EngineStats;
}

const NO_ALERTS: readonly Alert[] = Object.freeze([]);

/** How often (in events) idle state is swept; the sweeps pop from LRU fronts, so they are cheap. */
const MAINTENANCE_INTERVAL = 1024;

class Engine implements DetectionEngine {
  private rules: CompiledRule[] = [];
  private rulesById = new Map<string, CompiledRule>();
  private dispatch: Dispatch = buildDispatch([]);
  private masks = new Int32Array(0);
  /** Rule positions matched by the current event, in first-match order: the first `touchedCount` entries. */
  private touched = new Int32Array(0);
  private windowOf = new Map<string, number>();
  /** By rule position: the rules (positions) and roles each match of it is a hit of (chained correlations). */
  private feedTargets: Array<Array<{ index: number; mask: number }> | undefined> = [];
  /** Alerts of chained correlations raised while the current event is processed. */
  private chained: Alert[] | undefined;

  private readonly limits: EngineLimits;
  private readonly clock: Clock;
  private readonly context: EvalContext;
  private readonly sessions: SessionTracker;
  private readonly store: StateStore<LiveCorrelationState>;
  /** Per rule id: suppression key → suppressed until (event time). */
  private readonly suppressions = new Map<string, LruMap<number>>();
  /** The same maps by rule position, filled on first use, so the per-event check skips the id lookup. */
  private suppressionSlots: Array<LruMap<number> | undefined> = [];
  /** Suppression windows held over all rules. */
  private suppressionCount = 0;
  /** (rule id, suppression key) of windows opened or closed since the changes were last drained. */
  private readonly changedSuppressions = new ChangedPairs();
  private readonly dedupe: DedupeWindow;
  private readonly deadlines = new DeadlineQueue();
  private readonly baselines: Baselines;
  /** The loaded new_terms rules' clock families, each with the group key of its first rule. */
  private clockFamilies: Array<ClockFamily & { groupKey: (context: FactContext) => string }> = [];
  /** Per rule position, its clock family's position (new_terms rules only). */
  private familyOfRule: number[] = [];
  /** Per family, the current event's clock in its group; undefined when the event is late for the group. */
  private eventClocks: Array<LearningClock | undefined> = [];
  /** Partial matches held over all correlation states, by weight (see partialWeight). */
  private partialMatches = 0;
  /** Pending absence triggers the partial-match budget can hold at most. */
  private readonly maxPendingTriggers: number;

  private seq = 0;
  private eventTime = Number.NEGATIVE_INFINITY;
  private readonly correlation: CorrelationCounters = { lateEvents: 0, hitsDropped: 0 };
  private readonly counts = {
    eventsProcessed: 0,
    duplicatesDropped: 0,
    invalidEvents: 0,
    timeBounded: 0,
    alerts: 0,
    alertsSuppressed: 0,
    statesIdle: 0,
    statesCap: 0,
    statesPartialMatches: 0,
    suppressionsCap: 0,
  };
  private readonly alertsByRule = new RuleCounts();
  private readonly suppressedByRule = new RuleCounts();

  constructor(options: EngineOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.maxPendingTriggers = Math.ceil(this.limits.maxPartialMatches / triggerWeight(this.limits));
    this.clock = options.clock;
    this.context = new EvalContext(options.intel ?? EMPTY_INTEL, options.assets ?? EMPTY_INVENTORY);
    this.sessions = new SessionTracker(this.limits);
    this.dedupe = new DedupeWindow(this.limits.dedupeCapacity);
    this.store = options.store ?? new MemoryStateStore<LiveCorrelationState>();
    this.baselines = new Baselines(this.limits);
    this.installRules(options.rules);
  }

  private installRules(set: RuleSet): void {
    for (const rule of set.rules) {
      const spec = rule.correlation;
      const needed = spec.type === 'threshold' ? Math.max(spec.minCount, spec.distinct?.min ?? 0) : 0;
      if (needed > this.limits.maxHitsPerState) {
        throw new EdrError(
          'EDR_ERR_RULE_INVALID',
          `rule ${rule.id} needs ${needed} events in one window but limits.maxHitsPerState is ${this.limits.maxHitsPerState}`,
        );
      }
    }
    this.rules = set.rules;
    const ids = set.rules.map((rule) => rule.id);
    this.alertsByRule.install(ids);
    this.suppressedByRule.install(ids);
    this.rulesById = new Map(set.rules.map((rule) => [rule.id, rule]));
    this.dispatch = buildDispatch(set.rules);
    this.masks = new Int32Array(set.rules.length);
    this.touched = new Int32Array(set.rules.length);
    this.suppressionSlots = new Array(set.rules.length);
    const positions = new Map(set.rules.map((rule, index) => [rule.id, index]));
    this.feedTargets = set.rules.map((rule) =>
      rule.feeds?.flatMap(({ ruleId, mask }) => {
        const index = positions.get(ruleId);
        return index === undefined ? [] : [{ index, mask }];
      }),
    );
    this.installClockFamilies(set.rules);
    // A window rule's state lasts its window; a new_terms baseline its history.
    this.windowOf = new Map(
      set.rules.map((r) => {
        const spec = r.correlation;
        return [r.id, spec.type === 'match' ? 0 : spec.type === 'new_terms' ? spec.historyMs : spec.windowMs];
      }),
    );
  }

  private installClockFamilies(rules: readonly CompiledRule[]): void {
    const byKey = new Map<string, number>();
    this.clockFamilies = [];
    this.familyOfRule = [];
    rules.forEach((rule, ruleIndex) => {
      const spec = rule.correlation;
      if (spec.type !== 'new_terms') return;
      let index = byKey.get(spec.clock);
      if (index === undefined) {
        index = this.clockFamilies.length;
        byKey.set(spec.clock, index);
        this.clockFamilies.push({
          key: spec.clock,
          historyMs: spec.historyMs,
          ruleIds: [],
          groupKey: rule.groupKey,
        });
      }
      (this.clockFamilies[index]!.ruleIds as string[]).push(rule.id);
      this.familyOfRule[ruleIndex] = index;
    });
    this.eventClocks = new Array(this.clockFamilies.length);
    this.baselines.install(this.clockFamilies);
  }

  process(event: Envelope): readonly Alert[] {
    const sent = timestampMillis(event.timestamp);
    if (Number.isNaN(sent)) {
      this.counts.invalidEvents++;
      return NO_ALERTS;
    }
    const now = this.clock();
    const time = this.countedTime(event, sent, now);
    if (!this.dedupe.admit(event.agentId, event.eventId, time)) {
      this.counts.duplicatesDropped++;
      return NO_ALERTS;
    }
    if (time > this.eventTime) this.eventTime = time;
    const seq = ++this.seq;
    this.counts.eventsProcessed++;

    const session = this.sessions.observe(event, time);
    const context = this.context;
    context.reset(event, session);
    const families = this.clockFamilies;
    for (let i = 0; i < families.length; i++) {
      const family = families[i]!;
      const groupKey = this.boundedKey(family.groupKey(context));
      this.eventClocks[i] = this.baselines.tick(family, groupKey, time, this.eventTime, this.correlation);
    }

    const evaluate = this.dispatch.byType.get(event.eventType) ?? this.dispatch.anyType;
    const masks = this.masks;
    const touched = this.touched;
    const touchedCount = evaluate(context, masks, touched);

    let alerts: Alert[] | undefined;
    for (let i = 0; i < touchedCount; i++) {
      const ruleIndex = touched[i]!;
      const mask = masks[ruleIndex]!;
      masks[ruleIndex] = 0;
      const alert = this.correlate(ruleIndex, time, seq, mask, now);
      if (alert) {
        alerts ??= [];
        alerts.push(alert);
      }
    }
    if (this.chained) {
      alerts = alerts ? alerts.concat(this.chained) : this.chained;
      this.chained = undefined;
    }
    if (this.deadlines.size > 0) alerts = this.fireDeadlines(now, alerts);
    if (alerts) {
      for (const alert of alerts) this.sessions.recordAlert(alert.agentId, alert.sessionId, alert.severity);
    }
    if (this.counts.eventsProcessed % MAINTENANCE_INTERVAL === 0) this.maintain();
    return alerts ?? NO_ALERTS;
  }

  /**
   * The time an event counts at, for every clock it moves (the engine's, its session's, its correlation
   * states', suppression windows): its timestamp, but no further than maxClockSkewMs past its receivedAt or
   * the clock, and an untrusted clock (integrity.clock, set by the time policy) no later than the engine's
   * present. So no event can move a clock far ahead and make later events look late.
   */
  private countedTime(event: Envelope, sent: number, now: number): number {
    const skew = this.limits.maxClockSkewMs;
    let time = Math.min(sent, now + skew);
    // Most envelopes come from parseRecord, whose receivedAt is the timestamp itself or already bounds it.
    if (event.receivedAt !== event.timestamp) {
      const arrival = timestampMillis(event.receivedAt);
      if (arrival + skew < time) time = arrival + skew;
    }
    const integrity = event.integrity;
    if (integrity !== undefined && integrity.clock !== undefined && time > this.eventTime) {
      if (Number.isFinite(this.eventTime)) time = this.eventTime;
    }
    if (time < sent) this.counts.timeBounded++;
    return time;
  }

  /** A key the state keeps, within maxStateKeyChars; the session key is made of bounded ids and kept whole. */
  private boundedKey(key: string): string {
    return key === this.context.sessionKey() ? key : stateKey(key, this.limits.maxStateKeyChars);
  }

  /** What a correlation state weighs in the partial-match budget. */
  private partialWeight(state: LiveCorrelationState): number {
    return state.kind === 'buffer' ? state.hits.length : absenceWeight(state, this.limits);
  }

  /**
   * Counts a change of `state`'s weight and drops the least recently used other states while all of them
   * together are over maxPartialMatches.
   */
  private reweigh(state: LiveCorrelationState, before: number): void {
    this.partialMatches += this.partialWeight(state) - before;
    if (this.partialMatches <= this.limits.maxPartialMatches) return;
    this.counts.statesPartialMatches += this.store.evictLeastRecent(
      (next) => next.state !== state && this.partialMatches > this.limits.maxPartialMatches,
      (entry) => this.forgetState(entry.state),
    );
  }

  /** Takes a state that leaves the store out of the partial-match count. */
  private forgetState(state: LiveCorrelationState): void {
    this.partialMatches -= this.partialWeight(state);
  }

  processBatch(events: Iterable<Envelope>): Alert[] {
    const out: Alert[] = [];
    for (const event of events) out.push(...this.process(event));
    return out;
  }

  private bufferState(rule: CompiledRule, groupKey: string): BufferState {
    const existing = this.store.use(rule.id, groupKey);
    if (existing?.kind === 'buffer') return existing;
    const state = newBufferState();
    this.putState(rule.id, groupKey, state);
    return state;
  }

  private putState(ruleId: string, groupKey: string, state: LiveCorrelationState): void {
    this.store.put(ruleId, groupKey, state);
    if (this.store.size > this.limits.maxCorrelationStates) {
      this.counts.statesCap += this.store.evictLeastRecent(
        () => this.store.size > this.limits.maxCorrelationStates,
        (entry) => this.forgetState(entry.state),
      );
    }
  }

  private deleteState(ruleId: string, groupKey: string): void {
    const state = this.store.get(ruleId, groupKey);
    if (!state) return;
    this.forgetState(state);
    this.store.delete(ruleId, groupKey);
  }

  private correlate(
    ruleIndex: number,
    time: number,
    seq: number,
    mask: number,
    now: number,
  ): Alert | undefined {
    const rule = this.rules[ruleIndex]!;
    const context = this.context;
    const groupKey = this.boundedKey(rule.groupKey(context));
    const spec = rule.correlation;
    // Most matches of a busy match rule are suppressed: decide that before allocating anything.
    if (spec.type === 'match') {
      if (this.suppressed(rule, ruleIndex, groupKey, time)) return undefined;
      return this.raise(rule, ruleIndex, groupKey, [context.event.eventId], time, now);
    }
    const id = context.event.eventId;
    if (spec.type === 'new_terms') {
      const clock = this.eventClocks[this.familyOfRule[ruleIndex]!];
      const term = spec.term(context);
      if (clock === undefined || term === undefined) return undefined;
      const key = stateKey(term, this.limits.maxStateKeyChars);
      if (!this.baselines.judge(clock, rule.id, key, time, spec)) return undefined;
      if (this.suppressed(rule, ruleIndex, groupKey, time)) return undefined;
      return this.raise(rule, ruleIndex, groupKey, [id], time, now);
    }
    if (spec.type === 'absence') {
      const existing = this.store.use(rule.id, groupKey);
      const state = existing?.kind === 'absence' ? existing : newAbsenceState();
      if (state !== existing) this.putState(rule.id, groupKey, state);
      const hit = newHit(time, seq, id, mask);
      const before = this.partialWeight(state);
      const scheduled = absenceHit(state, hit, spec.windowMs, this.limits, this.correlation, () =>
        draftAlert(rule, context, groupKey, 1),
      );
      this.reweigh(state, before);
      if (scheduled) this.scheduleTrigger(rule.id, groupKey, hit, spec.windowMs);
      return undefined;
    }
    let value: string | undefined;
    if (spec.type === 'threshold' && spec.distinct) {
      const read = spec.distinct.read(context);
      value = stateKey(
        typeof read === 'string' ? read : String(JSON.stringify(read)),
        this.limits.maxStateKeyChars,
      );
    } else if (spec.type === 'threshold' && spec.metric) {
      const number = metricValue(spec.metric.read(context));
      if (number === undefined) return undefined;
      value = String(number);
    }
    const state = this.bufferState(rule, groupKey);
    const before = state.hits.length;
    const index = admitHit(state, time, seq, mask, id, value, spec.windowMs, this.limits, this.correlation);
    this.reweigh(state, before);
    if (index < 0) return undefined;
    let witness: string[] | undefined;
    switch (spec.type) {
      case 'sequence':
        witness = findSequence(state.hits, index, spec.windowMs, spec.stepMinimums);
        break;
      case 'threshold':
        witness = spec.metric
          ? findMetric(state.hits, index, spec.windowMs, spec.metric)
          : findThreshold(state.hits, index, spec.windowMs, spec.minCount, spec.distinct?.min);
        break;
      case 'all_of':
        if (mayCompleteAllOf(state, time, mask, index, spec.windowMs, rule.roles.length)) {
          witness = findAllOf(state.hits, index, spec.windowMs, rule.roles.length);
        }
        break;
    }
    if (!witness) return undefined;
    // A match consumes the group's partial state: one burst, one alert, and no event counted twice.
    this.deleteState(rule.id, groupKey);
    if (rule.feeds) this.feed(ruleIndex, time, seq, now);
    if (rule.silent) return undefined;
    if (this.suppressed(rule, ruleIndex, groupKey, time)) return undefined;
    return this.raise(rule, ruleIndex, groupKey, witness, time, now);
  }

  /**
   * A match of a correlation other correlations name is a hit of theirs, at the same event time and arrival
   * number, read in the context of the event that completed it. Chains are acyclic and at most
   * MAX_CHAIN_DEPTH deep (checked at load), so this recursion is bounded.
   */
  private feed(ruleIndex: number, time: number, seq: number, now: number): void {
    for (const { index, mask } of this.feedTargets[ruleIndex] ?? []) {
      const alert = this.correlate(index, time, seq, mask, now);
      if (!alert) continue;
      this.chained ??= [];
      this.chained.push(alert);
    }
  }

  private suppressionsOf(ruleId: string): LruMap<number> {
    let map = this.suppressions.get(ruleId);
    if (!map) {
      map = new LruMap((key) => this.changedSuppressions.add(ruleId, key));
      this.suppressions.set(ruleId, map);
    }
    return map;
  }

  /**
   * Whether suppression swallows this alert; when it does not, the alert opens a new suppression window.
   * `captured` is the draft of a deadline alert, which carries the suppression key of its trigger event.
   */
  private suppressed(
    rule: CompiledRule,
    ruleIndex: number,
    groupKey: string,
    timestamp: number,
    captured?: AlertDraft,
  ): boolean {
    const suppression = rule.suppression;
    if (!suppression) return false;
    const key = captured
      ? stateKey(captured.suppressionKey ?? groupKey, this.limits.maxStateKeyChars)
      : suppression.key === rule.groupKey
        ? groupKey
        : this.boundedKey(suppression.key(this.context));
    let suppressions = this.suppressionSlots[ruleIndex];
    if (!suppressions) {
      suppressions = this.suppressionsOf(rule.id);
      this.suppressionSlots[ruleIndex] = suppressions;
    }
    const until = suppressions.get(key);
    if (until !== undefined && timestamp <= until) {
      this.counts.alertsSuppressed++;
      this.suppressedByRule.add(ruleIndex);
      return true;
    }
    const held = suppressions.size;
    suppressions.touch(key, timestamp + suppression.windowMs);
    this.suppressionCount += suppressions.size - held;
    if (this.suppressionCount > this.limits.maxSuppressions) {
      // The rule whose windows grew past the budget gives up its least recent one.
      const evicted = suppressions.evictOverflow(suppressions.size - 1);
      this.suppressionCount -= evicted;
      this.counts.suppressionsCap += evicted;
    }
    return false;
  }

  /** Builds an alert that passed suppression; the draft is made only now (a deadline alert brings its own). */
  private raise(
    rule: CompiledRule,
    ruleIndex: number,
    groupKey: string,
    eventIds: readonly string[],
    timestamp: number,
    now: number,
    captured?: AlertDraft,
  ): Alert {
    this.counts.alerts++;
    this.alertsByRule.add(ruleIndex);
    const draft = captured ?? draftAlert(rule, this.context, groupKey, eventIds.length);
    return finishAlert(rule, draft, groupKey, eventIds, timestamp, now, this.limits.maxAlertEventIds);
  }

  /** Fires absence triggers whose deadline the engine's event time has passed by the allowed lateness. */
  private fireDeadlines(now: number, alerts: Alert[] | undefined): Alert[] | undefined {
    let out = alerts;
    for (let due = this.deadlines.popDue(this.eventTime); due; due = this.deadlines.popDue(this.eventTime)) {
      const rule = this.rulesById.get(due.ruleId);
      const state = this.store.get(due.ruleId, due.groupKey);
      if (rule?.correlation.type !== 'absence' || state?.kind !== 'absence') continue;
      const before = this.partialWeight(state);
      const trigger = takePending(state, due.seq);
      if (!trigger) continue;
      this.partialMatches += this.partialWeight(state) - before;
      const deadline = trigger.t + rule.correlation.windowMs;
      const ruleIndex = this.rules.indexOf(rule);
      if (this.suppressed(rule, ruleIndex, due.groupKey, deadline, trigger.draft)) continue;
      out ??= [];
      out.push(this.raise(rule, ruleIndex, due.groupKey, [trigger.id], deadline, now, trigger.draft));
    }
    return out;
  }

  private maintain(): void {
    const now = this.eventTime;
    this.dedupe.expire(now - this.limits.dedupeTtlMs);
    this.sessions.evictIdle(now);
    // Hits older than a rule's window plus the lateness can join no future match, so that is the floor.
    this.counts.statesIdle += this.store.evictExpired(
      ({ ruleId, state }) => {
        const windowMs = this.windowOf.get(ruleId) ?? 0;
        return (
          state.watermark <
          now - Math.max(this.limits.stateIdleTtlMs, windowMs + this.limits.allowedLatenessMs)
        );
      },
      (entry) => this.forgetState(entry.state),
    );
    // A suppression whose window closed before any acceptable late event can no longer suppress.
    this.baselines.expire(now);
    const closed = now - this.limits.allowedLatenessMs;
    for (const suppressions of this.suppressions.values()) {
      this.suppressionCount -= suppressions.evictWhile((until) => until < closed);
    }
    // Deadlines of triggers whose state was evicted stay queued until due. The budget holds at most
    // maxPartialMatches / (a trigger's weight) triggers; a queue past twice that is rebuilt from the states.
    if (this.deadlines.size > 2 * this.maxPendingTriggers + MAINTENANCE_INTERVAL) this.rescheduleAll();
  }

  private rescheduleAll(): void {
    this.deadlines.clear();
    for (const { ruleId, groupKey, state } of this.store.entries()) {
      const rule = this.rulesById.get(ruleId);
      if (state.kind === 'absence' && rule?.correlation.type === 'absence') {
        this.schedule(ruleId, groupKey, state, rule.correlation.windowMs);
      }
    }
  }

  reload(update: { rules?: RuleSet; intel?: IntelIndex; assets?: AssetInventory }): ReloadReport {
    const report: ReloadReport = { added: [], removed: [], changed: [], statesDropped: 0 };
    if (update.rules) {
      const before = this.rulesById;
      const after = new Map(update.rules.rules.map((rule) => [rule.id, rule]));
      this.installRules(update.rules);
      for (const [id, rule] of after) {
        const old = before.get(id);
        if (!old) report.added.push(id);
        else if (old.fingerprint !== rule.fingerprint) report.changed.push(id);
      }
      for (const id of before.keys()) if (!after.has(id)) report.removed.push(id);
      const stale = new Set([...report.removed, ...report.changed]);
      for (const entry of [...this.store.entries()]) {
        if (!stale.has(entry.ruleId)) continue;
        this.deleteState(entry.ruleId, entry.groupKey);
        report.statesDropped++;
      }
      report.statesDropped += this.baselines.dropRules(stale, report.added, this.eventTime);
    }
    if (update.intel) this.context.intelIndex = update.intel;
    if (update.assets) this.context.inventory = update.assets;
    return report;
  }

  snapshot(): EngineSnapshot {
    const correlation: EngineSnapshot['correlation'] = [];
    for (const { ruleId, groupKey, state } of this.store.entries()) {
      const rule = this.rulesById.get(ruleId);
      if (rule)
        correlation.push({ ruleId, fingerprint: rule.fingerprint, groupKey, state: snapshotState(state) });
    }
    for (const { ruleId, groupKey, state } of this.baselines.snapshot()) {
      const rule = this.rulesById.get(ruleId);
      if (rule) correlation.push({ ruleId, fingerprint: rule.fingerprint, groupKey, state });
    }
    return {
      version: ENGINE_SNAPSHOT_VERSION,
      seq: this.seq,
      eventTime: Number.isFinite(this.eventTime) ? this.eventTime : null,
      sessions: this.sessions.snapshot(),
      correlation,
      suppressions: [...this.suppressions].flatMap(([ruleId, map]) =>
        [...map.entries()].map(([key, until]): [string, string, number] => [ruleId, key, until]),
      ),
      dedupe: this.dedupe.entries(),
    };
  }

  restore(input: unknown): { statesDropped: number } {
    const parsed = EngineSnapshotSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new EdrError('EDR_ERR_CONFIG', `engine snapshot: ${issue.path.join('.')}: ${issue.message}`);
    }
    const snapshot = parsed.data;
    this.seq = snapshot.seq;
    this.eventTime = snapshot.eventTime ?? Number.NEGATIVE_INFINITY;
    this.sessions.restore(snapshot.sessions);
    this.store.clear();
    this.baselines.clear();
    this.deadlines.clear();
    this.partialMatches = 0;
    let statesDropped = 0;
    // Within this engine's limits, whatever the limits of the engine that wrote the snapshot.
    for (const { ruleId, fingerprint, groupKey, state } of snapshot.correlation) {
      const rule = this.rulesById.get(ruleId);
      if (!rule || rule.fingerprint !== fingerprint) {
        statesDropped++;
        continue;
      }
      if (state.kind === 'terms') {
        this.baselines.restore(ruleId, groupKey, state);
        continue;
      }
      const live = liveState(state, this.limits.maxHitsPerState);
      this.putState(ruleId, groupKey, live);
      this.reweigh(live, 0);
    }
    this.baselines.finishRestore(this.eventTime);
    this.rescheduleAll();
    this.suppressions.clear();
    this.suppressionSlots = new Array(this.rules.length);
    this.suppressionCount = 0;
    for (const [ruleId, key, until] of snapshot.suppressions) {
      const map = this.suppressionsOf(ruleId);
      const held = map.size;
      map.touch(key, until);
      this.suppressionCount += map.size - held;
      if (this.suppressionCount > this.limits.maxSuppressions)
        this.suppressionCount -= map.evictOverflow(map.size - 1);
    }
    this.dedupe.clear('dedupeFirst' in snapshot ? snapshot.dedupeFirst : undefined);
    for (const [agentId, eventId, time] of snapshot.dedupe) this.dedupe.admit(agentId, eventId, time);
    return { statesDropped };
  }

  drainChanges(): string[] {
    const names: string[] = [];
    for (const [agentId, sessionId] of this.sessions.drainChanged())
      names.push(entryName(['s', agentId, sessionId]));
    for (const [ruleId, groupKey] of this.store.drainChanged())
      names.push(entryName(['c', ruleId, groupKey]));
    for (const [ruleId, groupKey] of this.baselines.drainChanged())
      names.push(entryName(['c', ruleId, groupKey]));
    for (const [ruleId, key] of this.changedSuppressions.drain()) names.push(entryName(['x', ruleId, key]));
    const { changed, removed } = this.dedupe.drainSegments(DEDUPE_SEGMENT);
    for (const segment of [...removed, ...changed]) names.push(entryName(['d', segment]));
    return names;
  }

  entry(text: string): unknown {
    return this.locate(text)?.();
  }

  holds(text: string): boolean {
    return this.locate(text) !== undefined;
  }

  /** How to write a state entry the engine holds, or undefined when it holds none: holds() builds nothing. */
  private locate(text: string): (() => unknown) | undefined {
    const name = parseEntryName(text);
    if (!name) return undefined;
    if (name[0] === 'd') {
      const ids = this.dedupe.segment(name[1], DEDUPE_SEGMENT);
      const start = Math.max(name[1] * DEDUPE_SEGMENT, this.dedupe.first);
      return ids.length === 0 ? undefined : () => ({ start, ids });
    }
    const [family, first, second] = name;
    if (family === 's') {
      const held = this.sessions.snapshotOf(first, second);
      return (
        held &&
        (() => {
          const { session, order } = held();
          return { ...session, order };
        })
      );
    }
    if (family === 'x') {
      const held = this.suppressions.get(first)?.peek(second);
      return held && (() => ({ order: held.stamp, until: held.value }));
    }
    // As in snapshot(): the states of a rule no longer loaded are not written.
    const rule = this.rulesById.get(first);
    if (!rule) return undefined;
    const live = this.store.peek(first, second);
    if (live) {
      return () => ({ order: live.order, fingerprint: rule.fingerprint, state: snapshotState(live.state) });
    }
    const baseline = this.baselines.entry(first, second);
    return (
      baseline &&
      (() => {
        const { order, state } = baseline();
        return { order, fingerprint: rule.fingerprint, state };
      })
    );
  }

  stateMeta(): StateMeta {
    return {
      version: ENGINE_SNAPSHOT_VERSION,
      seq: this.seq,
      eventTime: Number.isFinite(this.eventTime) ? this.eventTime : null,
      dedupeFirst: this.dedupe.first,
    };
  }

  private schedule(ruleId: string, groupKey: string, state: AbsenceState, windowMs: number): void {
    for (const trigger of state.pending) this.scheduleTrigger(ruleId, groupKey, trigger, windowMs);
  }

  private scheduleTrigger(ruleId: string, groupKey: string, trigger: Hit, windowMs: number): void {
    const due = trigger.t + windowMs + this.limits.allowedLatenessMs;
    this.deadlines.push({ due, ruleId, groupKey, seq: trigger.seq });
  }

  stats(): EngineStats {
    let partialMatches = 0;
    for (const { state } of this.store.entries()) {
      partialMatches += state.kind === 'buffer' ? state.hits.length : state.pending.length;
    }
    const sessions = this.sessions.counters;
    return {
      eventsProcessed: this.counts.eventsProcessed,
      duplicatesDropped: this.counts.duplicatesDropped,
      invalidEvents: this.counts.invalidEvents,
      timeBounded: this.counts.timeBounded,
      lateEvents: this.correlation.lateEvents,
      alerts: this.counts.alerts,
      alertsSuppressed: this.counts.alertsSuppressed,
      alertsByRule: this.alertsByRule.byId(),
      suppressedByRule: this.suppressedByRule.byId(),
      state: {
        sessions: this.sessions.size,
        targets: this.sessions.targets,
        correlationStates: this.store.size,
        partialMatches,
        suppressions: this.suppressionCount,
        dedupeEntries: this.dedupe.size,
        pendingDeadlines: this.deadlines.size,
        baselines: this.baselines.groups,
        terms: this.baselines.terms,
      },
      evictions: {
        sessionsIdle: sessions.sessionsEvictedIdle,
        sessionsCap: sessions.sessionsEvictedCap,
        sessionsTargets: sessions.sessionsEvictedTargets,
        statesIdle: this.counts.statesIdle,
        statesCap: this.counts.statesCap,
        statesPartialMatches: this.counts.statesPartialMatches,
        partialMatchesCap: this.correlation.hitsDropped,
        suppressionsCap: this.counts.suppressionsCap,
        dedupeCap: this.dedupe.evictedForCapacity,
        targetsCapped: sessions.targetsCapped,
        ...this.baselines.evictions,
      },
      eventTime: Number.isFinite(this.eventTime) ? new Date(this.eventTime).toISOString() : null,
    };
  }
}

/** Builds an engine; throws EdrError EDR_ERR_RULE_INVALID when a rule cannot run within the limits. */
export function createEngine(options: EngineOptions): DetectionEngine {
  return new Engine(options);
}
