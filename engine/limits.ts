/**
 * Bounds on time and memory. Every bound that bites increments a counter in stats(), so an operator sees
 * when detection quality was traded for memory.
 */
export interface EngineLimits {
  /**
   * Out-of-order tolerance. Each correlation state tracks the newest event time it has seen (its watermark);
   * an event older than watermark - allowedLateness is too late for that state: it still reaches match rules
   * and sessions, but not the correlation (counted as `lateEvents`). Events within the lateness are placed by
   * their own event time, so windows and step order are judged as if they had arrived in order.
   * Absence rules fire once the engine's event time passes the deadline by this much.
   */
  allowedLatenessMs: number;
  /** Event times further than this ahead of the clock advance the engine's event time only this far. */
  maxClockSkewMs: number;
  /** Correlation states (one per rule and group) kept at most; the least recently used go first. */
  maxCorrelationStates: number;
  /** Partial-match events kept per rule and group; the oldest go first. */
  maxHitsPerState: number;
  /**
   * A correlation state idle (in event time) for its rule's window plus the lateness, or this long if longer,
   * is dropped: its events can join no future match.
   */
  stateIdleTtlMs: number;
  maxSessions: number;
  /** A session idle this long (event time) is forgotten. */
  sessionIdleTtlMs: number;
  /** Distinct targets remembered per session; beyond it distinctTargets stops growing. */
  maxTargetsPerSession: number;
  /** Event ids remembered for duplicate detection, and for how long (event time). */
  dedupeCapacity: number;
  dedupeTtlMs: number;
  maxSuppressions: number;
  /** eventIds listed in one alert; eventCount still gives the full number. */
  maxAlertEventIds: number;
}

export const DEFAULT_LIMITS: Readonly<EngineLimits> = Object.freeze({
  allowedLatenessMs: 60_000,
  maxClockSkewMs: 5 * 60_000,
  maxCorrelationStates: 200_000,
  maxHitsPerState: 1_000,
  stateIdleTtlMs: 0,
  maxSessions: 100_000,
  sessionIdleTtlMs: 30 * 60_000,
  maxTargetsPerSession: 10_000,
  dedupeCapacity: 200_000,
  dedupeTtlMs: 15 * 60_000,
  maxSuppressions: 200_000,
  maxAlertEventIds: 100,
});
