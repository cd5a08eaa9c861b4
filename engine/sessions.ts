import { z } from 'zod';
import type { Severity } from '../core/severity.ts';
import type { EngineLimits } from './limits.ts';
import type { Envelope } from './model/index.ts';
import { ChangedPairs } from './state/changes.ts';
import { stateKey } from './state/keys.ts';
import { type LruLinks, LruList } from './state/lru.ts';
import { StringSet } from './state/string-set.ts';

/**
 * Per agent+session state and its risk score, exposed to rules as `session.*`:
 * agentId, sessionId, firstSeen and lastSeen (epoch ms, event time), durationMs, eventCount,
 * violationCount (denied events), warnCount, distinctTargets, distinctTargetRatio, alertCount, riskScore.
 *
 * riskScore (0-100), from the reference formula:
 *   violationCount × 10
 * + 20 when distinctTargetRatio > 0.8, once the session has at least RATIO_MIN_EVENTS events
 *   (below that every short session would look like a scan)
 * + 15 when the session has lasted more than 120 minutes
 * + the points of the alerts raised in it (ALERT_POINTS)
 * capped at 100. Facts are read before the current event's alerts are added.
 */
export const RATIO_MIN_EVENTS = 10;
export const LONG_SESSION_MS = 120 * 60_000;
export const ALERT_POINTS: Readonly<Record<Severity, number>> = {
  info: 0,
  low: 5,
  medium: 10,
  high: 15,
  critical: 25,
};

export interface SessionFacts {
  agentId: string;
  sessionId: string;
  firstSeen: number;
  lastSeen: number;
  durationMs: number;
  eventCount: number;
  violationCount: number;
  warnCount: number;
  distinctTargets: number;
  distinctTargetRatio: number;
  alertCount: number;
  riskScore: number;
}

/** What evaluating an event needs of its session. */
export interface ObservedSession {
  readonly facts: SessionFacts;
  /** `agentId|sessionId`, the rules' default group key, built once per session rather than per event. */
  readonly groupKey: string;
}

interface Session extends ObservedSession, LruLinks<Session> {
  alertPoints: number;
  /** Distinct targets (as state keys: a long one as its digest), in first-seen order for snapshots. */
  targets: StringSet;
  /** When the session was last seen, by the tracker's counter: its place in the recency order. */
  stamp: number;
}

export const SessionSnapshotSchema = z.object({
  agentId: z.string(),
  sessionId: z.string(),
  firstSeen: z.number(),
  lastSeen: z.number(),
  eventCount: z.int(),
  violationCount: z.int(),
  warnCount: z.int(),
  alertCount: z.int(),
  alertPoints: z.number(),
  targets: z.array(z.string()),
});
export type SessionSnapshot = z.infer<typeof SessionSnapshotSchema>;

export interface SessionCounters {
  sessionsEvictedIdle: number;
  sessionsEvictedCap: number;
  /** Sessions forgotten because all sessions together held maxTargets distinct targets. */
  sessionsEvictedTargets: number;
  targetsCapped: number;
}

function riskOf(session: Session): number {
  const facts = session.facts;
  let risk = facts.violationCount * 10 + session.alertPoints;
  if (facts.eventCount >= RATIO_MIN_EVENTS && facts.distinctTargetRatio > 0.8) risk += 20;
  if (facts.durationMs > LONG_SESSION_MS) risk += 15;
  return Math.min(100, risk);
}

function refresh(session: Session): void {
  const facts = session.facts;
  facts.durationMs = facts.lastSeen - facts.firstSeen;
  facts.distinctTargets = session.targets.size;
  facts.distinctTargetRatio = facts.eventCount === 0 ? 0 : session.targets.size / facts.eventCount;
  facts.riskScore = riskOf(session);
}

