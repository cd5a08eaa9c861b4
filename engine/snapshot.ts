import { z } from 'zod';
import { EdrError } from '../core/errors.ts';
import { type AbsenceState, AbsenceStateSchema, triggerWeight } from './correlation/absence.ts';
import { type BufferState, BufferStateSchema, HitBuffer } from './correlation/hits.ts';
import { TermsStateSchema } from './correlation/new-terms.ts';
import type { EngineLimits } from './limits.ts';
import type { RecordLimits } from './model/limits.ts';
import { SessionSnapshotSchema } from './sessions.ts';
import { DIGEST_KEY_CHARS } from './state/keys.ts';

/**
 * Everything the engine needs to resume where it stopped: what the processor checkpoints next to its offsets.
 * JSON-serializable. Correlation states carry their rule's fingerprint; on restore, states of rules that are
 * gone or changed are dropped rather than misread.
 * Version 2 keys dedupe by (agentId, eventId). A version 1 snapshot (dedupe by eventId alone) is still read,
 * without its dedupe entries, which say no agent: the window refills from the events that follow.
 * new_terms baselines are correlation states of kind `terms`; a snapshot without them (written before they
 * existed) means the same as before, so they needed no new version.
 */
export const ENGINE_SNAPSHOT_VERSION = 2;

export const CorrelationStateSchema = z.discriminatedUnion('kind', [
  BufferStateSchema,
  AbsenceStateSchema,
  TermsStateSchema,
]);
export type CorrelationState = z.infer<typeof CorrelationStateSchema>;
/** The states the engine keeps in its StateStore; baselines (kind `terms`) live in correlation/new-terms.ts. */
export type WindowState = Exclude<CorrelationState, { kind: 'terms' }>;

/** A correlation state as the engine holds it: a buffer's hits in a HitBuffer, written out as a list. */
export type LiveCorrelationState = BufferState | AbsenceState;

export function snapshotState(state: LiveCorrelationState): WindowState {
  if (state.kind === 'absence') return structuredClone(state);
  const { hits, watermark, latest } = state;
  return latest
    ? { kind: 'buffer', hits: hits.toHits(), watermark, latest: Array.from(latest, (t) => t ?? null) }
    : { kind: 'buffer', hits: hits.toHits(), watermark };
}

/** A snapshot's state as the engine holds it, with at most `maxHits` hits (the newest), triggers and followers. */
export function liveState(state: WindowState, maxHits: number): LiveCorrelationState {
  if (state.kind === 'absence') {
    return {
      ...state,
      pending: state.pending.slice(-maxHits),
      followers: state.followers.slice(-maxHits),
    };
  }
  return { ...state, hits: HitBuffer.from(state.hits.slice(-maxHits)) };
}

const SnapshotFields = {
  /** The arrival counter, so events after a restore keep ordering after those before it. */
  seq: z.number(),
  /** The engine's event time (epoch ms), null before the first event. */
  eventTime: z.number().nullable(),
  sessions: z.array(SessionSnapshotSchema),
  correlation: z.array(
    z.object({
      ruleId: z.string(),
      fingerprint: z.string(),
      groupKey: z.string(),
      state: CorrelationStateSchema,
    }),
  ),
  /** [rule id, suppression key, suppressed until (epoch ms)]. */
  suppressions: z.array(z.tuple([z.string(), z.string(), z.number()])),
};

const DedupeIdsSchema = z.array(z.tuple([z.string(), z.string(), z.number()]));

const SnapshotV2Schema = z.object({
  version: z.literal(ENGINE_SNAPSHOT_VERSION),
  ...SnapshotFields,
  /** [agent id, event id, event time (epoch ms)], oldest first. */
  dedupe: DedupeIdsSchema,
  /** Admission number of the first dedupe pair (state entries key the pairs by segment of numbers). */
  dedupeFirst: z.int().min(0).optional(),
});

const SnapshotV1Schema = z
  .object({ version: z.literal(1), ...SnapshotFields, dedupe: z.array(z.tuple([z.string(), z.number()])) })
  .transform(({ dedupe: _byIdAlone, ...rest }) => ({
    ...rest,
    version: ENGINE_SNAPSHOT_VERSION,
    dedupe: [] as Array<[string, string, number]>,
  }));

export const EngineSnapshotSchema = z.union([SnapshotV2Schema, SnapshotV1Schema]);
export type EngineSnapshot = z.output<typeof SnapshotV2Schema>;

