import { z } from 'zod';
import { type AbsenceState, AbsenceStateSchema } from './correlation/absence.ts';
import { type BufferState, BufferStateSchema, HitBuffer } from './correlation/hits.ts';
import { SessionSnapshotSchema } from './sessions.ts';

/**
 * Everything the engine needs to resume where it stopped: what the processor checkpoints next to its offsets.
 * JSON-serializable. Correlation states carry their rule's fingerprint; on restore, states of rules that are
 * gone or changed are dropped rather than misread.
 * Version 2 keys dedupe by (agentId, eventId). A version 1 snapshot (dedupe by eventId alone) is still read,
 * without its dedupe entries, which say no agent: the window refills from the events that follow.
 */
export const ENGINE_SNAPSHOT_VERSION = 2;

export const CorrelationStateSchema = z.discriminatedUnion('kind', [BufferStateSchema, AbsenceStateSchema]);
export type CorrelationState = z.infer<typeof CorrelationStateSchema>;

/** A correlation state as the engine holds it: a buffer's hits in a HitBuffer, written out as a list. */
export type LiveCorrelationState = BufferState | AbsenceState;

export function snapshotState(state: LiveCorrelationState): CorrelationState {
  if (state.kind === 'absence') return structuredClone(state);
  const { hits, watermark, latest } = state;
  return latest
    ? { kind: 'buffer', hits: hits.toHits(), watermark, latest: Array.from(latest, (t) => t ?? null) }
    : { kind: 'buffer', hits: hits.toHits(), watermark };
}

/** A snapshot's state as the engine holds it, with at most `maxHits` hits (the newest), triggers and followers. */
export function liveState(state: CorrelationState, maxHits: number): LiveCorrelationState {
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

const SnapshotV2Schema = z.object({
  version: z.literal(ENGINE_SNAPSHOT_VERSION),
  ...SnapshotFields,
  /** [agent id, event id, event time (epoch ms)], oldest first. */
  dedupe: z.array(z.tuple([z.string(), z.string(), z.number()])),
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