export class SessionTracker {
  /**
   * agentId → sessionId → session. Two levels rather than one Map keyed by `agentId + sep + sessionId`:
   * building that key per event allocated a string and hashed it afresh, where the ids' own hashes are
   * computed once per string and cached.
   */
  private readonly byAgent = new Map<string, Map<string, Session>>();
  /** The same sessions, least recently seen first, for idle and over-cap eviction. */
  private readonly order = new LruList<Session>();
  private count = 0;
  private clock = 0;
  /** Sessions seen, alerted on or forgotten since the changes were last drained, by agent and session id. */
  private readonly changed = new ChangedPairs();
  /** Distinct targets held over all sessions. */
  private targetCount = 0;
  readonly counters: SessionCounters = {
    sessionsEvictedIdle: 0,
    sessionsEvictedCap: 0,
    sessionsEvictedTargets: 0,
    targetsCapped: 0,
  };

  constructor(
    private readonly limits: Pick<
      EngineLimits,
      'maxSessions' | 'sessionIdleTtlMs' | 'maxTargetsPerSession' | 'maxTargets' | 'maxStateKeyChars'
    >,
  ) {}

  /** Distinct targets held over all sessions. */
  get targets(): number {
    return this.targetCount;
  }

  get size(): number {
    return this.count;
  }

  /** Counts `event` (at event time `time`) into its session and returns the session. */
  observe(event: Envelope, time: number): ObservedSession {
    let session = this.byAgent.get(event.agentId)?.get(event.sessionId);
    if (session) {
      this.order.moveToTail(session);
      session.stamp = ++this.clock;
    } else {
      session = newSession(event.agentId, event.sessionId, time, new StringSet());
      this.insert(session);
    }
    this.changed.add(event.agentId, event.sessionId);
    const facts = session.facts;
    if (time < facts.firstSeen) facts.firstSeen = time;
    if (time > facts.lastSeen) facts.lastSeen = time;
    facts.eventCount++;
    const outcome = event.decision.outcome;
    if (outcome === 'deny') facts.violationCount++;
    else if (outcome === 'warn') facts.warnCount++;
    const target = stateKey(event.target, this.limits.maxStateKeyChars);
    if (session.targets.size < this.limits.maxTargetsPerSession) {
      if (session.targets.add(target)) this.targetCount++;
    } else if (!session.targets.has(target)) this.counters.targetsCapped++;
    refresh(session);
    this.enforceCaps(session);
    return session;
  }

  /** Forgets the least recently seen sessions (never `current`) while over maxSessions or maxTargets. */
  private enforceCaps(current?: Session): void {
    if (this.count > this.limits.maxSessions) {
      let excess = this.count - this.limits.maxSessions;
      this.counters.sessionsEvictedCap += this.evictWhile((session) => session !== current && excess-- > 0);
    }
    if (this.targetCount > this.limits.maxTargets) {
      this.counters.sessionsEvictedTargets += this.evictWhile(
        (session) => session !== current && this.targetCount > this.limits.maxTargets,
      );
    }
  }

  /** Adds an alert's severity to the session it was raised in. */
  recordAlert(agentId: string, sessionId: string, severity: Severity): void {
    const session = this.byAgent.get(agentId)?.get(sessionId);
    if (!session) return;
    this.changed.add(agentId, sessionId);
    session.facts.alertCount++;
    session.alertPoints += ALERT_POINTS[severity];
    refresh(session);
  }

  /** Adds a session not yet held as the most recently seen. */
  private insert(session: Session): void {
    const { agentId, sessionId } = session.facts;
    let sessions = this.byAgent.get(agentId);
    if (!sessions) {
      sessions = new Map();
      this.byAgent.set(agentId, sessions);
    }
    sessions.set(sessionId, session);
    this.order.append(session);
    session.stamp = ++this.clock;
    this.changed.add(agentId, sessionId);
    this.count++;
  }

  /** Removes sessions from the least recently seen end while `expired` holds; returns how many. */
  private evictWhile(expired: (session: Session) => boolean): number {
    let evicted = 0;
    for (let session = this.order.head; session && expired(session); session = this.order.head) {
      this.forget(session);
      evicted++;
    }
    return evicted;
  }