/** JSON characters of any number (-1.7976931348623157e+308 is 24). */
const NUMBER_CHARS = 24;
/** Condition bits of a rule's roles (hit masks are 32-bit integers). */
const MAX_ROLES = 32;

export interface SnapshotBound {
  /** The largest snapshot the limits allow, as UTF-8 JSON bytes, and its parts. */
  bytes: number;
  sessions: number;
  correlation: number;
  suppressions: number;
  dedupe: number;
}

/**
 * The largest snapshot (UTF-8 bytes of its JSON) an engine under `limits` can write, for records under
 * `record` and rule ids of at most `ruleIdChars` characters: every count at its cap and every string at its
 * longest and worst to escape. Ids are at most maxIdBytes and hold nothing JSON escapes (model/bounds.ts);
 * state keys are at most maxStateKeyChars UTF-16 units, 6 bytes each at worst (\u0000); a pending trigger's
 * alert is at most maxPendingAlertChars of JSON, 3 bytes a character. A checkpoint is this snapshot as gzip
 * JSON lines (processor/checkpoint-codec.ts), so never larger than about this.
 */
export function snapshotBound(limits: EngineLimits, record: RecordLimits, ruleIdChars = 64): SnapshotBound {
  const id = record.maxIdBytes + 2;
  const key = Math.max(6 * limits.maxStateKeyChars, DIGEST_KEY_CHARS) + 2;
  // The default group and suppression key, agentId|sessionId, is made of ids and kept whole.
  const group = Math.max(key, 2 * record.maxIdBytes + 3);
  const rule = ruleIdChars + 2;
  const number = NUMBER_CHARS;
  /** JSON length of `skeleton` (strings empty, numbers 0) with each of its `strings` and `numbers` at its longest. */
  const sized = (skeleton: unknown, strings: number[], numbers: number) =>
    JSON.stringify(skeleton).length +
    strings.reduce((sum, size) => sum + size - 2, 0) +
    numbers * (number - 1);

  const session = sized(
    {
      agentId: '',
      sessionId: '',
      firstSeen: 0,
      lastSeen: 0,
      eventCount: 0,
      violationCount: 0,
      warnCount: 0,
      alertCount: 0,
      alertPoints: 0,
      targets: [],
    },
    [id, id],
    7,
  );
  const sessions = limits.maxSessions * (session + 1) + limits.maxTargets * (key + 1);

  const entry = sized({ ruleId: '', fingerprint: '', groupKey: '', state: null }, [rule, 66, group], 0) - 4;
  const buffer =
    sized({ kind: 'buffer', hits: [], watermark: 0, latest: [] }, [], 1) + MAX_ROLES * (number + 1);
  const absence = sized({ kind: 'absence', pending: [], followers: [], watermark: 0 }, [], 1);
  const state = entry + Math.max(buffer, absence) + 1;
  const hit = sized({ t: 0, seq: 0, id: '', mask: 0, value: '' }, [id, key], 3) + 1;
  const trigger = hit + ',"draft":'.length + 3 * limits.maxPendingAlertChars;
  const perTrigger = triggerWeight(limits);
  const perWeight = Math.max(hit, number + 1, trigger / perTrigger);
  const weight = Math.max(limits.maxPartialMatches, limits.maxHitsPerState * (perTrigger + 1));
  // Baselines and their terms weigh one each, together at most maxNewTerms.
  const baseline = entry + sized({ kind: 'terms', since: 0, watermark: 0, terms: [] }, [], 2) + 1;
  const term = sized(['', 0], [key], 1) + 1;
  const baselines = limits.maxNewTerms * Math.max(baseline, term);
  const correlation = limits.maxCorrelationStates * state + Math.ceil(weight * perWeight) + baselines;

  const suppressions = limits.maxSuppressions * (sized(['', '', 0], [rule, group], 1) + 1);
  const dedupe = limits.dedupeCapacity * (sized(['', '', 0], [id, id], 1) + 1);
  const top = sized(
    { version: 2, seq: 0, eventTime: 0, sessions: [], correlation: [], suppressions: [], dedupe: [] },
    [],
    2,
  );
  return {
    bytes: top + sessions + correlation + suppressions + dedupe,
    sessions,
    correlation,
    suppressions,
    dedupe,
  };
}

/*
 * The state as entries, for incremental checkpoints: each entry is named by a JSON tuple and written again
 * only when it changed. Sessions ["s", agentId, sessionId], correlation states and new_terms baselines
 * ["c", ruleId, groupKey], suppression windows ["x", ruleId, key], and the dedupe pairs by segment of
 * DEDUPE_SEGMENT admission numbers ["d", segment]. Each entry but a dedupe segment carries its place in its
 * structure's recency order, so a restore puts them back in the order eviction reads them. What is not in an
 * entry (the arrival counter, the engine's event time, the oldest dedupe pair's number) is the StateMeta,
 * written with every checkpoint.
 */

