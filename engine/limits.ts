import { z } from 'zod';
import { RecordLimitsSchema } from './model/limits.ts';

const durationMs = z
  .int()
  .min(0)
  .max(366 * 86_400_000);

/**
 * Bounds on time and memory. Every bound that bites increments a counter in stats(), so an operator sees
 * when detection quality was traded for memory. Strings the state keeps (targets, group and suppression
 * keys, distinct values) longer than maxStateKeyChars are kept as a digest, and ids are bounded by the record
 * limits, so every entry has a bounded size and so has a snapshot: see stateBound() and docs/security.md.
 */
export const EngineLimitsSchema = z
  .strictObject({
    allowedLatenessMs: durationMs
      .default(60_000)
      .describe(
        'out-of-order tolerance: a hit older than its correlation state newest time minus this does not count (lateEvents); absence rules fire this long after their deadline',
      ),
    maxClockSkewMs: durationMs
      .default(30_000)
      .describe(
        'an event counts at most this far after its receivedAt and after the engine clock, for every clock it moves (engine, sessions, correlation, suppression); keep it under allowedLatenessMs',
      ),
    maxCorrelationStates: z
      .int()
      .positive()
      .default(200_000)
      .describe('correlation states (one per rule and group); the least recently used go first'),
    maxHitsPerState: z
      .int()
      .positive()
      .default(1_000)
      .describe('partial-match events kept per rule and group; the oldest go first'),
    maxPartialMatches: z
      .int()
      .positive()
      .default(500_000)
      .describe(
        'partial-match events over all correlation states (a pending absence trigger weighs its kept alert); past it the least recently used states go',
      ),
    maxPendingAlertChars: z
      .int()
      .min(1_024)
      .max(1_048_576)
      .default(8_192)
      .describe(
        'JSON characters of the alert an absence trigger keeps until its deadline; a longer one has its strings and lists shortened',
      ),
    maxTermsPerGroup: z
      .int()
      .positive()
      .default(10_000)
      .describe(
        'terms a new_terms baseline keeps per rule and group; past it the least recently seen go (seen again, they are new)',
      ),
    maxNewTerms: z
      .int()
      .positive()
      .default(200_000)
      .describe(
        "new_terms learning clocks and terms over all rules (each group's clock weighs one, shared by the rules that group alike over the same history; each term one); past it the least recently used groups go with their terms (they learn again)",
      ),
    stateIdleTtlMs: durationMs
      .default(0)
      .describe(
        "a correlation state idle this long (event time), or its rule's window plus the lateness if longer, is dropped",
      ),
    maxSessions: z
      .int()
      .positive()
      .default(100_000)
      .describe('sessions tracked; the least recently seen go first'),
    sessionIdleTtlMs: durationMs
      .default(30 * 60_000)
      .describe('a session idle this long (event time) is forgotten'),
    maxTargetsPerSession: z
      .int()
      .positive()
      .default(10_000)
      .describe('distinct targets remembered per session; beyond it distinctTargets stops growing'),
    maxTargets: z
      .int()
      .positive()
      .default(500_000)
      .describe('distinct targets remembered over all sessions; past it the least recently seen sessions go'),
    maxStateKeyChars: z
      .int()
      .min(64)
      .max(4_096)
      .default(64)
      .describe(
        'targets, group and suppression keys and distinct values longer than this are kept as a SHA-256 digest',
      ),
    dedupeCapacity: z
      .int()
      .positive()
      .default(200_000)
      .describe('(agentId, eventId) pairs remembered to drop duplicates; the oldest go first'),
    dedupeTtlMs: durationMs.default(15 * 60_000).describe('how long (event time) a pair is remembered'),
    maxSuppressions: z
      .int()
      .positive()
      .default(100_000)
      .describe('suppression windows held over all rules; past it the growing rule loses its least recent'),
    maxAlertEventIds: z
      .int()
      .positive()
      .default(100)
      .describe('eventIds listed in one alert; eventCount still gives the full number'),
  })
  .prefault({});
export type EngineLimits = z.infer<typeof EngineLimitsSchema>;

export const DEFAULT_LIMITS: Readonly<EngineLimits> = Object.freeze(EngineLimitsSchema.parse({}));

/**
 * The top-level `limits` section every command reads: `record` for what parseRecord and the processor's
 * decoder accept (the same values on both sides), `engine` for the detection engine's state.
 */
export const LimitsConfigSchema = z
  .strictObject({
    record: RecordLimitsSchema.describe('bounds on one record: ids, strings, nesting, size and event time'),
    engine: EngineLimitsSchema.describe('bounds on the detection engine: time and state'),
  })
  .prefault({});
export type LimitsConfig = z.infer<typeof LimitsConfigSchema>;