  private forget(session: Session): void {
    this.order.remove(session);
    const { agentId, sessionId } = session.facts;
    const sessions = this.byAgent.get(agentId)!;
    sessions.delete(sessionId);
    if (sessions.size === 0) this.byAgent.delete(agentId);
    this.changed.add(agentId, sessionId);
    this.count--;
    this.targetCount -= session.targets.size;
  }

  /** Forgets sessions whose last event is older than `now` minus the idle TTL. */
  evictIdle(now: number): void {
    const cutoff = now - this.limits.sessionIdleTtlMs;
    this.counters.sessionsEvictedIdle += this.evictWhile((session) => session.facts.lastSeen < cutoff);
  }

  snapshot(): SessionSnapshot[] {
    return [...this.order.nodes()].map(sessionSnapshot);
  }

  /**
   * One session as a snapshot writes it, and its place in the recency order (larger is more recent), built
   * when called; undefined when the tracker has no such session.
   */
  snapshotOf(
    agentId: string,
    sessionId: string,
  ): (() => { session: SessionSnapshot; order: number }) | undefined {
    const session = this.byAgent.get(agentId)?.get(sessionId);
    return session && (() => ({ session: sessionSnapshot(session), order: session.stamp }));
  }

  /** (agentId, sessionId) of the sessions changed or forgotten since the last call; forgets them. */
  drainChanged(): Array<[string, string]> {
    return this.changed.drain();
  }

  restore(snapshots: readonly SessionSnapshot[]): void {
    this.byAgent.clear();
    this.order.clear();
    this.count = 0;
    this.targetCount = 0;
    for (const snapshot of snapshots) {
      const { agentId, sessionId, targets } = snapshot;
      const max = this.limits.maxTargetsPerSession;
      const session = newSession(
        agentId,
        sessionId,
        snapshot.firstSeen,
        new StringSet(Math.min(targets.length, max)),
      );
      // Field by field, not spread from the snapshot: a session built by a spread had other hidden classes than
      // those observe() builds, and a restore of 100k sessions spent seconds in its slow property accesses.
      const facts = session.facts;
      facts.lastSeen = snapshot.lastSeen;
      facts.eventCount = snapshot.eventCount;
      facts.violationCount = snapshot.violationCount;
      facts.warnCount = snapshot.warnCount;
      facts.alertCount = snapshot.alertCount;
      session.alertPoints = snapshot.alertPoints;
      // Within this engine's limits, whatever the limits of the engine that wrote the snapshot.
      for (const target of targets) {
        if (session.targets.size >= max) break;
        session.targets.add(stateKey(target, this.limits.maxStateKeyChars));
      }
      refresh(session);
      // A snapshot naming a session twice keeps the last, as a map would.
      const existing = this.byAgent.get(agentId)?.get(sessionId);
      if (existing) this.forget(existing);
      this.insert(session);
      this.targetCount += session.targets.size;
    }
    this.enforceCaps();
  }
}

/** A session first seen at `time`, not in the tracker yet. */
function newSession(agentId: string, sessionId: string, time: number, targets: StringSet): Session {
  return {
    facts: {
      agentId,
      sessionId,
      firstSeen: time,
      lastSeen: time,
      durationMs: 0,
      eventCount: 0,
      violationCount: 0,
      warnCount: 0,
      distinctTargets: 0,
      distinctTargetRatio: 0,
      alertCount: 0,
      riskScore: 0,
    },
    groupKey: `${agentId}|${sessionId}`,
    alertPoints: 0,
    targets,
    stamp: 0,
    prev: undefined,
    next: undefined,
  };
}

function sessionSnapshot({ facts, alertPoints, targets }: Session): SessionSnapshot {
  return {
    agentId: facts.agentId,
    sessionId: facts.sessionId,
    firstSeen: facts.firstSeen,
    lastSeen: facts.lastSeen,
    eventCount: facts.eventCount,
    violationCount: facts.violationCount,
    warnCount: facts.warnCount,
    alertCount: facts.alertCount,
    alertPoints,
    targets: [...targets.values()],
  };
}