/** Dedupe pairs per entry: a segment takes its ids while they arrive and is dropped once all are forgotten. */
export const DEDUPE_SEGMENT = 256;

export const StateMetaSchema = z.object({
  version: z.literal(ENGINE_SNAPSHOT_VERSION),
  seq: z.number(),
  eventTime: z.number().nullable(),
  dedupeFirst: z.int().min(0),
});
export type StateMeta = z.infer<typeof StateMetaSchema>;

export type EntryName =
  | [family: 's' | 'c' | 'x', first: string, second: string]
  | [family: 'd', segment: number];

export function entryName(name: EntryName): string {
  return JSON.stringify(name);
}

/**
 * The tuple an entry name stands for; undefined when the text is not one. Checked by hand, not by a schema:
 * it runs for every entry a checkpoint writes and a restore reads, and a union schema cost more than the parse.
 */
export function parseEntryName(text: string): EntryName | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  const [family, first, second] = value as unknown[];
  if (value.length === 2) {
    return family === 'd' && Number.isSafeInteger(first) && (first as number) >= 0
      ? ['d', first as number]
      : undefined;
  }
  const named = family === 's' || family === 'c' || family === 'x';
  return value.length === 3 && named && typeof first === 'string' && typeof second === 'string'
    ? [family, first, second]
    : undefined;
}

/**
 * The snapshot that `entries` (name → value, as the engine gave them) and `meta` make, for engine.restore:
 * each structure in its recency order, dedupe pairs from meta.dedupeFirst on in admission order. Only what
 * the ordering reads is checked here; engine.restore validates the snapshot whole (one pass, not two).
 */
export function snapshotFromEntries(meta: unknown, entries: Iterable<[string, unknown]>): unknown {
  const head = parseOrThrow(StateMetaSchema, meta, 'state meta');
  const sessions: Array<{ value: object; order: number }> = [];
  const correlation: Array<{ value: object; order: number }> = [];
  const suppressions: Array<{ row: [string, string, unknown]; order: number }> = [];
  const dedupe: Array<[number, unknown]> = [];
  for (const [text, value] of entries) {
    const name = parseEntryName(text);
    const what = `state entry ${text.slice(0, 80)}`;
    if (!name) throw new EdrError('EDR_ERR_BAD_ENCODING', `${what}: unknown name`);
    if (!isRecord(value)) throw new EdrError('EDR_ERR_BAD_ENCODING', `${what}: not an object`);
    if (name[0] === 'd') {
      const { start, ids } = value;
      if (!Number.isSafeInteger(start) || !Array.isArray(ids)) {
        throw new EdrError('EDR_ERR_BAD_ENCODING', `${what}: not a dedupe segment`);
      }
      for (const [index, id] of ids.entries()) {
        if ((start as number) + index >= head.dedupeFirst) dedupe.push([(start as number) + index, id]);
      }
      continue;
    }
    const order = value.order;
    if (typeof order !== 'number') throw new EdrError('EDR_ERR_BAD_ENCODING', `${what}: no order`);
    // Fields named, not copied with a rest spread (slow per object): the schema strips `order` from a session.
    if (name[0] === 's') sessions.push({ value, order });
    else if (name[0] === 'c') {
      const { fingerprint, state } = value;
      correlation.push({ value: { ruleId: name[1], groupKey: name[2], fingerprint, state }, order });
    } else suppressions.push({ row: [name[1], name[2], value.until], order });
  }
  const byOrder = (a: { order: number }, b: { order: number }) => a.order - b.order;
  dedupe.sort((a, b) => a[0] - b[0]);
  // Shapes are the schema's to check: engine.restore refuses a snapshot that is not one.
  return {
    version: ENGINE_SNAPSHOT_VERSION,
    seq: head.seq,
    eventTime: head.eventTime,
    sessions: sessions.sort(byOrder).map(({ value }) => value),
    correlation: correlation.sort(byOrder).map(({ value }) => value),
    suppressions: suppressions.sort(byOrder).map(({ row }) => row),
    dedupe: dedupe.map(([, id]) => id),
    dedupeFirst: dedupe[0]?.[0] ?? head.dedupeFirst,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new EdrError('EDR_ERR_BAD_ENCODING', `${what}: ${issue.path.join('.')}: ${issue.message}`);
}
